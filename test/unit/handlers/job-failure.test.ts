/**
 * What a handler does when its work on a job fails, against the real store on dynalite: a permanent failure ends
 * the job at once, with the reason, and the message is consumed; a transient one is rethrown for SQS to redeliver,
 * except that on the message's last receive the job is ended first, saying why, so nothing is left waiting on a
 * message that went to the DLQ.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { settleFailure } from '../../../functions/job-failure.js';
import { AuthConfigError, ConnectorError } from '../../../shared/errors.js';
import { DeferError } from '../../../shared/invocation-deadline.js';
import { DynamoDbJobStore } from '../../../shared/jobs/job-store.js';
import { useDynalite } from '../../support/dynalite.js';
import { jobFixture } from '../../support/job-fixture.js';

const dynamo = useDynalite();
let store: DynamoDbJobStore;
const now = new Date('2026-11-29T03:00:00.000Z');

beforeAll(async () => {
  store = new DynamoDbJobStore(dynamo.client(), await dynamo.createTable());
});

async function runningJob(executionId: string): Promise<string> {
  const job = jobFixture({ executionId, createdAt: now.toISOString(), updatedAt: now.toISOString() });
  const { jobId } = job;
  await store.create(job);
  return jobId;
}

describe('Function: settleFailure()', () => {
  it('rethrows a DeferError and leaves the job as it is, even on the last receive: deferred work is not a failure', async () => {
    const jobId = await runningJob('deferred-last');
    const before = await store.get(jobId);
    const error = new DeferError('No time left in this invocation for Databricks runs/get', 1, { reason: 'deadline' });
    await expect(
      settleFailure(error, { store, jobId, step: 'Polling the Databricks run', isLastAttempt: true, now }),
    ).rejects.toBe(error);
    expect(await store.get(jobId)).toEqual(before);
  });

  it('ends the job FAILED with the reason on a permanent failure, and consumes the message', async () => {
    const jobId = await runningJob('permanent');
    const error = new AuthConfigError("No Databricks token found for namespace 'ns'");
    await expect(
      settleFailure(error, { store, jobId, step: 'Polling the Databricks run', isLastAttempt: false, now }),
    ).resolves.toBeUndefined();
    expect(await store.get(jobId)).toMatchObject({
      phase: 'FAILED',
      message: "Polling the Databricks run failed: No Databricks token found for namespace 'ns'",
      finishedAt: now.toISOString(),
    });
  });

  it('rethrows a transient failure for redelivery and leaves the job as it was', async () => {
    const jobId = await runningJob('transient');
    const error = new ConnectorError('Databricks runs/get failed (HTTP 503)', { permanent: false });
    await expect(
      settleFailure(error, { store, jobId, step: 'Polling the Databricks run', isLastAttempt: false, now }),
    ).rejects.toBe(error);
    expect(await store.get(jobId)).toMatchObject({ phase: 'RUNNING', version: 1 });
  });

  it('on the last receive, ends the job RETRYABLE_FAILED with why, then rethrows so the message goes to the DLQ', async () => {
    const jobId = await runningJob('exhausted');
    const error = new Error('socket hang up');
    await expect(
      settleFailure(error, { store, jobId, step: 'Polling the Databricks run', isLastAttempt: true, now }),
    ).rejects.toBe(error);
    expect(await store.get(jobId)).toMatchObject({
      phase: 'RETRYABLE_FAILED',
      message: 'Polling the Databricks run kept failing and was given up: socket hang up',
    });
  });

  it('never reopens or rewrites a job that has already ended', async () => {
    const jobId = await runningJob('ended');
    const ended = await store.update(jobId, 1, { phase: 'SUCCEEDED', message: 'done' });
    await settleFailure(new AuthConfigError('late'), { store, jobId, step: 'Polling', isLastAttempt: true, now });
    expect(await store.get(jobId)).toMatchObject({ phase: 'SUCCEEDED', message: 'done', version: ended.version });
  });
});
