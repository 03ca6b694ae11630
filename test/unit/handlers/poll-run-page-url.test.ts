/**
 * The poll records the run page (shown to Flyte as a log link) only when it points into the job's own workspace,
 * and says once per poll, in a warning bounded to 200 characters of the URL, that it dropped one.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { DatabricksJobs, JobPorts } from '../../../functions/job-ports.js';
import { pollJob } from '../../../functions/poll/poll-job.js';
import type { RecordContext } from '../../../functions/sqs-batch.js';
import { parseConfig } from '../../../shared/config.js';
import type { DatabricksRun } from '../../../shared/databricks/types.js';
import type { Job } from '../../../shared/jobs/job.js';
import { DynamoDbJobStore } from '../../../shared/jobs/job-store.js';
import { createLogger } from '../../../shared/logger.js';
import { BASE_ENV, useDynalite } from '../../support/dynalite.js';
import { quietRecord, unusedAuth } from '../../support/handler-fakes.js';
import { jobFixture } from '../../support/job-fixture.js';

const db = useDynalite();
const HOST = 'https://dbc-1.cloud.databricks.com';

let store: DynamoDbJobStore;
let run: DatabricksRun;
let ports: JobPorts;
let record: RecordContext;
let job: Job;

beforeEach(async () => {
  store = new DynamoDbJobStore(db.client(), await db.createTable());
  const databricks: DatabricksJobs = {
    submitRun: async () => ({ run_id: 7 }),
    getRun: async () => run,
    getRunOutput: async () => ({}),
    cancelRun: async () => undefined,
  };
  ports = {
    config: parseConfig({ ...BASE_ENV }),
    store,
    queues: { sendSubmit: async () => undefined, sendPoll: async () => undefined, sendCancel: async () => undefined },
    now: () => new Date('2026-03-01T00:00:00.000Z'),
    selectAuth: async () => ({ authType: 'pat', namespace: 'ns' }),
    auth: () => unusedAuth,
    databricks: () => databricks,
  };
  // A logger of its own per test, so that spying on it sees this test's warnings only.
  record = { ...quietRecord, log: createLogger({ logLevel: 'SILENT' }) };
  job = jobFixture({ databricksHost: HOST, phase: 'INITIALIZING', message: 'Submitted' });
  await store.create(job);
});

async function pollWith(runPageUrl: string | undefined): Promise<{ saved: Job; warn: ReturnType<typeof vi.spyOn> }> {
  run = { run_id: 7, run_page_url: runPageUrl, state: { life_cycle_state: 'RUNNING', state_message: 'In run' } };
  const warn = vi.spyOn(record.log, 'warn');
  await pollJob({ jobId: job.jobId, generation: 1, attempt: 0 }, ports, record);
  return { saved: (await store.get(job.jobId)) as Job, warn };
}

describe('Function: pollJob() run page URL', () => {
  it("records a run page of the job's workspace, without a warning", async () => {
    const url = `${HOST}/?o=1#job/9/run/7`;
    const { saved, warn } = await pollWith(url);
    expect(saved).toMatchObject({ phase: 'RUNNING', runPageUrl: url });
    expect(warn).not.toHaveBeenCalled();
  });

  it.each([
    ['a javascript: URL', `javascript:alert(1)//${'x'.repeat(500)}`],
    ['another host', 'https://evil.example.com/?o=1#job/9/run/7'],
  ])('drops %s, still records the run state, and warns once with at most 200 characters', async (_label, url) => {
    const { saved, warn } = await pollWith(url);
    expect(saved.phase).toBe('RUNNING');
    expect(saved.runPageUrl).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    const [, extra] = warn.mock.calls[0] as [string, { runPageUrl: string }];
    expect(extra.runPageUrl).toBe(url.slice(0, 200));
  });

  it('does not warn when Databricks has no run page yet', async () => {
    const { saved, warn } = await pollWith(undefined);
    expect(saved.runPageUrl).toBeUndefined();
    expect(warn).not.toHaveBeenCalled();
  });
});
