import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  type ListSecretsCommandInput,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SecretsManagerEmulator, startSecretsManager } from '../../../infra/local/emulators/secrets-manager.js';

const ARN = /^arn:aws:secretsmanager:us-east-1:123456789012:secret:(.+)-[A-Za-z0-9]{6}$/;

describe('Secrets Manager emulator', () => {
  let sm: SecretsManagerEmulator;
  let client: SecretsManagerClient;

  const clientWith = (accessKeyId: string, secretAccessKey: string, region = 'us-east-1'): SecretsManagerClient =>
    new SecretsManagerClient({
      endpoint: sm.url,
      region,
      credentials: { accessKeyId, secretAccessKey },
      maxAttempts: 1,
    });
  const raw = (headers: Record<string, string>): Promise<Response> =>
    fetch(sm.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', ...headers },
      body: JSON.stringify({ SecretId: 'x' }),
    });

  beforeAll(async () => {
    sm = await startSecretsManager();
    client = clientWith('test', 'test');
  });
  afterAll(async () => {
    client.destroy();
    await sm.close();
  });

  it('creates a secret and reads it back with the SDK', async () => {
    const created = await client.send(
      new CreateSecretCommand({ Name: 'flyte/databricks/pat', SecretString: 'dapi-1' }),
    );
    const got = await client.send(new GetSecretValueCommand({ SecretId: 'flyte/databricks/pat' }));

    expect(created.ARN).toMatch(ARN);
    expect(created.ARN?.match(ARN)?.[1]).toBe('flyte/databricks/pat');
    expect(created.Name).toBe('flyte/databricks/pat');
    expect(created.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(got).toMatchObject({
      ARN: created.ARN,
      Name: 'flyte/databricks/pat',
      VersionId: created.VersionId,
      SecretString: 'dapi-1',
      VersionStages: ['AWSCURRENT'],
    });
    expect(got.CreatedDate).toBeInstanceOf(Date);
    expect(Math.abs((got.CreatedDate as Date).getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('puts a new version: AWSCURRENT moves, the old one becomes AWSPREVIOUS; lookup by ARN works', async () => {
    const created = await client.send(new CreateSecretCommand({ Name: 'rotating', SecretString: 'v1' }));
    const put = await client.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: 'v2' }));
    const currentValue = await client.send(new GetSecretValueCommand({ SecretId: 'rotating' }));
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPREVIOUS' }),
    );

    expect(put.VersionId).not.toBe(created.VersionId);
    expect(put.VersionStages).toEqual(['AWSCURRENT']);
    expect(currentValue).toMatchObject({ SecretString: 'v2', VersionId: put.VersionId });
    expect(previous).toMatchObject({
      SecretString: 'v1',
      VersionId: created.VersionId,
      VersionStages: ['AWSPREVIOUS'],
    });
  });

  it('raises ResourceNotFoundException for an unknown secret', async () => {
    const failure = client.send(new GetSecretValueCommand({ SecretId: 'does-not-exist' }));

    await expect(failure).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(failure).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('raises ResourceExistsException when the name is taken', async () => {
    await client.send(new CreateSecretCommand({ Name: 'taken', SecretString: 'a' }));
    const failure = client.send(new CreateSecretCommand({ Name: 'taken', SecretString: 'b' }));

    await expect(failure).rejects.toBeInstanceOf(ResourceExistsException);
    await expect(failure).rejects.toMatchObject({ name: 'ResourceExistsException' });
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'taken' }))).SecretString).toBe('a');
  });

  it('force-deletes a secret, after which it is not found and the name is free', async () => {
    await client.send(new CreateSecretCommand({ Name: 'short-lived', SecretString: 'x' }));
    const deleted = await client.send(
      new DeleteSecretCommand({ SecretId: 'short-lived', ForceDeleteWithoutRecovery: true }),
    );

    expect(deleted.Name).toBe('short-lived');
    expect(deleted.DeletionDate).toBeInstanceOf(Date);
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'short-lived' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    const again = await client.send(new CreateSecretCommand({ Name: 'short-lived', SecretString: 'y' }));
    expect(again.ARN).toMatch(ARN);
  });

  it('a scheduled deletion makes the secret unusable but keeps the name taken', async () => {
    await client.send(new CreateSecretCommand({ Name: 'scheduled', SecretString: 'x' }));
    const deleted = await client.send(new DeleteSecretCommand({ SecretId: 'scheduled', RecoveryWindowInDays: 7 }));

    expect((deleted.DeletionDate as Date).getTime() - Date.now()).toBeGreaterThan(6 * 86_400_000);
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'scheduled' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
    await expect(client.send(new CreateSecretCommand({ Name: 'scheduled', SecretString: 'y' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
  });

  it('serves secrets seeded with putSecret', async () => {
    const seeded = sm.putSecret('seeded/token', '{"token":"dapi-seed"}');
    const got = await client.send(new GetSecretValueCommand({ SecretId: seeded.arn }));

    expect(got).toMatchObject({
      Name: 'seeded/token',
      VersionId: seeded.versionId,
      SecretString: '{"token":"dapi-seed"}',
    });
  });

  it('rejects a request without Authorization like AWS: 400 MissingAuthenticationTokenException', async () => {
    const res = await raw({ 'X-Amz-Target': 'secretsmanager.GetSecretValue' });

    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await res.json()).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
  });

  it('rejects a malformed Authorization header with IncompleteSignatureException', async () => {
    const res = await raw({ 'X-Amz-Target': 'secretsmanager.GetSecretValue', Authorization: 'Bearer abc' });

    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'IncompleteSignatureException' });
  });

  it('rejects a wrong secret key, an unknown access key and a wrong region through the SDK', async () => {
    const wrongSecret = clientWith('test', 'not-the-secret');
    const unknownKey = clientWith('AKIAUNKNOWN', 'test');
    const wrongRegion = clientWith('test', 'test', 'eu-west-1');

    await expect(wrongSecret.send(new GetSecretValueCommand({ SecretId: 'taken' }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
    await expect(unknownKey.send(new GetSecretValueCommand({ SecretId: 'taken' }))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
    await expect(wrongRegion.send(new GetSecretValueCommand({ SecretId: 'taken' }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
    for (const c of [wrongSecret, unknownKey, wrongRegion]) c.destroy();
  });

  it('answers an unknown operation with 400 UnknownOperationException', async () => {
    const other = await startSecretsManager({ credentials: 'any' });
    try {
      const res = await fetch(other.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': 'secretsmanager.RotateEverything',
          'X-Amz-Date': '20260101T000000Z',
          Authorization:
            'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, ' +
            `SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
        },
        body: '{}',
      });

      expect(res.status).toBe(400);
      expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
      expect(await res.json()).toEqual({ __type: 'UnknownOperationException' });
    } finally {
      await other.close();
    }
  });

  it('describes a secret: description, tags, versions by stage; DescribeSecret still answers once deletion is scheduled', async () => {
    const created = await client.send(
      new CreateSecretCommand({
        Name: 'described',
        SecretString: 'v1',
        Description: 'first',
        Tags: [{ Key: 'team', Value: 'a' }],
      }),
    );
    const updated = await client.send(
      new UpdateSecretCommand({ SecretId: 'described', SecretString: 'v2', Description: 'second' }),
    );
    await client.send(new TagResourceCommand({ SecretId: 'described', Tags: [{ Key: 'env', Value: 'dev' }] }));
    await client.send(new UntagResourceCommand({ SecretId: 'described', TagKeys: ['team'] }));
    const described = await client.send(new DescribeSecretCommand({ SecretId: 'described' }));

    expect(described).toMatchObject({
      Name: 'described',
      Description: 'second',
      Tags: [{ Key: 'env', Value: 'dev' }],
      VersionIdsToStages: {
        [created.VersionId as string]: ['AWSPREVIOUS'],
        [updated.VersionId as string]: ['AWSCURRENT'],
      },
    });
    expect(described.DeletedDate).toBeUndefined();
    expect(sm.inspect('described')).toMatchObject({ description: 'second', tags: { env: 'dev' } });

    await client.send(new DeleteSecretCommand({ SecretId: 'described' }));
    expect((await client.send(new DescribeSecretCommand({ SecretId: 'described' }))).DeletedDate).toBeInstanceOf(Date);
    await expect(
      client.send(new TagResourceCommand({ SecretId: 'described', Tags: [{ Key: 'x', Value: 'y' }] })),
    ).rejects.toMatchObject({ name: 'InvalidRequestException' });
    await client.send(new RestoreSecretCommand({ SecretId: 'described' }));
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'described' }))).SecretString).toBe('v2');
  });

  it('lists secrets: filters by name prefix and tag, pages, and leaves out scheduled deletions unless asked', async () => {
    const other = await startSecretsManager({ credentials: 'any' });
    const c = new SecretsManagerClient({
      endpoint: other.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    try {
      for (const name of ['team-a/one', 'team-a/two', 'team-b/one']) {
        await c.send(
          new CreateSecretCommand({ Name: name, SecretString: 'x', Tags: [{ Key: 'owner', Value: name.slice(0, 6) }] }),
        );
      }
      await c.send(new DeleteSecretCommand({ SecretId: 'team-a/two', RecoveryWindowInDays: 7 }));
      const names = async (input: ListSecretsCommandInput) =>
        ((await c.send(new ListSecretsCommand(input))).SecretList ?? []).map((s) => s.Name);

      expect(await names({})).toEqual(['team-a/one', 'team-b/one']);
      expect(await names({ IncludePlannedDeletion: true })).toEqual(['team-a/one', 'team-a/two', 'team-b/one']);
      expect(await names({ Filters: [{ Key: 'name', Values: ['team-a/'] }] })).toEqual(['team-a/one']);
      expect(await names({ Filters: [{ Key: 'tag-value', Values: ['team-b'] }] })).toEqual(['team-b/one']);
      expect(await names({ Filters: [{ Key: 'name', Values: ['!team-a'] }] })).toEqual(['team-b/one']);
      const first = await c.send(new ListSecretsCommand({ MaxResults: 1 }));
      const second = await c.send(new ListSecretsCommand({ MaxResults: 1, NextToken: first.NextToken }));
      expect([first.SecretList?.[0]?.Name, second.SecretList?.[0]?.Name, second.NextToken]).toEqual([
        'team-a/one',
        'team-b/one',
        undefined,
      ]);
      expect(other.requests.filter((r) => r.operation === 'ListSecrets')).toHaveLength(7);
    } finally {
      c.destroy();
      await other.close();
    }
  });

  it('refuses a recovery window with force-delete, and one outside 7-30 days', async () => {
    await client.send(new CreateSecretCommand({ Name: 'windowed', SecretString: 'x' }));
    await expect(
      client.send(
        new DeleteSecretCommand({ SecretId: 'windowed', RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      client.send(new DeleteSecretCommand({ SecretId: 'windowed', RecoveryWindowInDays: 3 })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
  });

  it('injects faults per operation and logs every request', async () => {
    sm.injectFaults('GetSecretValue', [{ status: 500 }]);
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'taken' }))).rejects.toMatchObject({
      name: 'InternalServiceError',
    });
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'taken' }))).SecretString).toBe('a');
    expect(sm.requests.slice(-2)).toEqual([
      { operation: 'GetSecretValue', status: 500, error: 'InternalServiceError' },
      { operation: 'GetSecretValue', status: 200 },
    ]);
  });
});
