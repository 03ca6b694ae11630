import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createSqsServer } from 'local-aws-sqs';

/** Polls `probe` until it returns something other than undefined/false; rejects after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  {
    timeoutMs = 10_000,
    intervalMs = 20,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

export interface QueuePair {
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
}

export interface SqsEmulator {
  sqs: SQSClient;
  endpoint: string;
  createQueueWithDlq(
    name: string,
    options?: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number },
  ): Promise<QueuePair>;
  queueCounts(queueUrl: string): Promise<{ visible: number; notVisible: number; delayed: number }>;
  /** One short-poll receive that reads all attributes and does not delete. */
  receiveNow(queueUrl: string): Promise<Message[]>;
  close(): Promise<void>;
}

let queueCounter = 0;

export async function startSqsEmulator(): Promise<SqsEmulator> {
  const server: Server = await createSqsServer({ port: 0, hostname: '127.0.0.1' });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const sqs = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const queueArn = async (queueUrl: string): Promise<string> => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    if (!Attributes?.QueueArn) throw new Error(`no QueueArn for ${queueUrl}`);
    return Attributes.QueueArn;
  };
  return {
    sqs,
    endpoint,
    async createQueueWithDlq(name, { visibilityTimeoutSeconds = 1, maxReceiveCount = 2 } = {}) {
      queueCounter += 1;
      const base = `${name}-${queueCounter}`;
      const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${base}-dlq` }));
      if (!dlq.QueueUrl) throw new Error('no DLQ url');
      const dlqArn = await queueArn(dlq.QueueUrl);
      const queue = await sqs.send(
        new CreateQueueCommand({
          QueueName: base,
          Attributes: {
            VisibilityTimeout: String(visibilityTimeoutSeconds),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
          },
        }),
      );
      if (!queue.QueueUrl) throw new Error('no queue url');
      return { queueUrl: queue.QueueUrl, queueArn: await queueArn(queue.QueueUrl), dlqUrl: dlq.QueueUrl, dlqArn };
    },
    async queueCounts(queueUrl) {
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
      return {
        visible: Number(Attributes.ApproximateNumberOfMessages),
        notVisible: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
        delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed),
      };
    },
    async receiveNow(queueUrl) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          AttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      return Messages;
    },
    async close() {
      sqs.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
