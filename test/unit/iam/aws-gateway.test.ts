import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeClusterCommand, EKSClient, AccessDeniedException as EksAccessDenied } from '@aws-sdk/client-eks';
import {
  GetSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import {
  GetCallerIdentityCommand,
  GetWebIdentityTokenCommand,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SecretsManagerEmulator, startSecretsManager } from '../../../infra/local/emulators/secrets-manager.js';
import { type StsEmulator, startSts } from '../../../infra/local/emulators/sts.js';
import { type AwsGateway, type AwsGatewayOptions, startAwsGateway } from '../../../infra/local/iam/aws-gateway.js';
import type { PolicyStatement } from '../../../infra/local/iam/iam-policy-evaluation.js';
import { type IamPrincipalInit, IamPrincipals } from '../../../infra/local/iam/iam-principals.js';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const TABLE = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/jobs`;
const SUBMIT = { accessKeyId: 'AKIASUBMIT0000000001', secretAccessKey: 'submit-secret' };
const SWEEP = { accessKeyId: 'AKIASWEEP00000000001', secretAccessKey: 'sweep-secret' };
const SESSION = (role: string, key: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${key}`;

const policy = (name: string, ...statements: PolicyStatement[]) => ({
  name,
  document: { Version: '2012-10-17', Statement: statements },
});

/** Shaped like the template's SubmitFunction role policies (resolved), with the OIDC and EKS grants switched on. */
const submitFunction: IamPrincipalInit = {
  name: 'SubmitFunction',
  ...SUBMIT,
  principalArn: `arn:aws:iam::${ACCOUNT}:role/submit-role`,
  uniqueId: 'AROASUBMITSUBMITSUBM',
  policies: [
    policy(
      'SubmitFunctionRoleDefaultPolicy',
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: TABLE },
      { Effect: 'Allow', Action: 'dynamodb:DescribeTable', Resource: TABLE },
    ),
    policy('SubmitFunctionSecretsRead', {
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:flyte/*`,
    }),
    policy('SubmitFunctionOidcStsToken', {
      Effect: 'Allow',
      Action: 'sts:GetWebIdentityToken',
      Resource: '*',
      Condition: {
        'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': 'databricks' },
        NumericLessThanEquals: { 'sts:DurationSeconds': 900 },
      },
    }),
    policy('SubmitFunctionEksDescribeCluster', {
      Effect: 'Allow',
      Action: 'eks:DescribeCluster',
      Resource: `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/local-eks`,
    }),
  ],
};
const sweepFunction: IamPrincipalInit = {
  name: 'SweepFunction',
  ...SWEEP,
  principalArn: `arn:aws:iam::${ACCOUNT}:role/sweep-role`,
  uniqueId: 'AROASWEEPSWEEPSWEEPS',
  policies: [
    policy('SweepFunctionRoleDefaultPolicy', { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: TABLE }),
  ],
};

async function failureOf<T>(call: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(type);
  return err as T;
}

describe('AWS gateway: IAM in front of the local emulators', () => {
  let principals: IamPrincipals;
  const gateways: AwsGateway[] = [];
  const closers: Array<() => Promise<void>> = [];
  let dynamoUrl: string;
  let secretsUrl: string;
  let stsUrl: string;
  let eksUrl: string;
  let secrets: SecretsManagerEmulator;
  let sts: StsEmulator;
  const secretArns = new Map<string, string>();

  const gateway = async (options: Omit<AwsGatewayOptions, 'region' | 'accountId' | 'principals'>) => {
    const started = await startAwsGateway({ ...options, region: REGION, accountId: ACCOUNT, principals });
    gateways.push(started);
    return started.url;
  };

  beforeAll(async () => {
    principals = new IamPrincipals({ accountId: ACCOUNT, principals: [submitFunction, sweepFunction] });

    const dynamo = dynalite({ createTableMs: 0 });
    await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => dynamo.close(() => resolve())));
    const dynaliteUrl = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
    const admin = new DynamoDBClient({ region: REGION, endpoint: dynaliteUrl, credentials: SUBMIT });
    for (const TableName of ['jobs', 'other']) {
      await admin.send(
        new CreateTableCommand({
          TableName,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    }
    admin.destroy();
    dynamoUrl = await gateway({ service: 'dynamodb', upstreamUrl: dynaliteUrl });

    secrets = await startSecretsManager({ region: REGION, accountId: ACCOUNT, credentials: 'any' });
    closers.push(() => secrets.close());
    for (const name of ['flyte/ns-a/databricks-token', 'other/databricks-token']) {
      secretArns.set(name, secrets.putSecret(name, 'dapi-secret').arn);
    }
    secretsUrl = await gateway({
      service: 'secretsmanager',
      upstreamUrl: secrets.url,
      secretArn: (id) => secretArns.get(id) ?? [...secretArns.values()].find((arn) => arn === id),
    });

    sts = await startSts({
      region: REGION,
      accountId: ACCOUNT,
      credentials: 'any',
      roleArnFor: (key) => (key === SUBMIT.accessKeyId ? submitFunction.principalArn : sweepFunction.principalArn),
    });
    closers.push(() => sts.close());
    stsUrl = await gateway({ service: 'sts', upstreamUrl: sts.url });

    // A stand-in for the EKS control plane: what matters here is what reaches it.
    const eks: Server = createServer((req, res) => {
      req.resume();
      const name = /^\/clusters\/([^/]+)$/.exec(req.url ?? '')?.[1];
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ cluster: { name, endpoint: 'https://127.0.0.1:1', status: 'ACTIVE' } }));
    });
    await new Promise<void>((resolve) => eks.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => eks.close(() => resolve())));
    eksUrl = await gateway({ service: 'eks', upstreamUrl: `http://127.0.0.1:${(eks.address() as AddressInfo).port}` });
  });
  afterAll(async () => {
    for (const g of gateways) await g.close();
    for (const close of closers.reverse()) await close();
  });

  describe('DynamoDB (dynalite)', () => {
    const client = (keys = SUBMIT) =>
      new DynamoDBClient({ region: REGION, endpoint: dynamoUrl, credentials: keys, maxAttempts: 1 });

    it('lets a granted call through and answers a denied one with AccessDeniedException', async () => {
      const submit = client();
      await submit.send(new PutItemCommand({ TableName: 'jobs', Item: { id: { S: 'j1' } } }));
      const { Item } = await submit.send(new GetItemCommand({ TableName: 'jobs', Key: { id: { S: 'j1' } } }));
      expect(Item?.id?.S).toBe('j1');
      const err = await failureOf(
        client(SWEEP).send(new PutItemCommand({ TableName: 'jobs', Item: { id: { S: 'j2' } } })),
        DynamoDBServiceException,
      );
      expect(err.name).toBe('AccessDeniedException');
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(err.message).toBe(
        `User: ${SESSION('sweep-role', SWEEP.accessKeyId)} is not authorized to perform: dynamodb:PutItem on ` +
          `resource: ${TABLE} because no identity-based policy allows the dynamodb:PutItem action`,
      );
    });

    it('needs BatchWriteItem on every table a batch names', async () => {
      const err = await failureOf(
        client().send(
          new BatchWriteItemCommand({
            RequestItems: {
              jobs: [{ PutRequest: { Item: { id: { S: 'b1' } } } }],
              other: [{ PutRequest: { Item: { id: { S: 'b2' } } } }],
            },
          }),
        ),
        DynamoDBServiceException,
      );
      expect(err.name).toBe('AccessDeniedException');
      expect(err.message).toContain('dynamodb:BatchWriteItem on resource');
    });

    it('refuses an unknown key with UnrecognizedClientException', async () => {
      const err = await failureOf(
        client({ accessKeyId: 'AKIANOBODY0000000001', secretAccessKey: 'x' }).send(
          new GetItemCommand({ TableName: 'jobs', Key: { id: { S: 'j1' } } }),
        ),
        DynamoDBServiceException,
      );
      expect(err.name).toBe('UnrecognizedClientException');
      expect(err.message).toBe('The security token included in the request is invalid.');
    });
  });

  describe('Secrets Manager', () => {
    const client = (keys = SUBMIT) =>
      new SecretsManagerClient({ region: REGION, endpoint: secretsUrl, credentials: keys, maxAttempts: 1 });

    it('allows secret:flyte/* by name and by ARN, and denies a secret outside the prefix', async () => {
      const byName = await client().send(new GetSecretValueCommand({ SecretId: 'flyte/ns-a/databricks-token' }));
      expect(byName.SecretString).toBe('dapi-secret');
      const arn = secretArns.get('flyte/ns-a/databricks-token') ?? '';
      expect((await client().send(new GetSecretValueCommand({ SecretId: arn }))).ARN).toBe(arn);
      const err = await failureOf(
        client().send(new GetSecretValueCommand({ SecretId: 'other/databricks-token' })),
        SecretsManagerServiceException,
      );
      expect(err.name).toBe('AccessDeniedException');
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(err.message).toBe(
        `User: ${SESSION('submit-role', SUBMIT.accessKeyId)} is not authorized to perform: ` +
          'secretsmanager:GetSecretValue on resource: other/databricks-token because no identity-based policy ' +
          'allows the secretsmanager:GetSecretValue action',
      );
    });
  });

  describe('STS', () => {
    const client = (keys = SUBMIT) =>
      new STSClient({ region: REGION, endpoint: stsUrl, credentials: keys, maxAttempts: 1 });

    it('needs no permission for GetCallerIdentity', async () => {
      const { Arn } = await client(SWEEP).send(new GetCallerIdentityCommand({}));
      expect(Arn).toBe(SESSION('sweep-role', SWEEP.accessKeyId));
    });

    it('checks sts:IdentityTokenAudience and sts:DurationSeconds of GetWebIdentityToken', async () => {
      const token = await client().send(
        new GetWebIdentityTokenCommand({ Audience: ['databricks'], SigningAlgorithm: 'RS256', DurationSeconds: 900 }),
      );
      expect(token.WebIdentityToken).toBeTruthy();
      for (const input of [
        { Audience: ['elsewhere'], SigningAlgorithm: 'RS256', DurationSeconds: 300 },
        { Audience: ['databricks'], SigningAlgorithm: 'RS256', DurationSeconds: 3600 },
      ]) {
        const err = await failureOf(client().send(new GetWebIdentityTokenCommand(input)), STSServiceException);
        expect(err.name).toBe('AccessDenied');
        expect(err.$metadata.httpStatusCode).toBe(403);
        expect(err.message).toBe(
          `User: ${SESSION('submit-role', SUBMIT.accessKeyId)} is not authorized to perform: ` +
            'sts:GetWebIdentityToken because no identity-based policy allows the sts:GetWebIdentityToken action',
        );
      }
    });

    it('refuses a bad signature with SignatureDoesNotMatch', async () => {
      const err = await failureOf(
        client({ ...SUBMIT, secretAccessKey: 'wrong' }).send(new GetCallerIdentityCommand({})),
        STSServiceException,
      );
      expect(err.name).toBe('SignatureDoesNotMatch');
      expect(err.$metadata.httpStatusCode).toBe(403);
    });

    it('serves the token issuer documents without a signature', async () => {
      const res = await fetch(`${stsUrl}/.well-known/openid-configuration`);
      expect(res.status).toBe(200);
    });
  });

  describe('EKS', () => {
    const client = (keys = SUBMIT) =>
      new EKSClient({ region: REGION, endpoint: eksUrl, credentials: keys, maxAttempts: 1 });

    it('allows DescribeCluster on the granted cluster and answers AccessDeniedException otherwise', async () => {
      const { cluster } = await client().send(new DescribeClusterCommand({ name: 'local-eks' }));
      expect(cluster?.name).toBe('local-eks');
      const err = await failureOf(
        client(SWEEP).send(new DescribeClusterCommand({ name: 'local-eks' })),
        EksAccessDenied,
      );
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(err.message).toBe(
        `User: ${SESSION('sweep-role', SWEEP.accessKeyId)} is not authorized to perform: eks:DescribeCluster on ` +
          `resource: arn:aws:eks:${REGION}:${ACCOUNT}:cluster/local-eks because no identity-based policy allows the ` +
          'eks:DescribeCluster action',
      );
    });
  });

  it('reports granted, used and unused grants and every denied call', () => {
    const report = principals.report();
    const submit = report.principals.SubmitFunction;
    expect(submit?.used).toContain(`dynamodb:GetItem on ${TABLE} (1 call)`);
    expect(submit?.used).toContain(
      `secretsmanager:GetSecretValue on ${secretArns.get('flyte/ns-a/databricks-token')} (2 calls)`,
    );
    expect(submit?.unused).toEqual([`dynamodb:DescribeTable on ${TABLE}`, `dynamodb:UpdateItem on ${TABLE}`]);
    expect(submit?.granted).toContain('sts:GetWebIdentityToken on * (conditional)');
    expect(report.principals.SweepFunction?.unused).toEqual([`dynamodb:GetItem on ${TABLE}`]);
    expect(report.deniedCalls.map((c) => `${c.principal} ${c.action}`)).toEqual([
      'SubmitFunction dynamodb:BatchWriteItem',
      'SubmitFunction secretsmanager:GetSecretValue',
      'SubmitFunction sts:GetWebIdentityToken',
      'SweepFunction dynamodb:PutItem',
      'SweepFunction eks:DescribeCluster',
    ]);
    expect(report.deniedCalls.find((c) => c.action === 'sts:GetWebIdentityToken')?.count).toBe(2);
  });
});
