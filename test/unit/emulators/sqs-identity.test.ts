import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateQueueCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  SQSServiceException,
} from '@aws-sdk/client-sqs';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { createSqsServer } from 'local-aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsIdentity, type SqsPrincipal } from '../../../infra/local/emulators/sqs-identity.js';
import {
  type AwsFaultProxy,
  type AwsProxyExchange,
  startAwsProxy,
} from '../../../infra/local/faults/aws-fault-proxy.js';

const REGION = 'us-east-1';
const ROLE_ID = 'AROAQWERTYUIOPASDFGHJ';
const USER_ID = 'AIDAZXCVBNMLKJHGFDSA2';
const FUNCTION: SqsPrincipal = { accessKeyId: 'local', secretAccessKey: 'local', senderId: `${ROLE_ID}:local` };
const CALLER: SqsPrincipal = {
  accessKeyId: 'AKIACALLERKEY0000001',
  secretAccessKey: 'caller-secret',
  senderId: USER_ID,
};

describe('SQS identity proxy', () => {
  let server: Server;
  let serverUrl: string;
  let identity: SqsIdentity;
  let proxy: AwsFaultProxy;
  let counted: AwsFaultProxy;
  const operations: string[] = [];
  const clients: SQSClient[] = [];
  let queueUrl: string;

  const clientAs = (keys: { accessKeyId: string; secretAccessKey: string }, endpoint = proxy.url): SQSClient => {
    const client = new SQSClient({ region: REGION, endpoint, credentials: keys, maxAttempts: 1 });
    clients.push(client);
    return client;
  };
  const failureOf = async (call: Promise<unknown>): Promise<SQSServiceException> => {
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SQSServiceException);
    return err as SQSServiceException;
  };
  /** Receives until the messages with these ids show up (each test's messages are its own). */
  const receiveAll = async (messageIds: string[], client = clientAs(FUNCTION)): Promise<Message[]> => {
    const seen = new Map<string, Message>();
    for (let attempt = 0; attempt < 20; attempt++) {
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 30,
          MessageSystemAttributeNames: ['All'],
          AttributeNames: ['All'],
        }),
      );
      for (const message of Messages) seen.set(message.MessageId ?? '', message);
      if (messageIds.every((id) => seen.has(id))) return messageIds.map((id) => seen.get(id) as Message);
    }
    throw new Error(`messages ${messageIds.join(', ')} not received`);
  };
  const receive = async (messageId: string, client?: SQSClient): Promise<Message> =>
    (await receiveAll([messageId], client))[0] as Message;

  beforeAll(async () => {
    server = await createSqsServer({ port: 0, hostname: '127.0.0.1', emulateQueueCreationLifecycle: false });
    serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    identity = new SqsIdentity({ region: REGION, principals: [FUNCTION, CALLER] });
    proxy = await startAwsProxy('sqs', serverUrl, { guard: identity });
    counted = await startAwsProxy('sqs', serverUrl, { guard: identity, observe: (op) => operations.push(op) });
    const { QueueUrl } = await clientAs(FUNCTION).send(new CreateQueueCommand({ QueueName: 'identity-test' }));
    queueUrl = QueueUrl ?? '';
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await proxy.close();
    await counted.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers queue URLs that name the proxy, not local-aws-sqs', async () => {
    expect(new URL(queueUrl).origin).toBe(proxy.url);
    const { QueueUrl } = await clientAs(CALLER, counted.url).send(
      new GetQueueUrlCommand({ QueueName: 'identity-test' }),
    );
    expect(new URL(QueueUrl ?? '').origin).toBe(counted.url);
  });

  it('stamps a message sent with the caller key with the IAM user id', async () => {
    const sent = await clientAs(CALLER).send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'from caller' }),
    );
    const message = await receive(sent.MessageId ?? '');
    expect(message.Body).toBe('from caller');
    expect(message.Attributes?.SenderId).toBe(USER_ID);
  });

  it('stamps a message sent with the function key with <role id>:<session>', async () => {
    const sent = await clientAs(FUNCTION).send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'from fn' }));
    // Received by another principal through another proxy: the stamp belongs to the message, not to the reader.
    const message = await receive(sent.MessageId ?? '', clientAs(CALLER, counted.url));
    expect(message.Attributes?.SenderId).toBe(`${ROLE_ID}:local`);
  });

  it('stamps every entry of a SendMessageBatch', async () => {
    const { Successful = [] } = await clientAs(CALLER).send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'batch a' },
          { Id: 'b', MessageBody: 'batch b' },
        ],
      }),
    );
    expect(Successful).toHaveLength(2);
    const messages = await receiveAll(Successful.map((entry) => entry.MessageId ?? ''));
    expect(messages.map((m) => m.Attributes?.SenderId)).toEqual([USER_ID, USER_ID]);
  });

  it('refuses a client-supplied SenderId with SQS InvalidParameterValue; AWSTraceHeader is accepted', async () => {
    const caller = clientAs(CALLER);
    const err = await failureOf(
      caller.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: 'spoofed',
          MessageSystemAttributes: {
            SenderId: { DataType: 'String', StringValue: `${ROLE_ID}:local` },
          } as unknown as SendMessageCommand['input']['MessageSystemAttributes'],
        }),
      ),
    );
    expect(err.name).toBe('InvalidParameterValue');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toBe("Message system attribute name 'SenderId' is invalid.");

    const sent = await caller.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'traced',
        MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe' } },
      }),
    );
    const message = await receive(sent.MessageId ?? '');
    expect(message.Attributes?.SenderId).toBe(USER_ID);
    expect(message.Attributes?.AWSTraceHeader).toBe('Root=1-5759e988-bd862e3fe');
  });

  it('refuses a bad signature with SignatureDoesNotMatch (403)', async () => {
    const err = await failureOf(
      clientAs({ accessKeyId: CALLER.accessKeyId, secretAccessKey: 'wrong' }).send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'forged' }),
      ),
    );
    expect(err.name).toBe('SignatureDoesNotMatch');
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.message).toMatch(/^The request signature we calculated does not match the signature you provided/);
  });

  it('refuses an unknown access key with InvalidClientTokenId (403)', async () => {
    const err = await failureOf(
      clientAs({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' }).send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'stranger' }),
      ),
    );
    expect(err.name).toBe('InvalidClientTokenId');
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.message).toBe('The security token included in the request is invalid.');
  });

  it('refuses an unsigned request with the JSON-protocol error shape', async () => {
    const res = await fetch(proxy.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AmazonSQS.SendMessage' },
      body: JSON.stringify({ QueueUrl: queueUrl, MessageBody: 'anonymous' }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-query-error')).toBe('MissingAuthenticationToken;Sender');
    expect(await res.json()).toEqual({
      __type: 'com.amazon.coral.service#MissingAuthenticationToken',
      message: 'Request is missing Authentication Token',
    });
  });

  it('observes only the requests that reach its own proxy', async () => {
    operations.length = 0;
    await clientAs(FUNCTION).send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'uncounted' }));
    await clientAs(FUNCTION, counted.url).send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'counted' }));
    expect(operations).toEqual(['SendMessage']);
  });
});

describe('SqsIdentity guard', () => {
  /** A request as node:http would hand it to the guard, signed by the SDK's signer. */
  async function signedRequest(principal: SqsPrincipal, target: string, body: string): Promise<IncomingMessage> {
    const signer = new SignatureV4({
      credentials: { accessKeyId: principal.accessKeyId, secretAccessKey: principal.secretAccessKey },
      region: REGION,
      service: 'sqs',
      sha256: Hash.bind(null, 'sha256'),
    });
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 9,
      path: '/',
      query: {},
      headers: {
        host: '127.0.0.1:9',
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `AmazonSQS.${target}`,
      },
      body,
    });
    const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
    return {
      method: 'POST',
      url: '/',
      headers,
      rawHeaders: Object.entries(headers).flat(),
    } as unknown as IncomingMessage;
  }

  it('holds a ReceiveMessage answer until the sends in flight are answered', async () => {
    const identity = new SqsIdentity({ region: REGION, principals: [FUNCTION, CALLER] });
    const admit = async (principal: SqsPrincipal, target: string): Promise<AwsProxyExchange> => {
      const body = '{}';
      const exchange = identity.admit(await signedRequest(principal, target, body), Buffer.from(body), target, '');
      if (!exchange || 'status' in exchange) throw new Error(`${target} was not followed`);
      return exchange;
    };
    const send = await admit(CALLER, 'SendMessage');
    const receive = await admit(FUNCTION, 'ReceiveMessage');
    const received = JSON.stringify({
      Messages: [{ MessageId: 'm-1', Body: 'x', Attributes: { SenderId: 'ABCDEFGHI1JKLMNOPQ23R' } }],
    });
    // local-aws-sqs stored the message and a poller got it before the SendMessage answer reached the proxy.
    let rewritten: string | undefined;
    const pending = receive.answered(200, Buffer.from(received)).then((b) => {
      rewritten = b.toString();
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rewritten).toBeUndefined();
    await send.answered(200, Buffer.from(JSON.stringify({ MessageId: 'm-1', MD5OfMessageBody: '' })));
    await pending;
    expect(JSON.parse(rewritten ?? '{}').Messages[0].Attributes.SenderId).toBe(USER_ID);
    expect(identity.senderOf('m-1')).toBe(USER_ID);
  });

  it('leaves the emulator constant on a message it never saw sent', async () => {
    const identity = new SqsIdentity({ region: REGION, principals: [FUNCTION] });
    const body = '{}';
    const exchange = identity.admit(
      await signedRequest(FUNCTION, 'ReceiveMessage', body),
      Buffer.from(body),
      'ReceiveMessage',
      '',
    );
    if (!exchange || 'status' in exchange) throw new Error('ReceiveMessage was not followed');
    const answer = await exchange.answered(
      200,
      Buffer.from(
        JSON.stringify({ Messages: [{ MessageId: 'unknown', Attributes: { SenderId: 'ABCDEFGHI1JKLMNOPQ23R' } }] }),
      ),
    );
    expect(JSON.parse(answer.toString()).Messages[0].Attributes.SenderId).toBe('ABCDEFGHI1JKLMNOPQ23R');
  });
});
