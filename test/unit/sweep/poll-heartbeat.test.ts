/**
 * The poll handler's heartbeat write budget, against the real job store (dynalite): a poll that changes nothing
 * writes nothing until the heartbeat is HEARTBEAT_SECONDS old, then writes the heartbeat alone; a poll that ends
 * the job takes it out of the liveness indexes.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { DatabricksJobs, JobPorts } from '../../../functions/job-ports.js';
import { pollJob } from '../../../functions/poll/poll-job.js';
import { parseConfig } from '../../../shared/config.js';
import type { DatabricksRun } from '../../../shared/databricks/types.js';
import { acceptJob } from '../../../shared/jobs/accept-job.js';
import type { Job } from '../../../shared/jobs/job.js';
import { DynamoDbJobStore } from '../../../shared/jobs/job-store.js';
import { liveShardFor } from '../../../shared/jobs/liveness.js';
import { submitRequestSchema } from '../../../shared/jobs/submit-request.js';
import { BASE_ENV, useDynalite } from '../../support/dynalite.js';
import { quietRecord, unusedAuth } from '../../support/handler-fakes.js';

const db = useDynalite();
const T0 = new Date('2026-03-01T00:00:00.000Z');
const seconds = (n: number) => new Date(T0.getTime() + n * 1000);
const record = quietRecord;
const auth = unusedAuth;

let store: DynamoDbJobStore;
let clock: Date;
let run: DatabricksRun;
let polls: number;
let ports: JobPorts;
let job: Job;

beforeEach(async () => {
  store = new DynamoDbJobStore(db.client(), await db.createTable());
  clock = T0;
  polls = 0;
  run = { run_id: 7, run_page_url: 'https://x/run/7', state: { life_cycle_state: 'RUNNING', state_message: 'In run' } };
  const databricks: DatabricksJobs = {
    submitRun: async () => ({ run_id: 7 }),
    getRun: async () => run,
    getRunOutput: async () => ({}),
    cancelRun: async () => undefined,
  };
  ports = {
    config: parseConfig({ ...BASE_ENV }),
    store,
    queues: {
      sendSubmit: async () => undefined,
      sendPoll: async () => void polls++,
      sendCancel: async () => undefined,
    },
    now: () => clock,
    selectAuth: async () => ({ authType: 'pat', namespace: 'ns' }),
    auth: () => auth,
    databricks: () => databricks,
  };
  const request = submitRequestSchema.parse({
    namespace: 'ns',
    executionId: 'polled',
    task: { databricksConf: { existing_cluster_id: 'c' } },
  });
  const accepted = (await acceptJob(request, { store, config: ports.config, now: T0 })).job;
  job = await store.update(accepted.jobId, accepted.version, { runId: 7, phase: 'INITIALIZING', pollGeneration: 1 });
});

async function pollAt(at: Date): Promise<Job> {
  clock = at;
  await pollJob({ jobId: job.jobId, generation: 1, attempt: 0 }, ports, record);
  return (await store.get(job.jobId)) as Job;
}

describe('Function: pollJob() heartbeat', () => {
  it('writes a change with the heartbeat, then nothing while the run is unchanged and the heartbeat fresh', async () => {
    // Act
    const changed = await pollAt(seconds(30));
    const unchanged = await pollAt(seconds(30 + ports.config.HEARTBEAT_SECONDS - 1));

    // Assess
    expect(changed).toMatchObject({ phase: 'RUNNING', heartbeatAt: seconds(30).toISOString(), version: 3 });
    expect(unchanged).toEqual(changed);
    expect(polls).toBe(2);
  });

  it('writes only the heartbeat once it is HEARTBEAT_SECONDS old, and the chain goes on', async () => {
    // Prepare
    const changed = await pollAt(seconds(30));

    // Act
    const refreshed = await pollAt(seconds(30 + ports.config.HEARTBEAT_SECONDS));

    // Assess: the same job but for the version, the heartbeat and the store's updatedAt.
    expect(refreshed).toEqual({
      ...changed,
      version: changed.version + 1,
      heartbeatAt: seconds(30 + ports.config.HEARTBEAT_SECONDS).toISOString(),
      updatedAt: refreshed.updatedAt,
    });
    expect(refreshed.liveShard).toBe(liveShardFor(job.jobId));
    expect(polls).toBe(2);
  });

  it('puts a job from a release without liveness into the index at its next poll', async () => {
    // Prepare
    await pollAt(seconds(30));
    const current = (await store.get(job.jobId)) as Job;
    await store.update(job.jobId, current.version, { liveShard: null, liveHost: null, heartbeatAt: null });

    // Act
    const polled = await pollAt(seconds(40));

    // Assess
    expect(polled).toMatchObject({
      liveShard: liveShardFor(job.jobId),
      liveHost: job.databricksHost,
      heartbeatAt: seconds(40).toISOString(),
    });
  });

  it('puts a job from a release without the workspace index into it at its next poll, even with a fresh heartbeat', async () => {
    // Prepare
    const changed = await pollAt(seconds(30));
    await store.update(job.jobId, changed.version, { liveHost: null });

    // Act
    const polled = await pollAt(seconds(40));

    // Assess
    expect(polled).toMatchObject({ liveHost: job.databricksHost, heartbeatAt: seconds(40).toISOString() });
  });

  it('takes the job out of the liveness indexes when the run ends', async () => {
    // Prepare
    await pollAt(seconds(30));
    run = { ...run, state: { life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' } };

    // Act
    const ended = await pollAt(seconds(60));

    // Assess
    expect(ended.phase).toBe('SUCCEEDED');
    expect(ended).not.toHaveProperty('liveShard');
    expect(ended).not.toHaveProperty('liveHost');
    expect(polls).toBe(1);
  });
});
