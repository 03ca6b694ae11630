/**
 * The poll handler with pacing, against the real job store and its `liveByWorkspace` index (dynalite), a clock the
 * test sets and recording fakes for the queue and the Jobs API: a poll outside its slot is sent on to it without a
 * Databricks call, a poll in its slot polls and aims the next one at its slot in a later period, a wait longer than
 * SQS's 900 s is sent on without reading the job, and an unpaced workspace keeps the plain schedule. Counts only.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { DatabricksJobs } from '../../../functions/job-ports.js';
import { pollJob } from '../../../functions/poll/poll-job.js';
import { createPollPorts, type PollPorts } from '../../../functions/poll/poll-ports.js';
import { parseConfig } from '../../../shared/config.js';
import type { DatabricksRun } from '../../../shared/databricks/types.js';
import type { Job } from '../../../shared/jobs/job.js';
import { DynamoDbJobStore } from '../../../shared/jobs/job-store.js';
import { LiveWorkspaceJobs, rankIn } from '../../../shared/jobs/live-workspace-jobs.js';
import { liveShardFor } from '../../../shared/jobs/liveness.js';
import type { PollMessage } from '../../../shared/jobs/messages.js';
import { jobSlot, nextSlotStartMs, paceFor, pacingSettingsOf } from '../../../shared/jobs/workspace-pacing.js';
import { BASE_ENV, useDynalite } from '../../support/dynalite.js';
import { quietRecord, unusedAuth } from '../../support/handler-fakes.js';
import { jobFixture } from '../../support/job-fixture.js';

const db = useDynalite();
/** A whole second, aligned to the 5 s period four jobs get at 1 request a second. */
const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
const HOST = 'https://dbc-1.cloud.databricks.com';
const record = quietRecord;
const auth = unusedAuth;
const run: DatabricksRun = { run_id: 7, state: { life_cycle_state: 'RUNNING', state_message: 'In run' } };

let store: DynamoDbJobStore;
let clockMs: number;
let gets: number;
let runsGet: number;
let sent: Array<{ message: PollMessage; delaySeconds: number }>;
let jobs: Job[];

function portsWith(env: Record<string, string>, index: { listLiveJobIds(host: string): Promise<string[]> } = store) {
  const config = parseConfig({ ...BASE_ENV, ...env });
  const databricks: DatabricksJobs = {
    submitRun: async () => ({ run_id: 7 }),
    getRun: async () => {
      runsGet++;
      return run;
    },
    getRunOutput: async () => ({}),
    cancelRun: async () => undefined,
  };
  const counting = {
    create: (job: Job) => store.create(job),
    get: (jobId: string) => {
      gets++;
      return store.get(jobId);
    },
    update: store.update.bind(store),
    listByNamespace: store.listByNamespace.bind(store),
    listStale: store.listStale.bind(store),
  };
  const base = {
    config,
    store: counting,
    queues: {
      sendSubmit: async () => undefined,
      sendPoll: async (message: PollMessage, delaySeconds: number) => void sent.push({ message, delaySeconds }),
      sendCancel: async () => undefined,
    },
    now: () => new Date(clockMs),
    selectAuth: async () => ({ authType: 'pat' as const, namespace: 'ns' }),
    auth: () => auth,
    databricks: () => databricks,
  };
  const ports: PollPorts = createPollPorts(base);
  const settings = pacingSettingsOf(config);
  // The same cache the handler builds, reading `index`, on the test's clock.
  return settings ? { ...ports, liveJobs: new LiveWorkspaceJobs(index, settings, () => clockMs) } : ports;
}

/** The epoch ms at which the job's slot next starts at or after `atMs`, for `count` live jobs at `budget` rps. */
function slotStart(jobId: string, atMs: number, budget = 1): number {
  const settings = { budgetRps: budget, minIntervalSeconds: 2, maxPeriodSeconds: 1000 };
  const pace = paceFor(jobs.length, settings);
  if (!pace) throw new Error('expected pacing');
  const { rank } = rankIn(jobs.map((j) => j.jobId).sort(), jobId);
  return nextSlotStartMs(jobSlot(rank, pace), atMs);
}

beforeEach(async () => {
  store = new DynamoDbJobStore(db.client(), await db.createTable());
  clockMs = T0;
  gets = 0;
  runsGet = 0;
  sent = [];
  jobs = [];
  for (const executionId of ['a', 'b', 'c', 'd']) {
    const job = jobFixture({
      executionId,
      databricksHost: HOST,
      lifeCycleState: 'RUNNING',
      submittedAt: new Date(T0 - 3600_000).toISOString(),
      heartbeatAt: new Date(T0).toISOString(),
    });
    const live = { ...job, liveShard: liveShardFor(job.jobId), liveHost: HOST };
    await store.create(live);
    jobs.push(live);
  }
});

const PACED = { WORKSPACE_API_BUDGET_RPS: '1', POLL_INTERVAL_MIN_SECONDS: '2', POLL_INTERVAL_MAX_SECONDS: '10' };
const message = (job: Job, extra: Partial<PollMessage> = {}): PollMessage => ({
  jobId: job.jobId,
  generation: 1,
  attempt: 5,
  ...extra,
});

describe('Function: pollJob() with pacing', () => {
  it('sends a poll that arrives outside its slot on to it, without calling Databricks', async () => {
    // Prepare: four live jobs at 1 rps: a 5 s period, one job a second.
    const ports = portsWith(PACED);
    const job = jobs[0] as Job;
    const slot = slotStart(job.jobId, T0);
    clockMs = slot + 1000;

    // Act
    await pollJob(message(job), ports, record);

    // Assess
    expect(runsGet).toBe(0);
    const next = slotStart(job.jobId, clockMs);
    expect(sent).toEqual([
      { message: { ...message(job), notBefore: next, redelays: 1 }, delaySeconds: (next - clockMs) / 1000 },
    ]);
  });

  it('polls in its slot, and aims the next poll at its slot of a later period, after the schedule', async () => {
    // Prepare
    const ports = portsWith(PACED);
    const job = jobs[2] as Job;
    clockMs = slotStart(job.jobId, T0) + 300;

    // Act
    await pollJob(message(job), ports, record);

    // Assess: the run has gone an hour, so the schedule asks for its longest wait, 10 s: two 5 s periods on.
    expect(runsGet).toBe(1);
    expect(sent).toHaveLength(1);
    const { message: next, delaySeconds } = sent[0] as (typeof sent)[number];
    expect(next).toMatchObject({ jobId: job.jobId, generation: 1, attempt: 6 });
    expect(next.notBefore).toBe(slotStart(job.jobId, clockMs + 10_000));
    expect(delaySeconds).toBe(Math.ceil(((next.notBefore as number) - clockMs) / 1000));
  });

  it('polls a message that arrives on time for its notBefore', async () => {
    // Prepare
    const ports = portsWith(PACED);
    const job = jobs[1] as Job;
    const due = slotStart(job.jobId, T0 + 20_000);
    clockMs = due + 2000;

    // Act
    await pollJob(message(job, { notBefore: due }), ports, record);

    // Assess
    expect(runsGet).toBe(1);
  });

  it('sends a wait longer than 900 s on with the rest, reading nothing', async () => {
    // Prepare
    const ports = portsWith(PACED);
    const job = jobs[3] as Job;
    const notBefore = T0 + 1_500_000;

    // Act
    await pollJob(message(job, { notBefore, redelays: 2 }), ports, record);

    // Assess
    expect(gets).toBe(0);
    expect(runsGet).toBe(0);
    expect(sent).toEqual([{ message: message(job, { notBefore, redelays: 2 }), delaySeconds: 900 }]);
  });

  it('keeps the plain schedule when pacing is off', async () => {
    // Prepare
    const ports = portsWith({ ...PACED, WORKSPACE_API_BUDGET_RPS: '0' });
    const job = jobs[0] as Job;
    clockMs = T0 + 1234;

    // Act
    await pollJob(message(job), ports, record);

    // Assess
    expect(ports.liveJobs).toBeUndefined();
    expect(runsGet).toBe(1);
    expect(sent).toEqual([{ message: { jobId: job.jobId, generation: 1, attempt: 6 }, delaySeconds: 10 }]);
  });

  it("polls unpaced when the workspace's live jobs cannot be read", async () => {
    // Prepare
    const failing = { listLiveJobIds: async () => Promise.reject(new Error('throttled')) };
    const ports = portsWith(PACED, failing);
    const job = jobs[0] as Job;
    clockMs = T0 + 1234;

    // Act
    await pollJob(message(job), ports, record);

    // Assess
    expect(runsGet).toBe(1);
    expect(sent).toEqual([{ message: { jobId: job.jobId, generation: 1, attempt: 6 }, delaySeconds: 10 }]);
  });

  it('writes the heartbeat sooner before a paced wait longer than the longest scheduled one', async () => {
    // Prepare: nine jobs at 1 rps: a 12 s period, 2 s beyond the longest wait; the heartbeat is 99 s old.
    for (const executionId of ['e', 'f', 'g', 'h', 'i']) {
      const job = jobFixture({
        executionId,
        databricksHost: HOST,
        lifeCycleState: 'RUNNING',
        submittedAt: new Date(T0 - 3600_000).toISOString(),
      });
      const live = { ...job, liveShard: liveShardFor(job.jobId), liveHost: HOST };
      await store.create(live);
      jobs.push(live);
    }
    const env = { ...PACED, HEARTBEAT_SECONDS: '100', STALE_AFTER_SECONDS: '1000' };
    const job = jobs[4] as Job;
    const due = slotStart(job.jobId, T0 + 60_000);
    clockMs = due;
    const before = await store.update(job.jobId, job.version, { heartbeatAt: new Date(due - 99_000).toISOString() });

    // Act
    await pollJob(message(job, { notBefore: due }), portsWith(env), record);

    // Assess: paced, it writes at 99 s + a 12 s wait > 100 + 10.
    const after = (await store.get(job.jobId)) as Job;
    expect(after.version).toBe(before.version + 1);
    expect(after.heartbeatAt).toBe(new Date(due).toISOString());

    // Unpaced, the same poll of a job whose heartbeat is as old writes nothing: the wait is the schedule's 10 s.
    const other = jobs[5] as Job;
    const quiet = await store.update(other.jobId, other.version, { heartbeatAt: new Date(due - 99_000).toISOString() });
    await pollJob(message(other), portsWith({ ...env, WORKSPACE_API_BUDGET_RPS: '0' }), record);
    expect((await store.get(other.jobId))?.version).toBe(quiet.version);
  });
});
