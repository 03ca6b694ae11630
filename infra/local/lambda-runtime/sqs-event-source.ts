import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSMessageAttribute, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { DEFAULT_REGION, type Invoker } from './invocation.js';
import type { QueueActivity } from './queue-activity.js';

export type SqsEventSourcePhase = 'receive' | 'invoke' | 'response' | 'delete';

export interface SqsEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Defaults to arn:aws:sqs:<region>:<account>:<name>, with account and name taken from the queue URL. */
  queueArn?: string;
  /** The queue's region (the records' awsRegion). Defaults to the ARN's, the URL host's, then the client's. */
  region?: string;
  /** How the function runs: in its execution environments (the local stack), or in this process (unit tests). */
  invoke: Invoker;
  functionName: string;
  /** Records per invocation, 1..10. Default 10. */
  batchSize?: number;
  /** How long to keep gathering records after the first arrives, 0..300000. Default 0: invoke at once. */
  maximumBatchingWindowMs?: number;
  /** ReceiveMessage long-poll time, 0..20. Default 1, so stop() returns quickly. */
  waitTimeSeconds?: number;
  /**
   * Sends to the queue announced (queue-activity.ts): then each receive does not wait, and an empty queue is polled
   * again at the next send to it or after a second.
   */
  activity?: QueueActivity;
  /** The function timeout: a longer invocation fails the whole batch. Default 30000. */
  functionTimeoutMs?: number;
  /**
   * Chaos: called per invocation; a number abandons that invocation after so many milliseconds instead of the
   * function timeout, as a Lambda timeout mid-batch does (the whole batch fails, its messages come back after the
   * visibility timeout). Unlike Lambda, the abandoned handler keeps running in this process, so it races the
   * redelivered batch: more concurrency than AWS allows, a stricter test of idempotency.
   */
  killAfterMs?: () => number | undefined;
  /** The ReportBatchItemFailures function response type. Default true. */
  reportBatchItemFailures?: boolean;
  /** Batches processed at once, by as many parallel pollers. Default 1. */
  concurrency?: number;
  /** Pause after a failed ReceiveMessage before polling again. Default 1000. */
  receiveErrorBackoffMs?: number;
  /**
   * Told about every failure: ReceiveMessage/DeleteMessageBatch errors, handler errors and timeouts, and
   * invalid partial batch responses. Never thrown to the caller. Defaults to console.error.
   */
  onError?: (err: unknown, phase: SqsEventSourcePhase) => void;
}

export interface SqsEventSourceStats {
  /** Handler invocations started. */
  invocations: number;
  /** Records whose processing succeeded, so they were deleted from the queue. */
  recordsProcessed: number;
  /** Records left in the queue to be retried after the visibility timeout (or moved to the DLQ). */
  recordsFailed: number;
  /** Invocations that threw, timed out, or (with reportBatchItemFailures) returned an invalid response. */
  invocationErrors: number;
}

export interface SqsEventSourceDrainOptions {
  /** Give up (reject) after this long. Default 30000. */
  timeoutMs?: number;
  /** Default 50. */
  pollIntervalMs?: number;
}

export interface SqsEventSource {
  /** Stops issuing ReceiveMessage calls, lets the polls in progress finish, and waits for their batches. */
  stop(): Promise<void>;
  /**
   * Resolves once no batch is being processed and the queue holds no message at all (visible, in flight or
   * delayed): everything sent so far has been handled, or has gone to the DLQ.
   */
  drain(options?: SqsEventSourceDrainOptions): Promise<void>;
  /** Live counters. */
  readonly stats: Readonly<SqsEventSourceStats>;
  /** Invocations ended at the function timeout, live; a chaos kill (`killAfterMs`, an earlier end) is not one. */
  readonly timeouts: number;
}

interface EventSourceIdentity {
  eventSourceARN: string;
  awsRegion: string;
  accountId: string;
}

type BatchResponseVerdict = { valid: true; failedMessageIds: Set<string> } | { valid: false; reason: string };

const MAX_BATCH_SIZE = 10;
/** With sends announced: how long an empty queue waits before it is polled again anyway. */
const IDLE_RECEIVE_MS = 1000;

function assertInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`startSqsEventSource: ${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The region of an AWS or LocalStack queue URL host (sqs.<region>.amazonaws.com, <region>.queue.amazonaws.com). */
export function regionFromQueueUrl(queueUrl: string): string | undefined {
  const host = new URL(queueUrl).hostname;
  return /^(?:sqs\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:queue\.)?/.exec(host)?.[1];
}

/** arn:aws:sqs:<region>:<account>:<name> for a queue URL whose path ends in /<account>/<name>. */
export function queueArnFromUrl(queueUrl: string, region: string): string {
  const segments = new URL(queueUrl).pathname.split('/').filter(Boolean);
  const name = segments.at(-1);
  const account = segments.at(-2);
  if (!name || !account) throw new Error(`Cannot derive a queue ARN from queue URL ${queueUrl}`);
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

async function resolveIdentity(options: SqsEventSourceOptions): Promise<EventSourceIdentity> {
  const arnParts = options.queueArn?.split(':');
  let region = options.region ?? arnParts?.[3] ?? regionFromQueueUrl(options.queueUrl);
  if (!region) {
    try {
      region = await options.sqs.config.region();
    } catch {
      region = undefined;
    }
  }
  region ||= process.env.AWS_REGION ?? DEFAULT_REGION;
  const eventSourceARN = options.queueArn ?? queueArnFromUrl(options.queueUrl, region);
  return { eventSourceARN, awsRegion: region, accountId: eventSourceARN.split(':')[4] ?? '' };
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function toRecordMessageAttribute(value: MessageAttributeValue): SQSMessageAttribute {
  return {
    ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
    ...(value.BinaryValue !== undefined ? { binaryValue: base64(value.BinaryValue) } : {}),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64),
    dataType: value.DataType ?? 'String',
  };
}

/** Lambda puts these four first, then whatever else SQS returned (AWSTraceHeader, MessageGroupId, ...). */
const LEADING_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SenderId',
  'ApproximateFirstReceiveTimestamp',
] as const;

/** Builds the record Lambda's SQS event source mapping puts in `event.Records` for a received message. */
export function toSqsRecord(message: Message, source: { eventSourceARN: string; awsRegion: string }): SQSRecord {
  const received: Record<string, string | undefined> = message.Attributes ?? {};
  const attributes: Record<string, string> = {};
  for (const name of LEADING_ATTRIBUTES) attributes[name] = received[name] ?? '';
  for (const [name, value] of Object.entries(received)) {
    if (value !== undefined && !(name in attributes)) attributes[name] = value;
  }
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = toRecordMessageAttribute(value);
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: attributes as unknown as SQSRecordAttributes,
    messageAttributes,
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: source.eventSourceARN,
    awsRegion: source.awsRegion,
  };
}

/**
 * Reads a handler's response the way Lambda does with ReportBatchItemFailures: null/undefined, an empty
 * object or an empty/null batchItemFailures list is complete success; a response that is not an object,
 * a batchItemFailures that is not a list, an entry without a non-empty string itemIdentifier (null, empty,
 * misspelled key) or naming a message that is not in the batch fails the whole batch.
 */
export function evaluateBatchResponse(result: unknown, batchMessageIds: ReadonlySet<string>): BatchResponseVerdict {
  if (result === null || result === undefined) return { valid: true, failedMessageIds: new Set() };
  if (typeof result !== 'object' || Array.isArray(result)) {
    return { valid: false, reason: `the response is not a JSON object: ${JSON.stringify(result)}` };
  }
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return { valid: true, failedMessageIds: new Set() };
  if (!Array.isArray(failures)) return { valid: false, reason: 'batchItemFailures is not a list' };
  const failedMessageIds = new Set<string>();
  for (const failure of failures) {
    const id =
      typeof failure === 'object' && failure !== null
        ? (failure as { itemIdentifier?: unknown }).itemIdentifier
        : undefined;
    if (typeof id !== 'string' || id === '') {
      return {
        valid: false,
        reason: `batchItemFailures entry without a non-empty itemIdentifier: ${JSON.stringify(failure)}`,
      };
    }
    if (!batchMessageIds.has(id)) {
      return { valid: false, reason: `batchItemFailures itemIdentifier ${id} is not a message of this batch` };
    }
    failedMessageIds.add(id);
  }
  return { valid: true, failedMessageIds };
}

/**
 * Runs a Lambda handler against an SQS queue as Lambda's SQS event source mapping does: long-polls for
 * batches, invokes the handler with Lambda's SQSEvent and a fresh Context, deletes the records that
 * succeeded, and leaves the rest to reappear after the queue's visibility timeout (and, past the
 * RedrivePolicy's maxReceiveCount, to be moved to the DLQ by SQS).
 */
export function startSqsEventSource(options: SqsEventSourceOptions): SqsEventSource {
  const batchSize = options.batchSize ?? MAX_BATCH_SIZE;
  const maximumBatchingWindowMs = options.maximumBatchingWindowMs ?? 0;
  const activity = options.activity;
  const queueName = options.queueUrl.split('/').pop() ?? '';
  // With sends announced, a receive never waits: an empty queue waits for the announcement instead.
  const waitTimeSeconds = activity ? 0 : (options.waitTimeSeconds ?? 1);
  const functionTimeoutMs = options.functionTimeoutMs ?? 30_000;
  const reportBatchItemFailures = options.reportBatchItemFailures ?? true;
  const concurrency = options.concurrency ?? 1;
  const receiveErrorBackoffMs = options.receiveErrorBackoffMs ?? 1000;
  assertInteger('batchSize', batchSize, 1, MAX_BATCH_SIZE);
  assertInteger('maximumBatchingWindowMs', maximumBatchingWindowMs, 0, 300_000);
  assertInteger('waitTimeSeconds', waitTimeSeconds, 0, 20);
  assertInteger('concurrency', concurrency, 1, 1000);
  if (!Number.isFinite(functionTimeoutMs) || functionTimeoutMs <= 0) {
    throw new Error(`startSqsEventSource: functionTimeoutMs must be positive, got ${functionTimeoutMs}`);
  }
  if (!options.functionName) throw new Error('startSqsEventSource: functionName is required');
  if (!options.queueArn) queueArnFromUrl(options.queueUrl, DEFAULT_REGION); // fail fast on an unusable queue URL

  const { sqs, queueUrl } = options;
  const { invoke } = options;
  const stats: SqsEventSourceStats = { invocations: 0, recordsProcessed: 0, recordsFailed: 0, invocationErrors: 0 };
  const stopSignal = new AbortController();
  let batchesInFlight = 0;
  let timeouts = 0;
  let stopped: Promise<void> | undefined;

  const report = (err: unknown, phase: SqsEventSourcePhase): void => {
    try {
      if (options.onError) options.onError(err, phase);
      else console.error(`[sqs-event-source ${options.functionName}] ${phase} failed:`, err);
    } catch {
      // A throwing onError must not kill the poller.
    }
  };

  const receive = async (maxMessages: number, waitSeconds: number): Promise<Message[]> => {
    const output = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: maxMessages,
        WaitTimeSeconds: waitSeconds,
        // Both names: MessageSystemAttributeNames is current, AttributeNames is what local-aws-sqs reads.
        MessageSystemAttributeNames: ['All'],
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    return output.Messages ?? [];
  };

  /** Receives one batch: the first long poll, then more polls while the batching window lasts. */
  const receiveBatch = async (): Promise<Message[]> => {
    const messages = await receive(batchSize, waitTimeSeconds);
    if (messages.length === 0 || maximumBatchingWindowMs === 0) return messages;
    const deadline = Date.now() + maximumBatchingWindowMs;
    while (messages.length < batchSize && !stopSignal.signal.aborted) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      const wait = Math.min(20, Math.floor(remainingMs / 1000));
      try {
        const more = await receive(batchSize - messages.length, wait);
        messages.push(...more);
        if (more.length === 0 && wait === 0) await sleep(Math.min(remainingMs, 50), stopSignal.signal);
      } catch (err) {
        report(err, 'receive'); // keep what was received: those messages are already in flight
        break;
      }
    }
    return messages;
  };

  const deleteMessages = async (messages: Message[]): Promise<void> => {
    for (let start = 0; start < messages.length; start += MAX_BATCH_SIZE) {
      const chunk = messages.slice(start, start + MAX_BATCH_SIZE);
      try {
        const output = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((message, index) => ({ Id: `m${index}`, ReceiptHandle: message.ReceiptHandle })),
          }),
        );
        for (const failure of output.Failed ?? []) {
          const message = chunk[Number(failure.Id?.slice(1))];
          report(
            new Error(
              `DeleteMessageBatch failed for message ${message?.MessageId}: ${failure.Code} ${failure.Message}`,
            ),
            'delete',
          );
        }
      } catch (err) {
        report(err, 'delete');
      }
    }
  };

  const processBatch = async (received: Message[], identity: EventSourceIdentity): Promise<void> => {
    // One record per message id. Real SQS never repeats a message within one response, but local-aws-sqs can
    // when a message's visibility timeout expires during the long poll; its latest receipt handle wins.
    const byId = new Map<string, Message>();
    for (const message of received) {
      if (message.MessageId && message.ReceiptHandle) byId.set(message.MessageId, message);
    }
    const messages = [...byId.values()];
    if (messages.length === 0) return;

    const records = messages.map((message) => toSqsRecord(message, identity));
    stats.invocations += 1;
    const killAfter = options.killAfterMs?.();
    const timeoutMs = killAfter === undefined ? functionTimeoutMs : Math.min(killAfter, functionTimeoutMs);
    const outcome = await invoke({ Records: records }, { timeoutMs });
    if (outcome.status === 'timedOut' && timeoutMs === functionTimeoutMs) timeouts += 1;

    let failedIds: ReadonlySet<string>;
    const allIds = new Set(byId.keys());
    if (outcome.status !== 'succeeded') {
      stats.invocationErrors += 1;
      report(outcome.error, 'invoke');
      failedIds = allIds;
    } else if (!reportBatchItemFailures) {
      failedIds = new Set();
    } else {
      const verdict = evaluateBatchResponse(outcome.result, allIds);
      if (verdict.valid) {
        failedIds = verdict.failedMessageIds;
      } else {
        stats.invocationErrors += 1;
        report(new Error(`Invalid partial batch response, the whole batch failed: ${verdict.reason}`), 'response');
        failedIds = allIds;
      }
    }
    const succeeded = messages.filter((message) => !failedIds.has(message.MessageId ?? ''));
    stats.recordsFailed += messages.length - succeeded.length;
    stats.recordsProcessed += succeeded.length;
    if (succeeded.length > 0) await deleteMessages(succeeded);
  };

  const poll = async (identity: EventSourceIdentity): Promise<void> => {
    while (!stopSignal.signal.aborted) {
      let messages: Message[];
      try {
        messages = await receiveBatch();
      } catch (err) {
        report(err, 'receive');
        await sleep(receiveErrorBackoffMs, stopSignal.signal);
        continue;
      }
      if (messages.length === 0) {
        // Without long polling an empty queue would otherwise be polled in a tight loop.
        if (activity) await activity.wait(queueName, IDLE_RECEIVE_MS, stopSignal.signal);
        else if (waitTimeSeconds === 0) await sleep(20, stopSignal.signal);
        continue;
      }
      // Messages received while stop() was pending are in flight already: process them rather than strand them.
      batchesInFlight += 1;
      try {
        await processBatch(messages, identity);
      } catch (err) {
        report(err, 'invoke');
      } finally {
        batchesInFlight -= 1;
      }
    }
  };

  const pollers = resolveIdentity(options).then(
    (identity) => Promise.all(Array.from({ length: concurrency }, () => poll(identity))),
    (err: unknown) => report(err, 'receive'),
  );

  return {
    stats,
    get timeouts() {
      return timeouts;
    },
    stop(): Promise<void> {
      if (!stopped) {
        stopSignal.abort();
        stopped = pollers.then(() => undefined);
      }
      return stopped;
    },
    async drain(drainOptions: SqsEventSourceDrainOptions = {}): Promise<void> {
      const timeoutMs = drainOptions.timeoutMs ?? 30_000;
      const pollIntervalMs = drainOptions.pollIntervalMs ?? 50;
      const deadline = Date.now() + timeoutMs;
      let last = 'not checked yet';
      for (;;) {
        if (batchesInFlight === 0) {
          const { Attributes = {} } = await sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: queueUrl,
              AttributeNames: [
                'ApproximateNumberOfMessages',
                'ApproximateNumberOfMessagesNotVisible',
                'ApproximateNumberOfMessagesDelayed',
              ],
            }),
          );
          const counts = [
            Attributes.ApproximateNumberOfMessages,
            Attributes.ApproximateNumberOfMessagesNotVisible,
            Attributes.ApproximateNumberOfMessagesDelayed,
          ].map((count) => Number(count ?? 0));
          if (counts.every((count) => count === 0) && batchesInFlight === 0) return;
          last = `visible/not visible/delayed = ${counts.join('/')}`;
        } else {
          last = `${batchesInFlight} batch(es) being processed`;
        }
        if (Date.now() >= deadline)
          throw new Error(`drain: queue ${queueUrl} not empty after ${timeoutMs} ms (${last})`);
        await sleep(pollIntervalMs);
      }
    },
  };
}
