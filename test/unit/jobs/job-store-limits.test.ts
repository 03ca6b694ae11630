/**
 * The job store at DynamoDB's limits, against dynalite over a real socket: an item DynamoDB refuses is a permanent
 * JobItemRejectedError naming the job and the operation (never the item), and every message written is redacted
 * and bounded.
 */
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { isPermanent } from '../../../functions/job-failure.js';
import { DYNAMODB_ITEM_LIMIT_BYTES } from '../../../shared/jobs/item-size.js';
import { toJobView } from '../../../shared/jobs/job.js';
import { MAX_JOB_MESSAGE_LENGTH } from '../../../shared/jobs/job-message.js';
import { DynamoDbJobStore, JobItemRejectedError } from '../../../shared/jobs/job-store.js';
import { useDynalite } from '../../support/dynalite.js';
import { jobOfItemSize } from '../../support/item-padding.js';
import { jobFixture } from '../../support/job-fixture.js';

const dynamo = useDynalite();
let store: DynamoDbJobStore;
let table: string;

beforeAll(async () => {
  table = await dynamo.createTable();
  store = new DynamoDbJobStore(dynamo.client(), table);
});

const PAT = `dapi${'0123456789abcdef'.repeat(2)}`;

describe('Class: DynamoDbJobStore, items DynamoDB refuses', () => {
  it('refuses to create an item over the limit with a permanent error naming the job, not the item', async () => {
    // Prepare
    const job = jobOfItemSize(jobFixture({ executionId: 'create-too-large' }), DYNAMODB_ITEM_LIMIT_BYTES + 1);

    // Act
    const error = await store.create(job).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(JobItemRejectedError);
    expect(error).toMatchObject({ jobId: job.jobId, operation: 'create', tooLarge: true });
    expect(isPermanent(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(job.jobId);
    expect(message).toContain(String(DYNAMODB_ITEM_LIMIT_BYTES));
    expect(message).not.toContain('xxxx');
    expect(message.length).toBeLessThan(300);
    expect(await store.get(job.jobId)).toBeUndefined();
  });

  it('refuses an update that would take the item over the limit, leaving the job as it was', async () => {
    // Prepare
    const job = jobOfItemSize(jobFixture({ executionId: 'update-too-large' }), DYNAMODB_ITEM_LIMIT_BYTES - 10);
    await store.create(job);

    // Act
    const error = await store.update(job.jobId, job.version, { runPageUrl: 'x'.repeat(100) }).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(JobItemRejectedError);
    expect(error).toMatchObject({ jobId: job.jobId, operation: 'update', tooLarge: true });
    expect((error as Error).message).toMatch(/refused to update job/);
    expect(await store.get(job.jobId)).toMatchObject({ version: job.version });
    expect(await store.get(job.jobId)).not.toHaveProperty('runPageUrl');
  });
});

describe('Class: DynamoDbJobStore, messages', () => {
  it('stores a new job message redacted and bounded', async () => {
    // Prepare
    const job = jobFixture({ executionId: 'create-message', message: `with ${PAT} ${'m'.repeat(9000)}` });

    // Act
    await store.create(job);

    // Assess
    const stored = await store.get(job.jobId);
    expect(stored?.message).toHaveLength(MAX_JOB_MESSAGE_LENGTH);
    expect(stored?.message.startsWith('with [REDACTED] mmm')).toBe(true);
    expect(stored?.message.endsWith('…')).toBe(true);
  });

  it('stores an updated message redacted and bounded, and returns it so', async () => {
    // Prepare
    const job = jobFixture({ executionId: 'update-message' });
    await store.create(job);

    // Act
    const updated = await store.update(job.jobId, job.version, {
      phase: 'FAILED',
      message: `runs/submit failed: {"client_secret": "s3cr3t"} ${'e'.repeat(9000)}`,
    });

    // Assess
    const stored = await store.get(job.jobId);
    for (const message of [updated.message, stored?.message]) {
      expect(message).toHaveLength(MAX_JOB_MESSAGE_LENGTH);
      expect(message).not.toContain('s3cr3t');
      expect(message?.endsWith('…')).toBe(true);
    }
  });

  it('shows a message an older release stored raw redacted, without rewriting it', async () => {
    // Prepare: written around the store, as an older release would have.
    const job = jobFixture({ executionId: 'older-message', message: `raw ${PAT}` });
    const doc = DynamoDBDocumentClient.from(dynamo.client(), { marshallOptions: { removeUndefinedValues: true } });
    await doc.send(new PutCommand({ TableName: table, Item: job }));

    // Act
    const read = await store.get(job.jobId);

    // Assess: the read is faithful; the view is redacted.
    expect(read?.message).toBe(`raw ${PAT}`);
    expect(read && toJobView(read).message).toBe('raw [REDACTED]');
  });
});
