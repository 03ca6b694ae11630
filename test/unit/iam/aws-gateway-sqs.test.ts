import type { Server } from 'node:http';
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
import { createSqsServer } from 'local-aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsGateway, startAwsGateway } from '../../../infra/local/iam/aws-gateway.js';
import type { PolicyDocument } from '../../../infra/local/iam/iam-policy-evaluation.js';
import { IamPrincipals } from '../../../infra/local/iam/iam-principals.js';
import { SqsSenderIds } from '../../../infra/local/iam/sqs-sender-ids.js';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const ROLE_ID = 'AROAQWERTYUIOPASDFGHJ';
const USER_ID = 'AIDAZXCVBNMLKJHGFDSA2';
const ALL_QUEUES = `arn:aws:sqs:${REGION}:${ACCOUNT}:*`;
const PRODUCERS_ONLY = `arn:aws:sqs:${REGION}:${ACCOUNT}:producers-only`;
const FUNCTION = { accessKeyId: 'local', secretAccessKey: 'local' };
const CALLER = { accessKeyId: 'AKIACALLERKEY0000001', secretAccessKey: 'caller-secret' };
const STRANGER = { accessKeyId: 'AKIASTRANGER00000001', secretAccessKey: 'stranger-secret' };

const allow = (actions: string[], resource: string) => ({
  name: 'Inline',
  document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow' as const, Action: actions, Resource: resource }] },
});

/** The template's work-queue policy (infra/constructs/job-queue.ts): TLS only, and only the named producers send. */
const queuePolicy = (queueArn: string, producers: string[]): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Deny' as const,
      Principal: { AWS: '*' },
      Action: 'sqs:*',
      Resource: queueArn,
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
    {
      Sid: 'OnlyNamedProducersSend',
      Effect: 'Deny' as const,
      Principal: { AWS: '*' },
      Action: 'sqs:SendMessage',
      Resource: queueArn,
      Condition: { StringNotLike: { 'aws:userid': producers } },
    },
  ],
});

describe('AWS gateway in front of local-aws-sqs', () => {
  let server: Server;
  let principals: IamPrincipals;
  let senderIds: SqsSenderIds;
  let gateway: AwsGateway;
  let counted: AwsGateway;
  const operations: string[] = [];
  const clients: SQSClient[] = [];
  let queueUrl: string;
  let producersOnlyUrl: string;

  const clientAs = (keys: { accessKeyId: string; secretAccessKey: string }, endpoint = gateway.url): SQSClient => {
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
    const serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    principals = new IamPrincipals({
      accountId: ACCOUNT,
      principals: [
        {
          name: 'SubmitFunction',
          ...FUNCTION,
          principalArn: `arn:aws:iam::${ACCOUNT}:role/submit`,
          uniqueId: ROLE_ID,
          policies: [allow(['sqs:*'], ALL_QUEUES)],
        },
        {
          name: 'LocalCaller',
          ...CALLER,
          principalArn: `arn:aws:iam::${ACCOUNT}:user/caller`,
          uniqueId: USER_ID,
          policies: [allow(['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:GetQueueUrl'], ALL_QUEUES)],
        },
        {
          name: 'Stranger',
          ...STRANGER,
          principalArn: `arn:aws:iam::${ACCOUNT}:role/stranger`,
          uniqueId: 'AROASTRANGERSTRANGER1',
          policies: [],
        },
      ],
      resourcePolicies: { [PRODUCERS_ONLY]: queuePolicy(PRODUCERS_ONLY, [`${ROLE_ID}:*`]) },
    });
    senderIds = new SqsSenderIds();
    const common = { service: 'sqs' as const, upstreamUrl: serverUrl, region: REGION, accountId: ACCOUNT, principals };
    gateway = await startAwsGateway({ ...common, sqsSenderIds: senderIds });
    counted = await startAwsGateway({ ...common, sqsSenderIds: senderIds, observe: (op) => operations.push(op) });
    const fn = clientAs(FUNCTION);
    queueUrl = (await fn.send(new CreateQueueCommand({ QueueName: 'identity-test' }))).QueueUrl ?? '';
    producersOnlyUrl = (await fn.send(new CreateQueueCommand({ QueueName: 'producers-only' }))).QueueUrl ?? '';
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await gateway.close();
    await counted.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers queue URLs that name the gateway, not local-aws-sqs', async () => {
    expect(new URL(queueUrl).origin).toBe(gateway.url);
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
    expect(senderIds.senderOf(sent.MessageId ?? '')).toBe(USER_ID);
  });

  it('stamps a message sent with the function key with <role id>:<session>, through any gateway', async () => {
    const sent = await clientAs(FUNCTION).send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'from fn' }));
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

  it('refuses a client-supplied SenderId with SQS InvalidParameterValue', async () => {
    const err = await failureOf(
      clientAs(CALLER).send(
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
    expect(err.message).toBe("Message system attribute name 'SenderId' is invalid.");
  });

  it('refuses a bad signature with SignatureDoesNotMatch (403) and an unknown key with InvalidClientTokenId', async () => {
    const bad = await failureOf(
      clientAs({ ...CALLER, secretAccessKey: 'wrong' }).send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'forged' }),
      ),
    );
    expect(bad.name).toBe('SignatureDoesNotMatch');
    expect(bad.$metadata.httpStatusCode).toBe(403);
    expect(bad.message).toMatch(/^The request signature we calculated does not match the signature you provided/);
    const unknown = await failureOf(
      clientAs({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' }).send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'stranger' }),
      ),
    );
    expect(unknown.name).toBe('InvalidClientTokenId');
    expect(unknown.$metadata.httpStatusCode).toBe(403);
    expect(unknown.message).toBe('The security token included in the request is invalid.');
  });

  it('refuses an unsigned request with the JSON-protocol error shape', async () => {
    const res = await fetch(gateway.url, {
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

  it('denies a principal whose identity policies do not allow the call, in SQS words', async () => {
    const err = await failureOf(
      clientAs(STRANGER).send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'not mine' })),
    );
    expect(err.name).toBe('AccessDenied');
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/stranger/${STRANGER.accessKeyId} is not authorized to perform: ` +
        `sqs:sendmessage on resource: arn:aws:sqs:${REGION}:${ACCOUNT}:identity-test because no identity-based ` +
        'policy allows the sqs:sendmessage action',
    );
  });

  it('denies a sender the queue policy does not name (aws:userid), whatever its identity policies allow', async () => {
    const err = await failureOf(
      clientAs(CALLER).send(new SendMessageCommand({ QueueUrl: producersOnlyUrl, MessageBody: 'not a producer' })),
    );
    expect(err.name).toBe('AccessDenied');
    expect(err.message).toBe(
      `User: arn:aws:iam::${ACCOUNT}:user/caller is not authorized to perform: sqs:sendmessage on resource: ` +
        `${PRODUCERS_ONLY} with an explicit deny in a resource-based policy`,
    );
    // A session of the named producer role may send.
    await clientAs(FUNCTION).send(new SendMessageCommand({ QueueUrl: producersOnlyUrl, MessageBody: 'producer' }));
  });

  it('observes only the requests that reach its own gateway, refused ones included', async () => {
    operations.length = 0;
    await clientAs(FUNCTION).send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'uncounted' }));
    await clientAs(FUNCTION, counted.url).send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'counted' }));
    await failureOf(
      clientAs(STRANGER, counted.url).send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'refused' })),
    );
    expect(operations).toEqual(['SendMessage', 'SendMessage']);
  });
});

describe('SqsSenderIds', () => {
  it('holds a ReceiveMessage answer until the sends in flight are answered', async () => {
    const ids = new SqsSenderIds();
    const send = ids.follow('SendMessage', USER_ID, '');
    const receive = ids.follow('ReceiveMessage', `${ROLE_ID}:local`, '');
    if (!send || !receive) throw new Error('not followed');
    const received = JSON.stringify({
      Messages: [{ MessageId: 'm-1', Body: 'x', Attributes: { SenderId: 'ABCDEFGHI1JKLMNOPQ23R' } }],
    });
    let rewritten: string | undefined;
    const pending = receive.answered(200, Buffer.from(received)).then((b) => {
      rewritten = b.toString();
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rewritten).toBeUndefined();
    await send.answered(200, Buffer.from(JSON.stringify({ MessageId: 'm-1', MD5OfMessageBody: '' })));
    await pending;
    expect(JSON.parse(rewritten ?? '{}').Messages[0].Attributes.SenderId).toBe(USER_ID);
    expect(ids.senderOf('m-1')).toBe(USER_ID);
  });

  it('leaves the emulator constant on a message it never saw sent', async () => {
    const receive = new SqsSenderIds().follow('ReceiveMessage', `${ROLE_ID}:local`, '');
    const answer = await receive?.answered(
      200,
      Buffer.from(
        JSON.stringify({ Messages: [{ MessageId: 'unknown', Attributes: { SenderId: 'ABCDEFGHI1JKLMNOPQ23R' } }] }),
      ),
    );
    expect(JSON.parse(answer?.toString() ?? '{}').Messages[0].Attributes.SenderId).toBe('ABCDEFGHI1JKLMNOPQ23R');
  });
});
