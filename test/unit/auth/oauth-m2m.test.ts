import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type ClientAuthStyle,
  type ConnectorClientCredentials,
  OAuthM2MAuth,
  type OAuthM2MOptions,
} from '../../../shared/auth/oauth-m2m.js';
import { SecretsManagerSecrets } from '../../../shared/auth/secrets-manager-secrets.js';
import { TokenCache } from '../../../shared/auth/token-cache.js';
import { AuthConfigError } from '../../../shared/errors.js';
import { InMemorySecrets, noSleep, oauthError, rejection, scriptedFetch, tokenResponse } from './fakes.js';

const HOST = 'https://dbc-1.cloud.databricks.com';
const NS_ID = 'aaaa1111-2222-3333-4444-555566667777';
const NS_SECRET = 'dose-namespace-secret-0001';
const ENV_ID = 'eeee1111-2222-3333-4444-555566660000';
const ENV_SECRET = 'dose-connector-secret-0002';
const SM_SECRET = 'dose-secrets-manager-secret-0003';
const ALL_SECRETS = [NS_SECRET, ENV_SECRET, SM_SECRET];

const sm = mockClient(SecretsManagerClient);
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

function setup(
  options: {
    namespaceSecret?: Record<string, string>;
    connector?: ConnectorClientCredentials;
    expectedClientId?: string;
    replies?: Parameters<typeof scriptedFetch>;
    authStyles?: Map<string, ClientAuthStyle>;
    tokenCache?: TokenCache;
    host?: string;
  } = {},
) {
  const secrets = new InMemorySecrets();
  if (options.namespaceSecret) secrets.set('team-a', 'databricks-oauth', options.namespaceSecret);
  const secretsManager = new SecretsManagerSecrets(new SecretsManagerClient({ region: 'us-east-1' }), {
    nameTemplate: 'flyte/{namespace}/{name}',
    cacheMs: 60_000,
  });
  const { fetch, requests } = scriptedFetch(...(options.replies ?? [tokenResponse('m2m-token')]));
  const authOptions: OAuthM2MOptions = {
    host: options.host ?? HOST,
    namespace: 'team-a',
    oauthSecretName: 'databricks-oauth',
    secrets,
    connector: { secretsManager, ...options.connector },
    expectedClientId: options.expectedClientId,
    tokenCache: options.tokenCache ?? new TokenCache(),
    authStyles: options.authStyles ?? new Map(),
    http: { fetch, ...noSleep },
  };
  return { auth: new OAuthM2MAuth(authOptions), secrets, requests, authOptions };
}

function expectNoSecrets(text: string) {
  for (const secret of ALL_SECRETS) expect(text).not.toContain(secret);
}

describe('Class: OAuthM2MAuth', () => {
  beforeEach(() => sm.reset());

  it('trades the namespace pair for a token: client_credentials, all-apis, HTTP Basic', async () => {
    const { auth, requests } = setup({ namespaceSecret: { client_id: NS_ID, client_secret: NS_SECRET } });
    await expect(auth.getBearerToken()).resolves.toBe('m2m-token');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      url: `${HOST}/oidc/v1/token`,
      method: 'POST',
      form: { grant_type: 'client_credentials', scope: 'all-apis' },
    });
    expect(requests[0]?.headers.authorization).toBe(basic(NS_ID, NS_SECRET));
    expect(requests[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('reuses the cached token under m2m|<host>|<resolved client_id>|<namespace>', async () => {
    const cache = new TokenCache();
    const { auth, requests } = setup({
      namespaceSecret: { client_id: NS_ID, client_secret: NS_SECRET },
      tokenCache: cache,
    });
    await auth.getBearerToken();
    await auth.getBearerToken();
    expect(requests).toHaveLength(1);
    expect(auth.cacheKey(NS_ID)).toBe(`m2m|${HOST}|${NS_ID}|team-a`);
    await expect(cache.get(`m2m|${HOST}|${NS_ID}|team-a`, () => Promise.reject(new Error('miss')))).resolves.toBe(
      'm2m-token',
    );
  });

  it('falls back to client_secret_post once on 401 invalid_client, and remembers it for the host', async () => {
    const authStyles = new Map<string, ClientAuthStyle>();
    const first = setup({
      namespaceSecret: { client_id: NS_ID, client_secret: NS_SECRET },
      authStyles,
      replies: [oauthError(401, 'invalid_client', 'Client authentication failed'), tokenResponse('post-token')],
    });
    await expect(first.auth.getBearerToken()).resolves.toBe('post-token');
    expect(first.requests).toHaveLength(2);
    expect(first.requests[0]?.headers.authorization).toBe(basic(NS_ID, NS_SECRET));
    expect(first.requests[1]?.headers.authorization).toBeUndefined();
    expect(first.requests[1]?.form).toEqual({
      grant_type: 'client_credentials',
      client_id: NS_ID,
      client_secret: NS_SECRET,
      scope: 'all-apis',
    });
    expect(authStyles.get(HOST)).toBe('post');

    // A later strategy (another poll, fresh token cache) for the same workspace goes straight to post.
    const second = setup({
      namespaceSecret: { client_id: NS_ID, client_secret: NS_SECRET },
      authStyles,
      replies: [tokenResponse('post-again')],
    });
    await expect(second.auth.getBearerToken()).resolves.toBe('post-again');
    expect(second.requests).toHaveLength(1);
    expect(second.requests[0]?.form.client_secret).toBe(NS_SECRET);

    // Another workspace still starts with Basic.
    const other = setup({
      host: 'https://dbc-2.cloud.databricks.com',
      namespaceSecret: { client_id: NS_ID, client_secret: NS_SECRET },
      authStyles,
    });
    await other.auth.getBearerToken();
    expect(other.requests[0]?.headers.authorization).toBe(basic(NS_ID, NS_SECRET));
  });

  it('does not fall back on other refusals, nor remember post when post fails too', async () => {
    const authStyles = new Map<string, ClientAuthStyle>();
    const denied = setup({
      namespaceSecret: { client_id: NS_ID, client_secret: NS_SECRET },
      authStyles,
      replies: [oauthError(400, 'invalid_scope', 'bad scope')],
    });
    await expect(denied.auth.getBearerToken()).rejects.toThrow(/invalid_scope/);
    expect(denied.requests).toHaveLength(1);

    const bothFail = setup({
      namespaceSecret: { client_id: NS_ID, client_secret: NS_SECRET },
      authStyles,
      replies: [oauthError(401, 'invalid_client', 'Client authentication failed')],
    });
    const error = await rejection(bothFail.auth.getBearerToken());
    expect(bothFail.requests).toHaveLength(2);
    expect(authStyles.size).toBe(0);
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toContain('invalid_client');
    expect(error.message).toContain("'aaaa...7777' from Secrets Manager secret 'flyte/team-a/databricks-oauth'");
    expectNoSecrets(error.message);
  });

  it.each([
    ['client_secret', { client_id: NS_ID }],
    ['client_id', { client_secret: NS_SECRET }],
  ])('refuses a namespace secret without %s, never completing it from the connector', async (missing, values) => {
    const { auth, requests } = setup({
      namespaceSecret: values,
      connector: { clientId: ENV_ID, clientSecret: ENV_SECRET },
    });
    const error = await rejection(auth.getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toContain("Secrets Manager secret 'flyte/team-a/databricks-oauth'");
    expect(error.message).toContain(`'${missing}'`);
    expect(requests).toHaveLength(0);
    expectNoSecrets(error.message);
  });

  it('prefers the namespace pair over the connector pair, whole', async () => {
    const { auth, requests } = setup({
      namespaceSecret: { client_id: NS_ID, client_secret: NS_SECRET },
      connector: { clientId: ENV_ID, clientSecret: ENV_SECRET },
    });
    await auth.getBearerToken();
    expect(requests[0]?.headers.authorization).toBe(basic(NS_ID, NS_SECRET));
  });

  it('never pairs a pinned client id with another source: a mismatch is an error', async () => {
    // The task pins the connector's principal, but the namespace holds its own pair: neither is mixed.
    const { auth, requests } = setup({
      namespaceSecret: { client_id: NS_ID, client_secret: NS_SECRET },
      connector: { clientId: ENV_ID, clientSecret: ENV_SECRET },
      expectedClientId: ENV_ID,
    });
    const error = await rejection(auth.getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toContain("pinned to client 'eeee...0000'");
    expect(error.message).toContain("holds client 'aaaa...7777'");
    expect(requests).toHaveLength(0);
    expectNoSecrets(error.message);
  });

  it('uses the connector pair (DATABRICKS_CLIENT_ID + DATABRICKS_CLIENT_SECRET) when the namespace has none', async () => {
    const { auth, requests } = setup({ connector: { clientId: ENV_ID, clientSecret: ENV_SECRET } });
    await auth.getBearerToken();
    expect(requests[0]?.headers.authorization).toBe(basic(ENV_ID, ENV_SECRET));
    expect(auth.describe()).toBe(
      "oauth_m2m (namespace 'team-a', client 'eeee...0000', connector DATABRICKS_CLIENT_ID + DATABRICKS_CLIENT_SECRET)",
    );
  });

  it.each([
    ['a JSON secret with client_secret', JSON.stringify({ client_secret: SM_SECRET })],
    ['a plain-string secret', SM_SECRET],
  ])('reads DATABRICKS_CLIENT_SECRET_SECRET_ID as %s', async (_label, secretString) => {
    sm.on(GetSecretValueCommand, { SecretId: 'connector/m2m' }).resolves({ SecretString: secretString });
    const { auth, requests } = setup({ connector: { clientId: ENV_ID, clientSecretSecretId: 'connector/m2m' } });
    await auth.getBearerToken();
    expect(requests[0]?.headers.authorization).toBe(basic(ENV_ID, SM_SECRET));
    expect(auth.describe()).toContain(
      "connector DATABRICKS_CLIENT_ID + Secrets Manager secret 'connector/m2m' (DATABRICKS_CLIENT_SECRET_SECRET_ID)",
    );
  });

  it('takes the client id from the connector secret when DATABRICKS_CLIENT_ID is unset, and refuses a mismatch', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'connector/m2m' }).resolves({
      SecretString: JSON.stringify({ client_id: ENV_ID, client_secret: SM_SECRET }),
    });
    const ok = setup({ connector: { clientSecretSecretId: 'connector/m2m' } });
    await ok.auth.getBearerToken();
    expect(ok.requests[0]?.headers.authorization).toBe(basic(ENV_ID, SM_SECRET));

    const mismatch = setup({ connector: { clientId: NS_ID, clientSecretSecretId: 'connector/m2m' } });
    const error = await rejection(mismatch.auth.getBearerToken());
    expect(error.message).toMatch(/DATABRICKS_CLIENT_ID \('aaaa\.\.\.7777'\) and the 'client_id' .* differ/);
    expectNoSecrets(error.message);
  });

  it.each([
    ['nothing is configured', {}, /DATABRICKS_CLIENT_ID is unset and neither DATABRICKS_CLIENT_SECRET/],
    ['only DATABRICKS_CLIENT_ID', { clientId: ENV_ID }, /DATABRICKS_CLIENT_ID is set and neither/],
    [
      'a secret without an id',
      { clientSecret: ENV_SECRET },
      /DATABRICKS_CLIENT_SECRET is set without DATABRICKS_CLIENT_ID/,
    ],
  ])('fails clearly when %s', async (_label, connector: ConnectorClientCredentials, message) => {
    const { auth, requests } = setup({ connector });
    const error = await rejection(auth.getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toMatch(message);
    expect(error.message).toContain("Secrets Manager secret 'flyte/team-a/databricks-oauth' does not exist");
    expect(requests).toHaveLength(0);
    expectNoSecrets(error.message);
  });

  it('fails clearly when the connector secret id does not exist', async () => {
    sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'nope', $metadata: {} }));
    const { auth } = setup({ connector: { clientId: ENV_ID, clientSecretSecretId: 'connector/missing' } });
    await expect(auth.getBearerToken()).rejects.toThrow(
      /'connector\/missing' \(DATABRICKS_CLIENT_SECRET_SECRET_ID\) does not exist/,
    );
  });

  it('invalidate() drops the token and the cached secrets', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'connector/m2m' })
      .resolvesOnce({ SecretString: 'dose-old-secret-0000' })
      .resolves({ SecretString: SM_SECRET });
    const { auth, requests, secrets } = setup({
      connector: { clientId: ENV_ID, clientSecretSecretId: 'connector/m2m' },
      replies: [tokenResponse('first'), tokenResponse('second')],
    });
    await expect(auth.getBearerToken()).resolves.toBe('first');
    await expect(auth.getBearerToken()).resolves.toBe('first');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    auth.invalidate();
    expect(secrets.invalidated).toEqual(['team-a/databricks-oauth']);
    await expect(auth.getBearerToken()).resolves.toBe('second');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(requests[1]?.headers.authorization).toBe(basic(ENV_ID, SM_SECRET));
  });

  it('describes itself with a masked client id and where the pair lives, never the secret', async () => {
    const { auth } = setup({
      namespaceSecret: { client_id: NS_ID, client_secret: NS_SECRET },
      expectedClientId: NS_ID,
    });
    expect(auth.describe()).toBe(
      "oauth_m2m (namespace 'team-a', client 'aaaa...7777', Secrets Manager secret 'flyte/team-a/databricks-oauth', " +
        "else the connector's DATABRICKS_CLIENT_ID)",
    );
    await auth.getBearerToken();
    expect(auth.describe()).toBe(
      "oauth_m2m (namespace 'team-a', client 'aaaa...7777', Secrets Manager secret 'flyte/team-a/databricks-oauth')",
    );
    const short = setup({ namespaceSecret: { client_id: 'short-id', client_secret: NS_SECRET } });
    await short.auth.getBearerToken();
    expect(short.auth.describe()).toContain("client 'short-id'");
    expectNoSecrets(auth.describe());
  });
});
