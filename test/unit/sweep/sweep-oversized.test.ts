/**
 * The sweeper is not blinded by jobs it cannot write, against the real store on dynalite: a stale job whose item is
 * at DynamoDB's limit cannot take the rescue claim, so it is ended FAILED with the reason (its task and container
 * dropped), counted as oversized, and leaves the liveness index; the other stale jobs are rescued as ever, and a job
 * that cannot even be ended is counted as an error without stopping the sweep.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Ports } from '../../../functions/ports.js';
import { emptySweepSummary, type SweepSummary, sweepJobs } from '../../../functions/sweep/sweep-jobs.js';
import { parseConfig } from '../../../shared/config.js';
import { acceptJob } from '../../../shared/jobs/accept-job.js';
import { DYNAMODB_ITEM_LIMIT_BYTES } from '../../../shared/jobs/item-size.js';
import type { Job } from '../../../shared/jobs/job.js';
import type { JobQueues } from '../../../shared/jobs/job-queues.js';
import { DynamoDbJobStore } from '../../../shared/jobs/job-store.js';
import type { SubmitMessage } from '../../../shared/jobs/messages.js';
import { submitRequestSchema } from '../../../shared/jobs/submit-request.js';
import { createLogger } from '../../../shared/logger.js';
import { BASE_ENV, useDynalite } from '../../support/dynalite.js';
import { jobOfItemSize } from '../../support/item-padding.js';

const db = useDynalite();
const T0 = new Date('2026-03-01T00:00:00.000Z');
const later = new Date(T0.getTime() + 31 * 60_000);
const log = createLogger({ logLevel: 'SILENT' });

let store: DynamoDbJobStore;
let submits: SubmitMessage[];
let ports: Ports;

beforeEach(async () => {
  store = new DynamoDbJobStore(db.client(), await db.createTable());
  submits = [];
  const queues: JobQueues = {
    sendSubmit: async (message) => void submits.push(message),
    sendPoll: async () => undefined,
    sendCancel: async () => undefined,
  };
  const config = parseConfig({ ...BASE_ENV, MAX_RESCUES: '3', HEARTBEAT_SECONDS: '600', STALE_AFTER_SECONDS: '1800' });
  ports = { config, store, queues, now: () => later };
});

/** The job acceptJob would store at T0 (live, heartbeat T0), optionally grown to 2 bytes under DynamoDB's limit. */
async function stale(executionId: string, options: { oversized: boolean }): Promise<Job> {
  const request = submitRequestSchema.parse({
    namespace: 'ns',
    executionId,
    task: { databricksConf: { existing_cluster_id: 'c' } },
  });
  if (!options.oversized) return (await acceptJob(request, { store, config: ports.config, now: T0 })).job;
  // Accepted by a release without the size check: written directly.
  let accepted: Job | undefined;
  await acceptJob(request, {
    store: Object.assign(Object.create(store) as DynamoDbJobStore, {
      create: async (job: Job) => {
        accepted = job;
        return true;
      },
    }),
    config: ports.config,
    now: T0,
  });
  if (!accepted) throw new Error('acceptJob stored nothing');
  const job = jobOfItemSize(accepted, DYNAMODB_ITEM_LIMIT_BYTES - 2);
  await store.create(job);
  return job;
}

const none: SweepSummary = emptySweepSummary();

describe('Function: sweepJobs(), jobs too large to write', () => {
  it('ends an oversized stale job FAILED with the reason, counts it, and rescues the others', async () => {
    // Prepare
    const big = await stale('too-big', { oversized: true });
    const lost = await stale('lost-submit', { oversized: false });

    // Act
    const first = await sweepJobs(ports, log);
    const second = await sweepJobs(ports, log);

    // Assess
    expect(first).toEqual({ ...none, examined: 2, resubmitted: 1, oversized: 1 });
    expect(second).toEqual(none);
    expect(submits).toEqual([{ jobId: lost.jobId }]);
    const ended = await store.get(big.jobId);
    expect(ended).toMatchObject({ phase: 'FAILED', finishedAt: later.toISOString() });
    expect(ended?.message).toMatch(/^The job could not be kept alive: DynamoDB refused to update job /);
    expect(ended?.message).toMatch(/its task and container were dropped from the record/);
    for (const gone of ['task', 'container', 'liveShard', 'liveHost']) expect(ended).not.toHaveProperty(gone);
  });

  it('counts a job it can neither rescue nor end as an error, and sweeps on', async () => {
    // Prepare: every write to one job fails; another stale job waits behind it.
    const stuck = await stale('stuck', { oversized: false });
    const lost = await stale('behind-it', { oversized: false });
    ports = {
      ...ports,
      store: Object.assign(Object.create(store) as DynamoDbJobStore, {
        update: async (...args: Parameters<DynamoDbJobStore['update']>) => {
          if (args[0] === stuck.jobId) throw new Error('socket hang up');
          return store.update(...args);
        },
      }),
    };

    // Act
    const summary = await sweepJobs(ports, log);

    // Assess
    expect(summary).toEqual({ ...none, examined: 2, resubmitted: 1, errors: 1 });
    expect(submits).toEqual([{ jobId: lost.jobId }]);
    expect(await store.get(stuck.jobId)).toMatchObject({ phase: 'QUEUED', version: stuck.version });
  });
});
