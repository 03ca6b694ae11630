/**
 * The AWS SDK clients within the invocation's deadline (shared/aws/sdk-deadline.ts), against a real HTTP server on
 * 127.0.0.1 that hangs, answers late or throttles: a call never outlives the deadline, no retry starts that could not
 * get a whole attempt, and a call cut short throws a DeferError, so a batch record is deferred rather than failed.
 * SQS sends may use the margin below the deadline (they are what a deferral is made of). Outside a deadline the
 * clients behave as the SDK does. Assertions count requests at the server; times only with wide margins.
 */

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sqsBatchHandler } from '../../functions/sqs-batch.js';
import { AWS_HTTP_TIMEOUTS, type AwsCallBound, deadlineAwareClient } from '../../shared/aws/clients.js';
import {
  ANSWER_RESERVE_MS,
  DEADLINE_SAFETY_MARGIN_MS,
  DeferError,
  runWithDeadline,
} from '../../shared/invocation-deadline.js';
import { SqsJobQueues } from '../../shared/jobs/job-queues.js';
import { DynamoDbJobStore } from '../../shared/jobs/job-store.js';
import { pollMessageSchema } from '../../shared/jobs/messages.js';
import { lambdaContext, setFunctionEnv, sqsRecord } from './fuzz/fixtures.js';

setFunctionEnv();

type Answer = 'hang' | { status: number; body: object; headers?: Record<string, string>; delayMs?: number };

/**
 * A server that answers every request the way `answer` says, and counts what arrives; with `answerSends`, an SQS
 * SendMessage is answered as SQS does (its body's MD5, which the SDK checks) whatever `answer` says.
 */
class FakeAws {
  answer: Answer = 'hang';
  answerSends = false;
  requests = 0;
  /** The DelaySeconds of each SendMessage answered. */
  readonly sent: number[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  async start(): Promise<string> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.requests += 1;
        if (this.answerSends && req.headers['x-amz-target'] === 'AmazonSQS.SendMessage') {
          const { MessageBody = '', DelaySeconds = 0 } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          this.sent.push(DelaySeconds);
          const md5 = createHash('md5').update(MessageBody).digest('hex');
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(JSON.stringify({ MD5OfMessageBody: md5, MessageId: `m-${this.requests}` }));
          return;
        }
        const answer = this.answer;
        if (answer === 'hang') return;
        const reply = () => {
          if (res.destroyed) return;
          res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0', ...answer.headers });
          res.end(JSON.stringify(answer.body));
        };
        if (answer.delayMs) setTimeout(reply, answer.delayMs);
        else reply();
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.answer = 'hang';
    this.answerSends = false;
    this.requests = 0;
    this.sent.length = 0;
    // Hung requests from the last test must not linger into the next.
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

const fake = new FakeAws();
let endpoint: string;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

beforeAll(async () => {
  endpoint = await fake.start();
});
afterEach(() => fake.reset());
afterAll(() => fake.stop());

function dynamoDb(requestHandler: object = AWS_HTTP_TIMEOUTS): DynamoDBClient {
  return deadlineAwareClient(
    (options) => new DynamoDBClient({ ...options, requestHandler, endpoint, region: 'us-east-1', credentials }),
    'DynamoDB',
  );
}

function sqs(bound: AwsCallBound): SQSClient {
  return deadlineAwareClient(
    (options) => new SQSClient({ ...options, endpoint, region: 'us-east-1', credentials }),
    'SQS',
    bound,
  );
}

const JOB_ID = `fdl-${'a'.repeat(40)}`;
const getItem = () => new GetItemCommand({ TableName: 'jobs', Key: { jobId: { S: 'j-1' } } });
const dynamoError = (type: string) => ({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: type });

/** The call's outcome, and when it ended. */
async function settle(call: () => Promise<unknown>): Promise<{ error: unknown; endedAt: number }> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, endedAt: Date.now() };
}

describe('AWS SDK calls within the invocation deadline', () => {
  it('a hung DynamoDB call (through the job store) ends by the deadline with a DeferError, one attempt, no retry', async () => {
    const store = new DynamoDbJobStore(dynamoDb(), 'jobs');
    const deadline = Date.now() + 2000;
    const { error, endedAt } = await settle(() => runWithDeadline(deadline, () => store.get('j-1')));

    expect(error).toBeInstanceOf(DeferError);
    expect(fake.requests).toBe(1);
    // Cut by the deadline, not by the 10 s request timeout (times x3 attempts) it would otherwise wait for.
    expect(endedAt - deadline).toBeLessThan(2000);
  });

  it('does not retry a transient failure that leaves less than a whole attempt; outside a deadline the SDK retries it', async () => {
    // The 500 arrives when less than MIN_ATTEMPT_TIME_MS (1 s) is left.
    fake.answer = { status: 500, body: dynamoError('InternalServerError'), delayMs: 1000 };
    const { error } = await settle(() => runWithDeadline(Date.now() + 1800, () => dynamoDb().send(getItem())));
    expect(error).toBeInstanceOf(DeferError);
    expect((error as DeferError).cause).toMatchObject({ name: 'InternalServerError' });
    expect(fake.requests).toBe(1);

    fake.reset();
    fake.answer = { status: 500, body: dynamoError('InternalServerError') };
    const { error: plain } = await settle(() => dynamoDb().send(getItem()));
    expect(plain).not.toBeInstanceOf(DeferError);
    expect(plain).toMatchObject({ name: 'InternalServerError' });
    // The SDK's default for DynamoDB (3 for the other services).
    expect(fake.requests).toBe(4);
  });

  it('a backoff that would outlast the deadline is cut short: no retry starts, the call is deferred', async () => {
    // The SDK waits at least 5 s before retrying a throttled call that says Retry-After: 30.
    fake.answer = { status: 400, body: dynamoError('ThrottlingException'), headers: { 'Retry-After': '30' } };
    const started = Date.now();
    const { error, endedAt } = await settle(() => runWithDeadline(started + 3000, () => dynamoDb().send(getItem())));

    expect(error).toBeInstanceOf(DeferError);
    expect((error as DeferError).cause).toMatchObject({ name: 'ThrottlingException' });
    expect(fake.requests).toBe(1);
    expect(endedAt - started).toBeLessThan(5000);
    // Nothing was left running to retry later.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fake.requests).toBe(1);
  });

  it('past the record deadline, DynamoDB is not called while an SQS send still is, ending before the invocation', async () => {
    // The record's deadline passed 2.5 s ago: 1.5 s are left before the invocation answers Lambda.
    const deadline = Date.now() - 2500;
    const { error: dynamo } = await settle(() => runWithDeadline(deadline, () => dynamoDb().send(getItem())));
    expect(dynamo).toBeInstanceOf(DeferError);
    expect(fake.requests).toBe(0);

    const send = new SendMessageCommand({ QueueUrl: `${endpoint}/123456789012/q`, MessageBody: '{}' });
    const { error, endedAt } = await settle(() => runWithDeadline(deadline, () => sqs('hand-off').send(send)));
    expect(error).toBeInstanceOf(DeferError);
    expect(fake.requests).toBe(1);
    expect(endedAt).toBeLessThan(deadline + DEADLINE_SAFETY_MARGIN_MS - ANSWER_RESERVE_MS + 1500);

    // A client bound to the record's deadline would not have sent it.
    fake.reset();
    const { error: strict } = await settle(() => runWithDeadline(deadline, () => sqs('record').send(send)));
    expect(strict).toBeInstanceOf(DeferError);
    expect(fake.requests).toBe(0);
  });

  it('outside a deadline a hung attempt still ends at the request timeout (the handler throws, not only warns)', async () => {
    const { error } = await settle(() => dynamoDb({ ...AWS_HTTP_TIMEOUTS, requestTimeout: 300 }).send(getItem()));
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(error).not.toBeInstanceOf(DeferError);
    expect(fake.requests).toBe(4);
  }, 15_000);

  it('a batch record whose DynamoDB call hangs is deferred through SQS after its deadline, not failed', async () => {
    fake.answerSends = true;
    const store = new DynamoDbJobStore(dynamoDb(), 'jobs');
    // The SQS client sends to the queue URL's host: the fake.
    const queue = `${endpoint}/123456789012/poll`;
    const handlerWith = (bound: AwsCallBound) => {
      const queues = new SqsJobQueues(sqs(bound), { submit: queue, poll: queue, cancel: queue });
      return sqsBatchHandler({
        schemaFor: () => pollMessageSchema,
        maxReceiveCount: () => 3,
        process: async (message) => {
          await store.get(message.jobId);
        },
        // The poll handler's deferral: its SendMessage runs once the record's deadline has passed.
        defer: (message, delaySeconds) => queues.sendPoll(message, delaySeconds),
      });
    };
    // The record's deadline is 1.5 s away; its last receive, so failing would send it to the DLQ.
    const context = (): Context => {
      const end = Date.now() + DEADLINE_SAFETY_MARGIN_MS + 1500;
      return { ...lambdaContext('deadline'), getRemainingTimeInMillis: () => end - Date.now() };
    };

    expect(
      await handlerWith('hand-off')(
        { Records: [sqsRecord(JSON.stringify({ jobId: JOB_ID, generation: 1 }), 3)] },
        context(),
      ),
    ).toEqual({
      batchItemFailures: [],
    });
    expect(fake.sent).toEqual([1]);

    // Held to the record's deadline, the deferral itself could not be sent: the batch fails, its receive spent.
    fake.sent.length = 0;
    const { error } = await settle(() =>
      handlerWith('record')({ Records: [sqsRecord(JSON.stringify({ jobId: JOB_ID, generation: 1 }), 3)] }, context()),
    );
    expect(error).toMatchObject({ name: 'FullBatchFailureError' });
    expect(fake.sent).toEqual([]);
  });
});
