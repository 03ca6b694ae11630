/**
 * Ending a job whose item DynamoDB will no longer take, against the real store on dynalite: the ordinary end is
 * refused (the item is at the limit), so the job is ended without its task and container, with the reason and why
 * they went, out of the liveness index. A job that fits keeps everything; a rejection for another cause is rethrown.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { failJob, settleFailure } from '../../../functions/job-failure.js';
import { DYNAMODB_ITEM_LIMIT_BYTES } from '../../../shared/jobs/item-size.js';
import type { Job } from '../../../shared/jobs/job.js';
import { MAX_JOB_MESSAGE_LENGTH } from '../../../shared/jobs/job-message.js';
import { DynamoDbJobStore, JobItemRejectedError, type JobStore } from '../../../shared/jobs/job-store.js';
import { useDynalite } from '../../support/dynalite.js';
import { jobOfItemSize } from '../../support/item-padding.js';
import { jobFixture } from '../../support/job-fixture.js';

const dynamo = useDynalite();
let store: DynamoDbJobStore;
const now = new Date('2026-11-29T03:00:00.000Z');
const DROPPED =
  /; its task and container were dropped from the record because the item exceeded DynamoDB's size limit$/;

beforeAll(async () => {
  store = new DynamoDbJobStore(dynamo.client(), await dynamo.createTable());
});

/** A live QUEUED job whose item is 2 bytes under DynamoDB's limit: no write that adds anything fits. */
async function oversizedJob(executionId: string): Promise<Job> {
  const live = jobFixture({
    executionId,
    phase: 'QUEUED',
    runId: undefined,
    liveShard: 'live#0',
    liveHost: 'https://dbc-1.cloud.databricks.com',
    heartbeatAt: now.toISOString(),
  });
  const job = jobOfItemSize(live, DYNAMODB_ITEM_LIMIT_BYTES - 2);
  await store.create(job);
  return job;
}

describe('Function: failJob(), an item over the size limit', () => {
  it('ends the job without its task and container, saying why, and takes it out of the liveness index', async () => {
    // Prepare
    const job = await oversizedJob('slim');
    await expect(store.update(job.jobId, job.version, { message: 'x'.repeat(10) })).rejects.toBeInstanceOf(
      JobItemRejectedError,
    );

    // Act
    await failJob(store, job.jobId, 'FAILED', 'Submitting the Databricks run failed: too large', now);

    // Assess
    const ended = await store.get(job.jobId);
    expect(ended).toMatchObject({ phase: 'FAILED', finishedAt: now.toISOString(), version: job.version + 1 });
    expect(ended?.message).toMatch(/^Submitting the Databricks run failed: too large; its task and container/);
    expect(ended?.message).toMatch(DROPPED);
    for (const gone of ['task', 'container', 'liveShard', 'liveHost']) expect(ended).not.toHaveProperty(gone);
  });

  it('keeps the reason for dropping them even after a message cut to the limit', async () => {
    // Prepare
    const job = await oversizedJob('slim-long-reason');

    // Act
    await failJob(store, job.jobId, 'RETRYABLE_FAILED', `Polling failed: ${'r'.repeat(10_000)}`, now);

    // Assess
    const ended = await store.get(job.jobId);
    expect(ended?.phase).toBe('RETRYABLE_FAILED');
    expect(ended?.message).toHaveLength(MAX_JOB_MESSAGE_LENGTH);
    expect(ended?.message).toMatch(/^Polling failed: r+…; its task/);
    expect(ended?.message).toMatch(DROPPED);
  });

  it('ends a job that fits as always, keeping its task and container', async () => {
    // Prepare
    const job = jobFixture({ executionId: 'fits' });
    await store.create(job);

    // Act
    await failJob(store, job.jobId, 'FAILED', 'Polling failed: gone', now);

    // Assess
    expect(await store.get(job.jobId)).toMatchObject({
      phase: 'FAILED',
      message: 'Polling failed: gone',
      task: job.task,
      container: job.container,
    });
  });

  it('ends an oversized job on a permanent rejection met while working on it, consuming the message', async () => {
    // Prepare: what the submit handler meets when it records the auth context of an oversized job.
    const job = await oversizedJob('settle');
    const error = await store
      .update(job.jobId, job.version, { auth: { authType: 'pat', namespace: 'ns' } })
      .catch((e: unknown) => e);

    // Act
    const settled = settleFailure(error, {
      store,
      jobId: job.jobId,
      step: 'Submitting the Databricks run',
      isLastAttempt: false,
      now,
    });

    // Assess
    await expect(settled).resolves.toBeUndefined();
    const ended = await store.get(job.jobId);
    expect(ended?.phase).toBe('FAILED');
    expect(ended?.message).toMatch(
      new RegExp(`^Submitting the Databricks run failed: DynamoDB refused to update job ${job.jobId}: the item`),
    );
    expect(ended?.message).toMatch(DROPPED);
  });

  it('rethrows a rejection that is not about size: dropping task and container would not help', async () => {
    // Prepare
    const job = jobFixture({ executionId: 'invalid' });
    await store.create(job);
    const invalid = new JobItemRejectedError(job.jobId, 'update', false);
    const refusing: JobStore = Object.assign(Object.create(store) as DynamoDbJobStore, {
      update: async () => {
        throw invalid;
      },
    });

    // Act
    const failing = failJob(refusing, job.jobId, 'FAILED', 'reason', now);

    // Assess
    await expect(failing).rejects.toBe(invalid);
    expect(await store.get(job.jobId)).toMatchObject({ phase: 'RUNNING', task: job.task });
  });
});
