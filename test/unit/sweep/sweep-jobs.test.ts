/**
 * The sweeper's use case against the real DynamoDB job store (dynalite) and its liveness index, with a clock the
 * test moves: stale jobs are rescued (submit re-sent, poll chain restarted), fresh and ended jobs are left alone,
 * a job lost too often ends with the reason, and two sweeps racing rescue a job once.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Ports } from '../../../functions/ports.js';
import { emptySweepSummary, type SweepSummary, sweepJobs } from '../../../functions/sweep/sweep-jobs.js';
import { parseConfig } from '../../../shared/config.js';
import { acceptJob } from '../../../shared/jobs/accept-job.js';
import type { Job } from '../../../shared/jobs/job.js';
import type { JobQueues } from '../../../shared/jobs/job-queues.js';
import { DynamoDbJobStore } from '../../../shared/jobs/job-store.js';
import { LIVENESS_SHARDS, liveShardFor } from '../../../shared/jobs/liveness.js';
import type { PollMessage, SubmitMessage } from '../../../shared/jobs/messages.js';
import { submitRequestSchema } from '../../../shared/jobs/submit-request.js';
import { createLogger } from '../../../shared/logger.js';
import { BASE_ENV, useDynalite } from '../../support/dynalite.js';

const db = useDynalite();
const T0 = new Date('2026-03-01T00:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
const log = createLogger({ logLevel: 'SILENT' });

interface Sent {
  submits: SubmitMessage[];
  polls: Array<{ message: PollMessage; delaySeconds: number }>;
}

let store: DynamoDbJobStore;
let sent: Sent;
let clock: Date;
let ports: Ports;

beforeEach(async () => {
  store = new DynamoDbJobStore(db.client(), await db.createTable());
  sent = { submits: [], polls: [] };
  clock = T0;
  const queues: JobQueues = {
    sendSubmit: async (message) => void sent.submits.push(message),
    sendPoll: async (message, delaySeconds) => void sent.polls.push({ message, delaySeconds }),
    sendCancel: async () => undefined,
  };
  // The liveness thresholds this file's clock is written for (the defaults are 1800 and 3600).
  const config = parseConfig({ ...BASE_ENV, MAX_RESCUES: '3', HEARTBEAT_SECONDS: '600', STALE_AFTER_SECONDS: '1800' });
  ports = { config, store, queues, now: () => clock };
});

async function accept(executionId: string): Promise<Job> {
  const request = submitRequestSchema.parse({
    namespace: 'ns',
    executionId,
    task: { databricksConf: { existing_cluster_id: 'c' } },
  });
  const { job } = await acceptJob(request, { store, config: ports.config, now: clock });
  return job;
}

/** A job whose run was submitted and whose poll chain (generation 1) started at `clock`. */
async function running(executionId: string): Promise<Job> {
  const job = await accept(executionId);
  await store.update(job.jobId, job.version, { runId: 7, phase: 'RUNNING', pollGeneration: 1 }, clock);
  return (await store.get(job.jobId)) as Job;
}

async function sweepAt(at: Date): Promise<SweepSummary> {
  clock = at;
  return sweepJobs(ports, log);
}

const none: SweepSummary = emptySweepSummary();

describe('Function: sweepJobs()', () => {
  it('finds a job live from its creation: a liveness shard and a heartbeat', async () => {
    // Act
    const job = await accept('created');

    // Assess
    expect(job).toMatchObject({
      liveShard: liveShardFor(job.jobId),
      liveHost: job.databricksHost,
      heartbeatAt: T0.toISOString(),
    });
    expect(job.liveShard).toMatch(new RegExp(`^live#[0-${LIVENESS_SHARDS - 1}]$`));
  });

  it('leaves fresh jobs alone', async () => {
    // Prepare
    await accept('fresh-queued');
    await running('fresh-running');

    // Act: 29 minutes later (STALE_AFTER_SECONDS is 1800 here).
    const summary = await sweepAt(minutes(29));

    // Assess
    expect(summary).toEqual(none);
    expect(sent).toEqual({ submits: [], polls: [] });
  });

  it('re-sends the submit message of a stale QUEUED job, once, and counts the rescue', async () => {
    // Prepare
    const job = await accept('lost-submit');

    // Act
    const first = await sweepAt(minutes(31));
    const again = await sweepAt(minutes(32));

    // Assess
    expect(first).toEqual({ ...none, examined: 1, resubmitted: 1 });
    expect(again).toEqual(none);
    expect(sent.submits).toEqual([{ jobId: job.jobId }]);
    expect(sent.polls).toEqual([]);
    expect(await store.get(job.jobId)).toMatchObject({
      phase: 'QUEUED',
      rescues: 1,
      heartbeatAt: minutes(31).toISOString(),
      liveShard: job.liveShard,
    });
  });

  it('restarts the poll chain of a stale running job with a new generation', async () => {
    // Prepare
    const job = await running('lost-poll');

    // Act
    const summary = await sweepAt(minutes(31));

    // Assess
    expect(summary).toEqual({ ...none, examined: 1, restarted: 1 });
    expect(sent.submits).toEqual([]);
    expect(sent.polls).toEqual([{ message: { jobId: job.jobId, generation: 2, attempt: 0 }, delaySeconds: 10 }]);
    expect(await store.get(job.jobId)).toMatchObject({
      phase: 'RUNNING',
      pollGeneration: 2,
      rescues: 1,
      heartbeatAt: minutes(31).toISOString(),
    });
  });

  it('never sees ended jobs: an update to a terminal phase takes the job out of the liveness index', async () => {
    // Prepare
    const job = await running('ended');

    // Act
    const ended = await store.update(job.jobId, job.version, { phase: 'SUCCEEDED', finishedAt: T0.toISOString() });
    const summary = await sweepAt(minutes(600));

    // Assess
    expect(ended.liveShard).toBeUndefined();
    expect(ended.liveHost).toBeUndefined();
    expect(ended.heartbeatAt).toBe(T0.toISOString());
    expect(summary).toEqual(none);
    expect(sent).toEqual({ submits: [], polls: [] });
  });

  it('removes an optional attribute given null, still guarded by the version', async () => {
    // Prepare
    const job = await running('remove');

    // Act
    const updated = await store.update(job.jobId, job.version, { runPageUrl: 'https://x/run/7', liveShard: null });

    // Assess
    expect(updated).toMatchObject({ runPageUrl: 'https://x/run/7', version: job.version + 1 });
    expect(updated).not.toHaveProperty('liveShard');
    await expect(store.update(job.jobId, job.version, { liveShard: 'live#0' })).rejects.toThrow(/changed since/);
  });

  it('ends a job lost more than MAX_RESCUES times RETRYABLE_FAILED, with the reason, out of the index', async () => {
    // Prepare
    const job = await running('lost-again');

    // Act: rescued at 31, 62 and 93 minutes; lost once more, it is given up at 124.
    const summaries = [];
    for (const at of [31, 62, 93, 124, 300]) summaries.push(await sweepAt(minutes(at)));

    // Assess
    expect(summaries.map((s) => [s.restarted, s.failed])).toEqual([
      [1, 0],
      [1, 0],
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
    expect(sent.polls.map((p) => p.message.generation)).toEqual([2, 3, 4]);
    const failed = await store.get(job.jobId);
    expect(failed).toMatchObject({
      phase: 'RETRYABLE_FAILED',
      message: `Poll chain lost 4 times; last seen ${minutes(93).toISOString()}`,
      finishedAt: minutes(124).toISOString(),
      rescues: 3,
    });
    expect(failed).not.toHaveProperty('liveShard');
    expect(failed).not.toHaveProperty('liveHost');
  });

  it('says the submit message was lost when a job without a run is given up', async () => {
    // Prepare
    ports = { ...ports, config: { ...ports.config, MAX_RESCUES: 0 } };
    const job = await accept('never-submitted');

    // Act
    const summary = await sweepAt(minutes(31));

    // Assess
    expect(summary).toEqual({ ...none, examined: 1, failed: 1 });
    expect(sent.submits).toEqual([]);
    expect((await store.get(job.jobId))?.message).toBe(`Submit message lost 1 time; last seen ${T0.toISOString()}`);
  });

  it('rescues a job once when two sweeps race: one claim wins, the other finds the job alive', async () => {
    // Prepare
    const job = await running('raced');
    clock = minutes(31);
    // Both sweeps read the index before either claims anything: each believes the job is theirs to rescue.
    let listed = 0;
    let bothListed: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => {
      bothListed = resolve;
    });
    const racing: Ports = {
      ...ports,
      store: Object.assign(Object.create(store) as DynamoDbJobStore, {
        listStale: async (shard: string, before: string, limit: number) => {
          const keys = await store.listStale(shard, before, limit);
          if (++listed === 2 * LIVENESS_SHARDS) bothListed();
          await barrier;
          return keys;
        },
      }),
    };

    // Act
    const [a, b] = await Promise.all([sweepJobs(racing, log), sweepJobs(racing, log)]);

    // Assess
    expect(a.restarted + b.restarted).toBe(1);
    expect(a.skipped + b.skipped).toBe(1);
    expect(sent.polls).toHaveLength(1);
    expect(sent.polls[0]?.message.generation).toBe(2);
    expect(await store.get(job.jobId)).toMatchObject({ pollGeneration: 2, rescues: 1 });
  });

  it('takes at most SWEEP_MAX_JOBS stale jobs per run, the oldest first', async () => {
    // Prepare
    ports = { ...ports, config: { ...ports.config, SWEEP_MAX_JOBS: LIVENESS_SHARDS } };
    for (let i = 0; i < 12; i++) await accept(`many-${i}`);

    // Act
    const first = await sweepAt(minutes(31));
    const second = await sweepAt(minutes(32));

    // Assess: at most one per shard per run.
    expect(first.examined).toBeLessThanOrEqual(LIVENESS_SHARDS);
    expect(first.examined).toBeGreaterThan(0);
    expect(second.examined).toBeGreaterThan(0);
    expect(new Set(sent.submits.map((m) => ('jobId' in m ? m.jobId : ''))).size).toBe(sent.submits.length);
  });
});
