/**
 * DynamoDB's item size limit on the local stack, over real sockets: a job is refused (413, in the API's error
 * shape, nothing stored) when its item would leave no room for what it records later, however small its JSON; one
 * just under the limit runs to the end; a whole request too large for a job fails its submit message with the
 * reason logged, into the DLQ; and a job already stored at the limit (by a release without the check) ends FAILED
 * with the reason instead of waiting QUEUED for its TTL.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config.js';
import { DYNAMODB_ITEM_LIMIT_BYTES, MAX_NEW_JOB_ITEM_BYTES } from '../../shared/jobs/item-size.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { MAX_BODY_BYTES } from '../../shared/jobs/json-limits.js';
import { jobFor, jobOfItemSize, requestOfItemSize } from '../support/item-padding.js';
import {
  jobRequest,
  NAMESPACE,
  peekQueue,
  runsFor,
  useTestStack,
  waitFor,
  waitForTerminal,
} from './support/test-stack.js';

// A short visibility timeout so a refused submit message spends its receives (and reaches the DLQ) within the test.
const t = useTestStack({ visibilityTimeoutSeconds: 1 });

interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

/** Every job id in the table, page by page (a page stops at 1 MB, a few of these jobs). */
async function storedJobIds(): Promise<string[]> {
  const doc = DynamoDBDocumentClient.from(t.stack.dynamodb);
  const ids: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const { Items = [], LastEvaluatedKey } = await doc.send(
      new ScanCommand({
        TableName: t.stack.tableName,
        ConsistentRead: true,
        ProjectionExpression: 'jobId',
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of Items) ids.push(String(item.jobId));
    start = LastEvaluatedKey;
  } while (start);
  return ids;
}

/** `[[1],[1],…]` under a task key the schema lets through: 4 bytes of JSON, 7 of item, per element. */
function nestedListRequest(executionId: string, elements: number) {
  const request = jobRequest(executionId);
  return { ...request, task: { ...request.task, extra: Array.from({ length: elements }, () => [1]) } };
}

async function post(body: unknown) {
  return t.api.call<ApiErrorBody>('POST', '/v1/jobs', JSON.stringify(body));
}

describe('POST /v1/jobs at the item size limit', () => {
  // Every read and write of an item this large costs dynalite most of a second (about 100,000 nested values), so
  // this job is watched at a gentle pace, with a generous deadline.
  it('accepts a job just under the limit, and it runs to SUCCEEDED', { timeout: 150_000 }, async () => {
    // Prepare: 16 bytes of slack, as the server accepts it at another moment (expiresAt may end in zeros).
    const config = parseConfig(t.stack.env);
    const request = await requestOfItemSize(jobRequest('limits-under'), MAX_NEW_JOB_ITEM_BYTES - 16, config);
    const jobId = jobIdFor(NAMESPACE, 'limits-under');

    // Act
    const { status } = await post(request);
    const done = await t.api.watch(jobId, { intervalMs: 1000, maxIntervalMs: 2000, timeoutMs: 120_000 });

    // Assess
    expect(Buffer.byteLength(JSON.stringify(request))).toBeLessThan(MAX_BODY_BYTES);
    expect(status).toBe(202);
    expect(done.phase).toBe('SUCCEEDED');
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
  });

  it('refuses a job just over the limit with 413 naming the limit, and stores nothing', async () => {
    // Prepare
    const config = parseConfig(t.stack.env);
    const request = await requestOfItemSize(jobRequest('limits-over'), MAX_NEW_JOB_ITEM_BYTES + 16, config);
    const jobId = jobIdFor(NAMESPACE, 'limits-over');

    // Act
    const { status, body } = await post(request);

    // Assess
    expect(status).toBe(413);
    expect(body.error).toMatchObject({ code: 'PayloadTooLarge', field: 'task' });
    expect(body.error.message).toContain(`the limit is ${MAX_NEW_JOB_ITEM_BYTES} bytes`);
    expect(body.error.message).toContain(`DynamoDB allows ${DYNAMODB_ITEM_LIMIT_BYTES} per item`);
    expect(await storedJobIds()).not.toContain(jobId);
    expect((await t.api.get(jobId)).status).toBe(404);
  });

  it.each([
    ['a ~234 KB body', 'limits-234k', 58_400],
    ['a 260 KB body', 'limits-260k', 65_000],
  ])('refuses %s of nested small numbers under an unknown task key with 413, not 500', async (_name, id, n) => {
    // Prepare
    const request = nestedListRequest(id, n);

    // Act
    const { status, body } = await post(request);

    // Assess
    expect(status).toBe(413);
    expect(body.error).toMatchObject({ code: 'PayloadTooLarge', field: 'task' });
    expect(body.error.message).toMatch(/^The job would be stored as \d+ bytes; the limit is/);
    expect(await storedJobIds()).not.toContain(jobIdFor(NAMESPACE, id));
  });
});

describe('A submit message carrying a request too large for a job', () => {
  it('fails each receive with the reason logged, lands in the DLQ, and stores nothing', async () => {
    // Prepare
    const request = nestedListRequest('limits-sqs', 58_400);
    const body = JSON.stringify(request);

    // Act: sent as the caller, whom CALLER_NAMESPACES lets use the namespace.
    const producer = t.stack.sqsAs(t.stack.callerCredentials);
    const { MessageId } = await producer.send(
      new SendMessageCommand({ QueueUrl: t.stack.queues.submit, MessageBody: body }),
    );
    const dlq = await waitFor(
      () => peekQueue(t.stack, t.stack.queues.submitDlq),
      (bodies) => bodies.some((b) => b.includes('"limits-sqs"')),
      60_000,
    );

    // Assess
    expect(dlq.some((b) => b.includes('"limits-sqs"'))).toBe(true);
    // What the submit function printed about this message (its processes' output, as CloudWatch Logs would hold it).
    const logs = t.stack.functionLogs.filter((line) => line.includes(`"messageId":"${MessageId}"`)).join('\n');
    expect(logs).toMatch(/"name":"JobTooLargeError","message":"The job would be stored as \d+ bytes; the limit is/);
    expect(logs).toMatch(/last receive; it goes to the DLQ/);
    expect(await storedJobIds()).not.toContain(jobIdFor(NAMESPACE, 'limits-sqs'));
  });
});

describe('A job already stored at the limit', () => {
  it('ends FAILED with the reason, its task and container dropped, instead of staying QUEUED', async () => {
    // Prepare: the job a release without the size check stored, 2 bytes under DynamoDB's limit.
    const config = parseConfig(t.stack.env);
    const job = jobOfItemSize(await jobFor(jobRequest('limits-stored'), config), DYNAMODB_ITEM_LIMIT_BYTES - 2);
    const doc = DynamoDBDocumentClient.from(t.stack.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
    await doc.send(new PutCommand({ TableName: t.stack.tableName, Item: job }));

    // Act: the message the api function sends once it has stored a job, sent as its role (a producer the submit
    // queue's policy names; the operator is not one).
    await t.stack
      .sqsAs(t.stack.credentialsOf('api'))
      .send(
        new SendMessageCommand({ QueueUrl: t.stack.queues.submit, MessageBody: JSON.stringify({ jobId: job.jobId }) }),
      );
    const done = await waitForTerminal(t.api, job.jobId, 60_000);

    // Assess
    expect(done.phase).toBe('FAILED');
    expect(done.message).toMatch(
      new RegExp(`^Submitting the Databricks run failed: DynamoDB refused to update job ${job.jobId}: the item`),
    );
    expect(done.message).toContain('its task and container were dropped from the record');
    expect(runsFor(t.stack, job.jobId)).toHaveLength(0);
  });
});
