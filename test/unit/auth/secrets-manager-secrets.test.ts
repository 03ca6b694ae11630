/** Namespace secrets in Secrets Manager, mocked at the SDK boundary: one read in flight per secret, cached briefly. */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerSecrets } from '../../../shared/auth/secrets-manager-secrets.js';
import { AuthConfigError } from '../../../shared/errors.js';

const sm = mockClient(SecretsManagerClient);

const secrets = (cacheMs: number) =>
  new SecretsManagerSecrets(new SecretsManagerClient({ region: 'us-east-1' }), {
    nameTemplate: 'flyte/{namespace}/{name}',
    cacheMs,
  });

describe('Class: SecretsManagerSecrets', () => {
  beforeEach(() => {
    sm.reset();
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"client_id":"id","client_secret":"s"}' });
  });

  it('shares one GetSecretValue between concurrent reads of a secret (a cold batch of ten records)', async () => {
    const source = secrets(60_000);
    const reads = await Promise.all(Array.from({ length: 10 }, () => source.read('team-a', 'databricks-oauth')));
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(new Set(reads.map((r) => JSON.stringify(r)))).toEqual(new Set(['{"client_id":"id","client_secret":"s"}']));
    await source.read('team-a', 'databricks-oauth');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('reads concurrently requested different secrets separately', async () => {
    const source = secrets(60_000);
    await Promise.all([source.read('team-a', 'databricks-oauth'), source.read('team-b', 'databricks-oauth')]);
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([
      'flyte/team-a/databricks-oauth',
      'flyte/team-b/databricks-oauth',
    ]);
  });

  it('reads afresh after invalidate, even while a read is in flight, and without caching when told not to', async () => {
    const source = secrets(60_000);
    const first = source.read('team-a', 'databricks-oauth');
    source.invalidate('team-a', 'databricks-oauth');
    await Promise.all([first, source.read('team-a', 'databricks-oauth')]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);

    const uncached = secrets(0);
    await uncached.read('team-a', 'databricks-oauth');
    await uncached.read('team-a', 'databricks-oauth');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(4);
  });

  it('does not keep a failed read: the next read tries again', async () => {
    const source = secrets(60_000);
    sm.on(GetSecretValueCommand)
      .rejectsOnce(new Error('throttled'))
      .resolves({ SecretString: '{"client_id":"id","client_secret":"s"}' });
    await expect(source.read('team-a', 'databricks-oauth')).rejects.toThrow('throttled');
    await expect(source.read('team-a', 'databricks-oauth')).resolves.toEqual({ client_id: 'id', client_secret: 's' });
  });

  it.each([
    ['a plain string', ' dapi-plain-secret-value '],
    ['a JSON array', '["dapi-plain-secret-value"]'],
    ['a JSON string', '"dapi-plain-secret-value"'],
    ['a binary secret (no SecretString)', undefined],
  ])('refuses %s as a namespace secret, naming the secret and never its content', async (_what, secretString) => {
    sm.on(GetSecretValueCommand).resolves(secretString === undefined ? {} : { SecretString: secretString });
    const error = await secrets(0)
      .read('team-a', 'databricks-token')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthConfigError);
    expect((error as Error).message).toContain(
      "Secrets Manager secret 'flyte/team-a/databricks-token' is not a JSON object",
    );
    expect((error as Error).message).not.toContain('dapi-plain-secret-value');
  });

  it("accepts a plain string for a connector secret read by id (the operator's own, taken as `token`)", async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'connector/pat' }).resolves({ SecretString: ' dapi-connector \n' });
    await expect(secrets(0).readById('connector/pat')).resolves.toEqual({ token: 'dapi-connector' });
  });
});
