import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { PatAuth, type PatAuthOptions } from '../../../shared/auth/pat.js';
import { buildAuth, selectAuthContext } from '../../../shared/auth/resolve-auth.js';
import { SecretsManagerSecrets } from '../../../shared/auth/secrets-manager-secrets.js';
import { AuthConfigError } from '../../../shared/errors.js';
import { testConfig } from '../../support/test-config.js';

const sm = mockClient(SecretsManagerClient);
const notFound = () =>
  new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} });

const secretsManager = (cacheMs = 60_000) =>
  new SecretsManagerSecrets(new SecretsManagerClient({ region: 'us-east-1' }), {
    nameTemplate: 'flyte/{namespace}/{name}',
    cacheMs,
  });

function pat(overrides: Partial<PatAuthOptions> & { fallbackSecretId?: string } = {}) {
  const { fallbackSecretId, ...rest } = overrides;
  const secrets = secretsManager();
  return new PatAuth({
    namespace: 'team-a',
    tokenSecretName: 'databricks-token',
    secrets,
    fallback: fallbackSecretId ? { secretId: fallbackSecretId, secretsManager: secrets } : undefined,
    ...rest,
  });
}

describe('Class: PatAuth', () => {
  beforeEach(() => sm.reset());

  it('reads the namespace secret through the name template, key token', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'flyte/team-a/databricks-token' }).resolves({
      SecretString: '{"token":"dapi-ns"}',
    });
    await expect(pat().getBearerToken()).resolves.toBe('dapi-ns');
  });

  it('refuses a plain-string namespace secret, without echoing it and without falling back', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'flyte/team-a/databricks-token' }).resolves({
      SecretString: ' dapi-plain-secret-value \n',
    });
    const error = await pat({ fallbackToken: 'dapi-env' })
      .getBearerToken()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthConfigError);
    expect((error as Error).message).toMatch(/'flyte\/team-a\/databricks-token' is not a JSON object/);
    expect((error as Error).message).not.toContain('dapi-plain-secret-value');
  });

  it('still accepts a plain-string connector secret (read by id) as the token', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'flyte/team-a/databricks-token' }).rejects(notFound());
    sm.on(GetSecretValueCommand, { SecretId: 'connector/pat' }).resolves({ SecretString: ' dapi-plain \n' });
    await expect(pat({ fallbackSecretId: 'connector/pat' }).getBearerToken()).resolves.toBe('dapi-plain');
  });

  it('uses the task secret name when given', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'flyte/team-a/custom' }).resolves({
      SecretString: '{"token":"dapi-custom"}',
    });
    await expect(pat({ tokenSecretName: 'custom' }).getBearerToken()).resolves.toBe('dapi-custom');
  });

  it('falls back to FLYTE_DATABRICKS_ACCESS_TOKEN, then to the connector secret id', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'flyte/team-a/databricks-token' }).rejects(notFound());
    sm.on(GetSecretValueCommand, { SecretId: 'connector/pat' }).resolves({ SecretString: '{"token":"dapi-conn"}' });
    await expect(pat({ fallbackToken: 'dapi-env' }).getBearerToken()).resolves.toBe('dapi-env');
    await expect(pat({ fallbackSecretId: 'connector/pat' }).getBearerToken()).resolves.toBe('dapi-conn');
  });

  it('fails naming every place it looked, and the namespace', async () => {
    sm.on(GetSecretValueCommand).rejects(notFound());
    const error = await pat({ fallbackSecretId: 'connector/pat' })
      .getBearerToken()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthConfigError);
    const message = (error as Error).message;
    expect(message).toContain("namespace 'team-a'");
    expect(message).toContain("'flyte/team-a/databricks-token'");
    expect(message).toContain('FLYTE_DATABRICKS_ACCESS_TOKEN');
    expect(message).toContain("'connector/pat' not found");
  });

  it('refuses a secret without a token key, without echoing its content', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"tok":"dapi-typo-secret"}' });
    const error = await pat()
      .getBearerToken()
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/no non-empty 'token' key/);
    expect((error as Error).message).not.toContain('dapi-typo-secret');
  });

  it('does not fall back silently when access is denied', async () => {
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    sm.on(GetSecretValueCommand).rejects(denied);
    await expect(pat({ fallbackToken: 'dapi-env' }).getBearerToken()).rejects.toThrow(/Not allowed to read/);
  });

  it('caches the secret until invalidate() (a 401 after rotation) drops it', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: '{"token":"old"}' })
      .resolves({ SecretString: '{"token":"new"}' });
    const auth = pat();
    await expect(auth.getBearerToken()).resolves.toBe('old');
    await expect(auth.getBearerToken()).resolves.toBe('old');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    auth.invalidate();
    await expect(auth.getBearerToken()).resolves.toBe('new');
  });

  it('describes itself without the token', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"token":"dapi-secret-value"}' });
    const auth = pat();
    await auth.getBearerToken();
    expect(auth.describe()).toBe("pat (namespace 'team-a', Secrets Manager secret 'flyte/team-a/databricks-token')");
    expect(auth.describe()).not.toContain('dapi-secret-value');
  });
});

describe('Function: selectAuthContext() / buildAuth()', () => {
  beforeEach(() => sm.reset());

  it('stores where the PAT lives, never the PAT, and rebuilds the strategy from it', async () => {
    sm.on(GetSecretValueCommand).rejects(notFound());
    const secrets = new SecretsManagerSecrets(new SecretsManagerClient({ region: 'us-east-1' }), {
      nameTemplate: 's/{namespace}/{name}',
      cacheMs: 0,
    });
    const context = await selectAuthContext(
      'team-a',
      { databricksConf: {}, databricksTokenSecret: 'x' },
      {
        config: testConfig({ FLYTE_DATABRICKS_AUTH_TYPE: 'pat' }),
        secrets,
        secretSource: 'secrets-manager',
        discovery: async () => undefined,
      },
    );
    expect(context).toEqual({
      authType: 'pat',
      mode: 'pat',
      namespace: 'team-a',
      tokenSecretName: 'x',
      reason: 'FLYTE_DATABRICKS_AUTH_TYPE=pat',
      secretSource: 'secrets-manager',
    });
    const auth = buildAuth(context, 'https://dbc-1.cloud.databricks.com', {
      config: testConfig({
        FLYTE_DATABRICKS_ACCESS_TOKEN: undefined,
        FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID: undefined,
      }),
      secrets,
      secretsManager: secrets,
      kubernetes: async () => undefined,
      sts: () => {
        throw new Error('PAT never needs STS');
      },
    });
    expect(auth.authType).toBe('pat');
    expect(auth.describe()).toContain("'s/team-a/x'");
    await expect(auth.getBearerToken()).rejects.toThrow(AuthConfigError);
  });
});
