import { createHash } from 'node:crypto';
import { CreateQueueCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LambdaTimeoutError } from '../../../infra/local/lambda-runtime/invocation.js';
import {
  evaluateBatchResponse,
  queueArnFromUrl,
  regionFromQueueUrl,
  type SqsEventSource,
  type SqsEventSourceOptions,
  type SqsEventSourcePhase,
  startSqsEventSource,
} from '../../../infra/local/lambda-runtime/sqs-event-source.js';
import { deferred, type SqsEmulator, startSqsEmulator, waitFor } from './helpers.js';
import { inProcessInvoker } from './in-process-invoker.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let emulator: SqsEmulator;
const running: SqsEventSource[] = [];

beforeAll(async () => {
  emulator = await startSqsEmulator();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((source) => source.stop()));
});

afterAll(async () => {
  await emulator.close();
});

interface Invocation {
  event: SQSEvent;
  context: Context;
  remainingAtStart: number;
}

/** Starts an event source with test defaults (short polls), recording invocations and onError calls. */
function start(
  queueUrl: string,
  handler: (event: SQSEvent, context: Context, call: number) => Promise<SQSBatchResponse | undefined>,
  overrides: Partial<SqsEventSourceOptions> = {},
) {
  const invocations: Invocation[] = [];
  const errors: { err: unknown; phase: SqsEventSourcePhase }[] = [];
  const source = startSqsEventSource({
    sqs: emulator.sqs,
    queueUrl,
    functionName: 'worker',
    waitTimeSeconds: 0,
    invoke: inProcessInvoker('worker', async (event: SQSEvent, context: Context) => {
      invocations.push({ event, context, remainingAtStart: context.getRemainingTimeInMillis() });
      return handler(event, context, invocations.length);
    }),
    onError: (err, phase) => errors.push({ err, phase }),
    ...overrides,
  });
  running.push(source);
  const deliveries = (body: string): SQSRecord[] =>
    invocations.flatMap(({ event }) => event.Records.filter((record) => record.body === body));
  return { source, invocations, errors, deliveries };
}

async function send(queueUrl: string, ...bodies: string[]): Promise<void> {
  await emulator.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: bodies.map((body, index) => ({ Id: `e${index}`, MessageBody: body })),
    }),
  );
}

describe('startSqsEventSource against local-aws-sqs', () => {
  it('invokes the handler with a batch in the record shape Lambda uses, then deletes it', async () => {
    const { queueUrl, queueArn } = await emulator.createQueueWithDlq('shape');
    await emulator.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: '{"kind":"first"}',
        MessageAttributes: {
          text: { DataType: 'String', StringValue: 'hello' },
          count: { DataType: 'Number', StringValue: '42' },
          blob: { DataType: 'Binary', BinaryValue: Uint8Array.from([1, 2, 3]) },
        },
        MessageSystemAttributes: {
          AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1' },
        },
      }),
    );
    await send(queueUrl, 'second', 'third');

    const { source, invocations } = start(queueUrl, async () => ({ batchItemFailures: [] }), {
      functionTimeoutMs: 5000,
    });
    await waitFor(() => invocations.length > 0, { what: 'an invocation' });
    await source.drain();

    expect(invocations).toHaveLength(1);
    const [invocation] = invocations;
    const records = invocation?.event.Records ?? [];
    expect(Object.keys(invocation?.event ?? {})).toEqual(['Records']);
    expect(records.map((record) => record.body)).toEqual(['{"kind":"first"}', 'second', 'third']);

    const first = records[0];
    expect(Object.keys(first ?? {})).toEqual([
      'messageId',
      'receiptHandle',
      'body',
      'attributes',
      'messageAttributes',
      'md5OfMessageAttributes',
      'md5OfBody',
      'eventSource',
      'eventSourceARN',
      'awsRegion',
    ]);
    expect(first).toMatchObject({
      messageId: expect.stringMatching(UUID),
      receiptHandle: expect.any(String),
      md5OfBody: createHash('md5').update('{"kind":"first"}').digest('hex'),
      md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    });
    expect(queueArn).toMatch(/^arn:aws:sqs:us-east-1:123456789012:shape-\d+$/);
    expect(first?.attributes).toEqual({
      ApproximateReceiveCount: '1',
      SentTimestamp: expect.stringMatching(/^\d{13}$/),
      SenderId: expect.stringMatching(/\S/),
      ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      AWSTraceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
    });
    expect(first?.messageAttributes).toEqual({
      text: { stringValue: 'hello', stringListValues: [], binaryListValues: [], dataType: 'String' },
      count: { stringValue: '42', stringListValues: [], binaryListValues: [], dataType: 'Number' },
      blob: { binaryValue: 'AQID', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
    });
    // A record without message attributes has an empty map and no md5OfMessageAttributes.
    expect(records[1]?.messageAttributes).toEqual({});
    expect(records[1]).not.toHaveProperty('md5OfMessageAttributes');
    expect(new Set(records.map((record) => record.messageId)).size).toBe(3);

    const context = invocation?.context;
    expect(context).toMatchObject({
      functionName: 'worker',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:worker',
      awsRequestId: expect.stringMatching(UUID),
      logGroupName: '/aws/lambda/worker',
    });
    expect(invocation?.remainingAtStart).toBeGreaterThan(4000);
    expect(invocation?.remainingAtStart).toBeLessThanOrEqual(5000);
    expect(source.stats).toEqual({ invocations: 1, recordsProcessed: 3, recordsFailed: 0, invocationErrors: 0 });
    expect(await emulator.queueCounts(queueUrl)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
  });

  it('deletes the records not reported as failures; reported ones come back with ApproximateReceiveCount 2', async () => {
    const { queueUrl, dlqUrl } = await emulator.createQueueWithDlq('partial');
    await send(queueUrl, 'a', 'b', 'c');
    const { source, invocations, deliveries } = start(queueUrl, async (event, _context, call) => {
      const b = event.Records.find((record) => record.body === 'b');
      return call === 1 && b ? { batchItemFailures: [{ itemIdentifier: b.messageId }] } : { batchItemFailures: [] };
    });

    await waitFor(() => deliveries('b').length === 2, { what: 'b to be redelivered' });
    await source.drain();

    expect(invocations[0]?.event.Records.map((record) => record.body)).toEqual(['a', 'b', 'c']);
    expect(deliveries('a')).toHaveLength(1);
    expect(deliveries('c')).toHaveLength(1);
    expect(deliveries('b').map((record) => record.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(deliveries('b')[1]?.messageId).toBe(deliveries('b')[0]?.messageId);
    expect(invocations[1]?.event.Records.map((record) => record.body)).toEqual(['b']);
    expect(source.stats).toEqual({ invocations: 2, recordsProcessed: 3, recordsFailed: 1, invocationErrors: 0 });
    expect(await emulator.receiveNow(dlqUrl)).toEqual([]);
  });

  it('returns the whole batch to the queue when the handler throws', async () => {
    const { queueUrl } = await emulator.createQueueWithDlq('throws');
    await send(queueUrl, 'x', 'y');
    const { source, invocations, errors, deliveries } = start(queueUrl, async (_event, _context, call) => {
      if (call === 1) throw new Error('boom');
      return undefined;
    });

    await waitFor(() => deliveries('x').length === 2 && deliveries('y').length === 2, { what: 'redelivery' });
    await source.drain();

    expect(invocations[0]?.event.Records.map((record) => record.attributes.ApproximateReceiveCount)).toEqual([
      '1',
      '1',
    ]);
    expect([...deliveries('x'), ...deliveries('y')].map((record) => record.attributes.ApproximateReceiveCount)).toEqual(
      ['1', '2', '1', '2'],
    );
    expect(errors).toEqual([{ err: new Error('boom'), phase: 'invoke' }]);
    // The two come back together, or (their visibility timeouts ending a moment apart) in a batch each.
    expect(source.stats).toMatchObject({ recordsProcessed: 2, recordsFailed: 2, invocationErrors: 1 });
    expect(source.stats.invocations).toBeGreaterThanOrEqual(2);
    expect(source.stats.invocations).toBeLessThanOrEqual(3);
  });

  it('lets SQS move a message to the DLQ once it has failed maxReceiveCount times', async () => {
    const { queueUrl, queueArn, dlqUrl } = await emulator.createQueueWithDlq('redrive', { maxReceiveCount: 2 });
    await send(queueUrl, 'poison');
    const { deliveries } = start(queueUrl, async () => {
      throw new Error('cannot process');
    });

    const [moved] = await waitFor(
      async () => {
        const messages = await emulator.receiveNow(dlqUrl);
        return messages.length > 0 ? messages : undefined;
      },
      { what: 'the message in the DLQ' },
    );

    expect(moved?.Body).toBe('poison');
    expect(moved?.MessageId).toBe(deliveries('poison')[0]?.messageId);
    expect(moved?.Attributes?.DeadLetterQueueSourceArn).toBe(queueArn);
    expect(deliveries('poison').map((record) => record.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(await emulator.queueCounts(queueUrl)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
  });

  it('fails the whole batch when batchItemFailures names a message that is not in the batch', async () => {
    const { queueUrl } = await emulator.createQueueWithDlq('unknown-id');
    await send(queueUrl, 'p', 'q');
    const { source, errors, deliveries } = start(queueUrl, async (_event, _context, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: 'not-a-message-of-this-batch' }] } : undefined,
    );

    await waitFor(() => deliveries('p').length === 2 && deliveries('q').length === 2, { what: 'redelivery' });
    await source.drain();

    expect(deliveries('p')[1]?.attributes.ApproximateReceiveCount).toBe('2');
    expect(deliveries('q')[1]?.attributes.ApproximateReceiveCount).toBe('2');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.phase).toBe('response');
    expect(String(errors[0]?.err)).toContain('not-a-message-of-this-batch');
    expect(source.stats).toMatchObject({ recordsFailed: 2, recordsProcessed: 2, invocationErrors: 1 });
  });

  it('ignores a returned failure list and deletes everything when reportBatchItemFailures is off', async () => {
    const { queueUrl } = await emulator.createQueueWithDlq('no-report');
    await send(queueUrl, 'm', 'n');
    const { source, invocations } = start(
      queueUrl,
      async (event) => ({ batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) }),
      { reportBatchItemFailures: false },
    );

    await waitFor(() => invocations.length > 0, { what: 'an invocation' });
    await source.drain();
    // Long enough for a returned message to have become visible again (visibility timeout 1 s).
    await new Promise((resolve) => setTimeout(resolve, 1200));

    expect(invocations).toHaveLength(1);
    expect(source.stats).toEqual({ invocations: 1, recordsProcessed: 2, recordsFailed: 0, invocationErrors: 0 });
    expect(await emulator.queueCounts(queueUrl)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
  });

  it('does not receive a message before its DelaySeconds have passed', async () => {
    const { queueUrl } = await emulator.createQueueWithDlq('delay');
    const { invocations } = start(queueUrl, async () => undefined);
    const sentAt = Date.now();
    await emulator.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'later', DelaySeconds: 2 }));
    expect(await emulator.queueCounts(queueUrl)).toMatchObject({ delayed: 1 });

    await waitFor(() => invocations.length > 0, { what: 'the delayed message' });
    const receivedAt = Date.now();
    const record = invocations[0]?.event.Records[0];

    expect(record?.body).toBe('later');
    expect(receivedAt - sentAt).toBeGreaterThanOrEqual(2000);
    expect(
      Number(record?.attributes.ApproximateFirstReceiveTimestamp) - Number(record?.attributes.SentTimestamp),
    ).toBeGreaterThanOrEqual(1990);
  });

  it('stop() stops polling and waits for the batch in flight', async () => {
    const { queueUrl } = await emulator.createQueueWithDlq('stop');
    await send(queueUrl, 'slow');
    const started = deferred();
    const release = deferred();
    let finished = false;
    const { source, invocations } = start(queueUrl, async () => {
      started.resolve();
      await release.promise;
      finished = true;
      return undefined;
    });

    await started.promise;
    let stopped = false;
    const stopping = source.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stopped).toBe(false);

    release.resolve();
    await stopping;
    expect(finished).toBe(true);
    expect(source.stats).toMatchObject({ invocations: 1, recordsProcessed: 1 });
    expect(await emulator.queueCounts(queueUrl)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });

    // Nothing is received once stopped.
    await send(queueUrl, 'after-stop');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(invocations).toHaveLength(1);
    expect(await emulator.queueCounts(queueUrl)).toMatchObject({ visible: 1, notVisible: 0 });
  });

  it('works with the default 1 s long poll, and stop() returns within one poll', async () => {
    const { queueUrl } = await emulator.createQueueWithDlq('long-poll');
    const { source, invocations } = start(queueUrl, async () => undefined, { waitTimeSeconds: undefined });
    await send(queueUrl, 'via-long-poll');

    await waitFor(() => invocations.length > 0, { what: 'an invocation' });
    await source.drain();
    const stopStartedAt = Date.now();
    await source.stop();

    expect(Date.now() - stopStartedAt).toBeLessThan(1500);
    expect(invocations[0]?.event.Records[0]?.body).toBe('via-long-poll');
    expect(source.stats).toMatchObject({ invocations: 1, recordsProcessed: 1 });
  });

  it('treats an invocation longer than functionTimeoutMs as a failure of the whole batch', async () => {
    const { queueUrl } = await emulator.createQueueWithDlq('timeout');
    await send(queueUrl, 'sleepy');
    const { source, invocations, errors, deliveries } = start(
      queueUrl,
      async (_event, _context, call) => {
        if (call === 1) await new Promise((resolve) => setTimeout(resolve, 1000));
        return undefined;
      },
      { functionTimeoutMs: 200 },
    );

    await waitFor(() => deliveries('sleepy').length === 2, { what: 'redelivery after the timeout' });
    await source.drain();

    expect(deliveries('sleepy')[1]?.attributes.ApproximateReceiveCount).toBe('2');
    expect(invocations[0]?.remainingAtStart).toBeLessThanOrEqual(200);
    expect(errors[0]?.phase).toBe('invoke');
    expect(errors[0]?.err).toBeInstanceOf(LambdaTimeoutError);
    expect(String(errors[0]?.err)).toContain('Task timed out after 0.20 seconds');
    expect(source.stats).toMatchObject({ invocations: 2, recordsFailed: 1, recordsProcessed: 1, invocationErrors: 1 });
  });

  it('reports ReceiveMessage errors and keeps polling until the queue works', async () => {
    const queueUrl = `${emulator.endpoint}/123456789012/created-late-${Date.now()}`;
    const { errors, invocations } = start(queueUrl, async () => undefined, { receiveErrorBackoffMs: 20 });

    await waitFor(() => errors.length >= 2, { what: 'receive errors' });
    expect(errors.every(({ phase }) => phase === 'receive')).toBe(true);
    expect(String(errors[0]?.err)).toMatch(/queue/i);

    const created = await emulator.sqs.send(new CreateQueueCommand({ QueueName: queueUrl.split('/').at(-1) ?? '' }));
    expect(created.QueueUrl).toBe(queueUrl);
    await send(queueUrl, 'finally');
    await waitFor(() => invocations.length > 0, { what: 'the recovered poller' });
    expect(invocations[0]?.event.Records[0]?.body).toBe('finally');
  });

  it('processes up to `concurrency` batches in parallel', async () => {
    const { queueUrl } = await emulator.createQueueWithDlq('parallel');
    await send(queueUrl, '1', '2', '3');
    let active = 0;
    let maxActive = 0;
    const { source, invocations } = start(
      queueUrl,
      async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 300));
        active -= 1;
        return undefined;
      },
      { concurrency: 3, batchSize: 1 },
    );

    await waitFor(() => invocations.length === 3, { what: 'three invocations' });
    await source.drain();
    expect(invocations.every(({ event }) => event.Records.length === 1)).toBe(true);
    expect(maxActive).toBe(3);
  });

  it('keeps gathering records for maximumBatchingWindowMs before invoking', async () => {
    const { queueUrl } = await emulator.createQueueWithDlq('window');
    const { invocations } = start(queueUrl, async () => undefined, { maximumBatchingWindowMs: 1000 });
    await send(queueUrl, 'early');
    await waitFor(async () => (await emulator.queueCounts(queueUrl)).notVisible === 1, { what: 'early in flight' });
    await send(queueUrl, 'late');

    await waitFor(() => invocations.length > 0, { what: 'an invocation' });
    expect(invocations[0]?.event.Records.map((record) => record.body)).toEqual(['early', 'late']);
  });

  it('rejects invalid settings up front', () => {
    const base = {
      sqs: emulator.sqs,
      queueUrl: `${emulator.endpoint}/123456789012/q`,
      functionName: 'f',
      invoke: inProcessInvoker('f', async () => undefined),
    };
    expect(() => startSqsEventSource({ ...base, batchSize: 11 })).toThrow(/batchSize/);
    expect(() => startSqsEventSource({ ...base, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => startSqsEventSource({ ...base, waitTimeSeconds: 21 })).toThrow(/waitTimeSeconds/);
    expect(() => startSqsEventSource({ ...base, queueUrl: 'http://127.0.0.1/' })).toThrow(/queue ARN/);
  });
});

describe('evaluateBatchResponse', () => {
  const batch = new Set(['id-1', 'id-2']);

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an empty object', {}],
    ['an empty list', { batchItemFailures: [] }],
    ['a null list', { batchItemFailures: null }],
  ])('treats %s as complete success', (_name, response) => {
    expect(evaluateBatchResponse(response, batch)).toEqual({ valid: true, failedMessageIds: new Set() });
  });

  it('returns the listed message ids', () => {
    expect(
      evaluateBatchResponse({ batchItemFailures: [{ itemIdentifier: 'id-2' }, { itemIdentifier: 'id-2' }] }, batch),
    ).toEqual({
      valid: true,
      failedMessageIds: new Set(['id-2']),
    });
  });

  it.each([
    ['an empty string itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a misspelled key', { batchItemFailures: [{ itemIdentifer: 'id-1' }] }],
    ['an unknown message id', { batchItemFailures: [{ itemIdentifier: 'id-3' }] }],
    ['a list of bare ids', { batchItemFailures: ['id-1'] }],
    ['batchItemFailures that is not a list', { batchItemFailures: 'id-1' }],
    ['a response that is not an object', 'id-1'],
  ])('fails the whole batch on %s', (_name, response) => {
    expect(evaluateBatchResponse(response, batch)).toMatchObject({ valid: false });
  });
});

describe('queue URL helpers', () => {
  it('derives the ARN from the account and name at the end of the URL path', () => {
    expect(queueArnFromUrl('http://127.0.0.1:4566/000000000000/jobs', 'eu-west-1')).toBe(
      'arn:aws:sqs:eu-west-1:000000000000:jobs',
    );
    expect(queueArnFromUrl('https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo', 'us-east-1')).toBe(
      'arn:aws:sqs:us-east-1:123456789012:jobs.fifo',
    );
  });

  it('reads the region from AWS and LocalStack queue hosts only', () => {
    expect(regionFromQueueUrl('https://sqs.eu-central-1.amazonaws.com/1/q')).toBe('eu-central-1');
    expect(regionFromQueueUrl('https://eu-west-2.queue.amazonaws.com/1/q')).toBe('eu-west-2');
    expect(regionFromQueueUrl('http://sqs.ap-south-1.localhost.localstack.cloud:4566/1/q')).toBe('ap-south-1');
    expect(regionFromQueueUrl('http://127.0.0.1:9324/1/q')).toBeUndefined();
    expect(regionFromQueueUrl('https://sqs.amazonaws.com/1/q')).toBeUndefined();
  });
});
