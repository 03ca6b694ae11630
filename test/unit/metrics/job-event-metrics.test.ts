/**
 * The job events the handlers count, on their real code paths against the real job store (dynalite): a job's end by
 * whoever writes it (JobsEnded, once), the sweeper's rescues and give-ups, polls pacing sends on without a Databricks
 * call, and records the SQS handler defers, by reason.
 */
import type { Context, SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { failJob, settleFailure } from '../../../functions/job-failure.js';
import type { DatabricksJobs, JobPorts } from '../../../functions/job-ports.js';
import { pollJob } from '../../../functions/poll/poll-job.js';
import type { PollPorts } from '../../../functions/poll/poll-ports.js';
import { sqsBatchHandler } from '../../../functions/sqs-batch.js';
import { submitJob } from '../../../functions/submit/submit-job.js';
import { sweepJobs } from '../../../functions/sweep/sweep-jobs.js';
import { parseConfig } from '../../../shared/config.js';
import { AuthConfigError } from '../../../shared/errors.js';
import { DeferError } from '../../../shared/invocation-deadline.js';
import { acceptJob } from '../../../shared/jobs/accept-job.js';
import type { Job } from '../../../shared/jobs/job.js';
import type { JobQueues } from '../../../shared/jobs/job-queues.js';
import { DynamoDbJobStore } from '../../../shared/jobs/job-store.js';
import type { PollMessage } from '../../../shared/jobs/messages.js';
import { submitRequestSchema } from '../../../shared/jobs/submit-request.js';
import { createLogger } from '../../../shared/logger.js';
import { DEFERRAL_REASONS, METRICS_SERVICE } from '../../../shared/metrics/metric-catalog.js';
import { BASE_ENV, useDynalite } from '../../support/dynalite.js';
import { quietRecord, unusedAuth } from '../../support/handler-fakes.js';
import { jobFixture } from '../../support/job-fixture.js';
import { lambdaContext, sqsRecord } from '../fuzz/fixtures.js';
import { captureStdout, type StdoutCapture, valuesOf } from './emf-capture.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

const db = useDynalite();
const T0 = new Date('2026-03-01T00:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
const service = { service: METRICS_SERVICE };

let store: DynamoDbJobStore;
let stdout: StdoutCapture;
let clock: Date;
let polls: Array<{ message: PollMessage; delaySeconds: number }>;
let runsGet: number;

const queues: JobQueues = {
  sendSubmit: async () => undefined,
  sendPoll: async (message, delaySeconds) => void polls.push({ message, delaySeconds }),
  sendCancel: async () => undefined,
};
const databricks: DatabricksJobs = {
  submitRun: async () => ({ run_id: 7 }),
  getRun: async () => {
    runsGet++;
    return { run_id: 7, state: { life_cycle_state: 'RUNNING' } };
  },
  getRunOutput: async () => ({}),
  cancelRun: async () => undefined,
};

function jobPorts(env: Record<string, string> = {}): JobPorts {
  return {
    config: parseConfig({ ...BASE_ENV, ...env }),
    store,
    queues,
    now: () => clock,
    selectAuth: async () => ({ authType: 'pat', mode: 'pat', namespace: 'ns' }),
    auth: () => unusedAuth,
    databricks: () => databricks,
  };
}

beforeEach(async () => {
  store = new DynamoDbJobStore(db.client(), await db.createTable());
  clock = T0;
  polls = [];
  runsGet = 0;
  stdout = captureStdout();
});
afterEach(() => stdout.restore());

async function accept(executionId: string): Promise<Job> {
  const request = submitRequestSchema.parse({
    namespace: 'ns',
    executionId,
    task: { databricksConf: { existing_cluster_id: 'c' } },
  });
  return (await acceptJob(request, { store, config: jobPorts().config, now: clock })).job;
}

describe('JobsEnded', () => {
  it('is counted once, by the write that ends the job, with its phase', async () => {
    const job = await accept('failing');
    stdout.clear();
    const failure = {
      store,
      jobId: job.jobId,
      step: 'Submitting the Databricks run',
      isLastAttempt: false,
      now: clock,
    };
    await settleFailure(new AuthConfigError('no credentials'), failure);
    // Ended already: a second failure writes nothing and counts nothing.
    await failJob(store, job.jobId, 'RETRYABLE_FAILED', 'again', clock);
    expect(valuesOf(stdout.metrics(), 'JobsEnded')).toEqual([
      { value: 1, dimensions: { ...service, Phase: 'FAILED' } },
    ]);
  });

  it('counts a job cancelled before it was submitted as ABORTED, and no submission', async () => {
    const job = await accept('cancelled');
    await store.update(job.jobId, job.version, { cancelRequested: true });
    stdout.clear();
    await submitJob(job.jobId, jobPorts(), quietRecord);
    const metrics = stdout.metrics();
    expect(valuesOf(metrics, 'JobsEnded')).toEqual([{ value: 1, dimensions: { ...service, Phase: 'ABORTED' } }]);
    expect(valuesOf(metrics, 'JobsSubmitted')).toEqual([]);
  });

  it('counts a submission with its auth mode once, not again when the submit message comes back', async () => {
    const job = await accept('submitted');
    stdout.clear();
    await submitJob(job.jobId, jobPorts(), quietRecord);
    await submitJob(job.jobId, jobPorts(), quietRecord);
    const metrics = stdout.metrics();
    expect(valuesOf(metrics, 'JobsSubmitted')).toEqual([{ value: 1, dimensions: { ...service, AuthMode: 'pat' } }]);
    expect(valuesOf(metrics, 'JobsEnded')).toEqual([]);
  });

  it('counts JobsAccepted for a new job only', async () => {
    await accept('once');
    await accept('once');
    expect(valuesOf(stdout.metrics(), 'JobsAccepted')).toEqual([{ value: 1, dimensions: service }]);
  });
});

describe('SweeperRescues and SweeperGiveUps', () => {
  it('counts a rescue, then the give-up that ends the job RETRYABLE_FAILED', async () => {
    const ports = { ...jobPorts({ MAX_RESCUES: '1', HEARTBEAT_SECONDS: '600', STALE_AFTER_SECONDS: '1800' }) };
    const log = createLogger({ logLevel: 'SILENT' });
    await accept('lost');
    stdout.clear();
    clock = minutes(31);
    expect(await sweepJobs(ports, log)).toMatchObject({ resubmitted: 1 });
    clock = minutes(62);
    expect(await sweepJobs(ports, log)).toMatchObject({ failed: 1 });
    const metrics = stdout.metrics();
    expect(valuesOf(metrics, 'SweeperRescues')).toEqual([{ value: 1, dimensions: service }]);
    expect(valuesOf(metrics, 'SweeperGiveUps')).toEqual([{ value: 1, dimensions: service }]);
    expect(valuesOf(metrics, 'JobsEnded')).toEqual([
      { value: 1, dimensions: { ...service, Phase: 'RETRYABLE_FAILED' } },
    ]);
  });
});

describe('PollsPaced', () => {
  it('counts a poll whose paced slot is still ahead, sent on without reading the job or calling Databricks', async () => {
    const ports: PollPorts = jobPorts();
    const notBefore = T0.getTime() + 1_200_000;
    await pollJob({ jobId: 'fdl-unread', generation: 1, attempt: 3, notBefore }, ports, quietRecord);
    expect(polls).toHaveLength(1);
    expect(valuesOf(stdout.metrics(), 'PollsPaced')).toEqual([{ value: 1, dimensions: service }]);
  });

  it('counts a poll that arrives outside its slot, and not one that polls', async () => {
    const job = jobFixture({ databricksHost: 'https://dbc-1.cloud.databricks.com' });
    await store.create(job);
    // A busy workspace: 1 request a second for 100 live jobs, this one first in the list (second 0 of each period).
    const paced: PollPorts = {
      ...jobPorts({ WORKSPACE_API_BUDGET_RPS: '1', POLL_INTERVAL_MIN_SECONDS: '2', POLL_INTERVAL_MAX_SECONDS: '10' }),
      liveJobs: {
        position: async () => ({
          rank: 0,
          activeJobs: 100,
          listed: true,
          readAtMs: clock.getTime(),
          nextSnapshotMs: clock.getTime() + 60_000,
        }),
      },
    };
    // An aligned period starts at T0 (a whole number of periods since the epoch): its second 0 is the slot.
    clock = new Date(T0.getTime() + 1000);
    await pollJob({ jobId: job.jobId, generation: 1, attempt: 3 }, paced, quietRecord);
    expect(runsGet).toBe(0);
    expect(valuesOf(stdout.metrics(), 'PollsPaced')).toEqual([{ value: 1, dimensions: service }]);
  });
});

describe('Deferrals', () => {
  const schema = z.strictObject({ reason: z.enum(DEFERRAL_REASONS) });
  const context: Context = lambdaContext('flyte-databricks-poll');

  it('counts each record deferred by its reason; a record failed is no deferral', async () => {
    const deferred: string[] = [];
    const handler = sqsBatchHandler({
      schemaFor: () => schema,
      maxReceiveCount: () => 5,
      process: async ({ reason }) => {
        throw new DeferError(`deferred for ${reason}`, 3, { reason });
      },
      defer: async ({ reason }) => void deferred.push(reason),
    });
    const records: SQSRecord[] = DEFERRAL_REASONS.map((reason) => sqsRecord(JSON.stringify({ reason })));
    const failing = sqsBatchHandler({
      schemaFor: () => schema,
      maxReceiveCount: () => 5,
      process: async ({ reason }) => {
        if (reason === 'deadline') throw new Error('broken');
      },
    });
    expect(await handler({ Records: records }, context)).toEqual({ batchItemFailures: [] });
    const mixed = [sqsRecord(JSON.stringify({ reason: 'deadline' })), sqsRecord(JSON.stringify({ reason: 'budget' }))];
    expect((await failing({ Records: mixed }, context)).batchItemFailures).toHaveLength(1);
    expect(deferred.sort()).toEqual([...DEFERRAL_REASONS].sort());
    const counted = valuesOf(stdout.metrics(), 'Deferrals').map((v) => v.dimensions.Reason);
    expect(counted.sort()).toEqual([...DEFERRAL_REASONS].sort());
  });
});
