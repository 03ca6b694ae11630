import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JSONWebKeySet, type JWK, type JWTPayload, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type DatabricksWorkspace,
  type DatabricksWorkspaceOptions,
  startDatabricksWorkspace,
} from '../../../infra/local/emulators/databricks-workspace.js';

const T0 = 1_700_000_000_000;
const M2M_SP = '5b4b7a4e-0d1c-4c59-9d55-9a6a4e2b0c11';
const SECRET = 'dose-m2m-secret-0123456789';
const FED_SP = '0b9d7a6c-8d4f-4e1b-a3c2-6f7e8d9c0a1b';
const SUBJECT = 'system:serviceaccount:flyte:databricks-runner';
const INLINE_ISSUER = 'https://es256.issuer.test';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

type SigningKey = Parameters<SignJWT['sign']>[0];
/** Token endpoint bodies (success or OAuth error) and the discovery document. */
type JsonObject = { access_token: string; expires_in: number; error: string; error_description: string } & Record<
  string,
  unknown
>;
const json = async (res: Response): Promise<JsonObject> => (await res.json()) as JsonObject;
interface Signer {
  readonly jwk: JWK;
  sign(claims?: JWTPayload, options?: { alg?: string; key?: SigningKey }): Promise<string>;
}
interface TestIssuer extends Signer {
  readonly url: string;
  /** Paths the issuer served, in order. */
  readonly hits: string[];
  close(): Promise<void>;
}

let now = T0;
const nowSeconds = (): number => Math.floor(now / 1000);

/** A key pair whose JWTs default to iss, sub SUBJECT, aud `databricks`, one hour of life from the fake clock. */
async function makeSigner(alg: 'RS256' | 'ES256', issuer: () => string): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  const kid = `${alg}-key-1`;
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    jwk,
    sign: (claims = {}, options = {}) =>
      new SignJWT({
        iss: issuer(),
        sub: SUBJECT,
        aud: 'databricks',
        iat: nowSeconds(),
        exp: nowSeconds() + 3600,
        ...claims,
      })
        .setProtectedHeader({ alg: options.alg ?? alg, kid, typ: 'JWT' })
        .sign(options.key ?? privateKey),
  };
}

/** An OIDC issuer on 127.0.0.1 serving its discovery document and JWKS. */
async function startIssuer(alg: 'RS256' | 'ES256'): Promise<TestIssuer> {
  let url = '';
  const signer = await makeSigner(alg, () => url);
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer: url, jwks_uri: `${url}/keys` }
        : req.url === '/keys'
          ? { keys: [signer.jwk] }
          : undefined;
    res.writeHead(body ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...signer,
    url,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

const submitBody = {
  run_name: 'oauth run',
  tasks: [{ task_key: 'n', notebook_task: { notebook_path: '/Workspace/report' } }],
};

describe('Databricks workspace emulator: OAuth', () => {
  let ws: DatabricksWorkspace;
  let rsIssuer: TestIssuer;
  let strangerIssuer: TestIssuer;
  let esSigner: Signer;
  let esKeys: JSONWebKeySet;

  const start = async (options: DatabricksWorkspaceOptions = {}): Promise<void> => {
    await ws?.close();
    ws = await startDatabricksWorkspace({
      clock: () => now,
      accountId: 'acct-0001',
      pats: { 'dapi-alice': 'alice@example.com' },
      servicePrincipals: [
        { applicationId: M2M_SP, displayName: 'flyte-m2m', secrets: ['dose-old-secret', SECRET] },
        {
          applicationId: FED_SP,
          displayName: 'flyte-federated',
          federationPolicies: [
            { issuer: rsIssuer.url, audiences: ['databricks'], subject: SUBJECT },
            // No audiences: the account id is the default; inline keys: no discovery.
            { issuer: INLINE_ISSUER, subject: SUBJECT, jwksJson: esKeys },
          ],
        },
      ],
      ...options,
    });
  };

  const postToken = (form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${ws.url}/oidc/v1/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
  const m2m = (extra: Record<string, string> = {}, secret = SECRET): Promise<Response> =>
    postToken(
      { grant_type: 'client_credentials', scope: 'all-apis', ...extra },
      { Authorization: basic(M2M_SP, secret) },
    );
  const exchange = (subjectToken: string, extra: Record<string, string> = {}): Promise<Response> =>
    postToken({
      grant_type: TOKEN_EXCHANGE,
      subject_token_type: JWT_TYPE,
      subject_token: subjectToken,
      client_id: FED_SP,
      scope: 'all-apis',
      ...extra,
    });
  const accessTokenOf = async (res: Response): Promise<string> => {
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const submitWith = (token: string): Promise<Response> =>
    fetch(`${ws.url}/api/2.2/jobs/runs/submit`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(submitBody),
    });

  beforeAll(async () => {
    rsIssuer = await startIssuer('RS256');
    strangerIssuer = await startIssuer('RS256');
    esSigner = await makeSigner('ES256', () => INLINE_ISSUER);
    esKeys = { keys: [esSigner.jwk] };
  });
  afterAll(async () => {
    await rsIssuer.close();
    await strangerIssuer.close();
  });
  beforeEach(async () => {
    now = T0;
    rsIssuer.hits.length = 0;
    await start();
  });
  afterEach(async () => {
    await ws.close();
  });

  describe('discovery', () => {
    it('serves the workspace authorization-server metadata without authentication', async () => {
      const res = await fetch(`${ws.url}/oidc/.well-known/oauth-authorization-server`);
      const doc = await json(res);

      expect(res.status).toBe(200);
      expect(doc).toMatchObject({
        issuer: `${ws.url}/oidc`,
        authorization_endpoint: `${ws.url}/oidc/v1/authorize`,
        token_endpoint: `${ws.url}/oidc/v1/token`,
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      });
      expect(doc.scopes_supported).toContain('all-apis');
      expect(doc.grant_types_supported).toContain('client_credentials');
    });

    it('advertises only client_secret_post when Basic is rejected', async () => {
      await start({ rejectBasicAuth: true });
      const doc = await json(await fetch(`${ws.url}/oidc/.well-known/oauth-authorization-server`));

      expect(doc.token_endpoint_auth_methods_supported).toEqual(['client_secret_post']);
    });
  });

  describe('client_credentials (M2M)', () => {
    it('issues a Bearer token for HTTP Basic credentials, with no-store caching', async () => {
      const res = await m2m();
      const body = await json(res);

      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 3600,
        scope: 'all-apis',
      });
      expect(body.access_token.length).toBeGreaterThanOrEqual(32);
    });

    it('issues a token for form credentials (client_secret_post), with any of the SP secrets', async () => {
      const res = await postToken({
        grant_type: 'client_credentials',
        client_id: M2M_SP,
        client_secret: 'dose-old-secret',
        scope: 'all-apis',
      });

      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ token_type: 'Bearer', scope: 'all-apis' });
    });

    it('rejects Basic and form credentials at once with 400 invalid_request', async () => {
      const res = await m2m({ client_id: M2M_SP, client_secret: SECRET });

      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
      expect(ws.tokenRequests.at(-1)?.principal).toBeUndefined();
    });

    it('answers a wrong secret and an unknown client alike: 401 invalid_client', async () => {
      const wrongSecret = await m2m({}, 'dose-wrong');
      const unknown = await postToken({
        grant_type: 'client_credentials',
        client_id: 'no-such-sp',
        client_secret: SECRET,
        scope: 'all-apis',
      });
      const expected = { error: 'invalid_client', error_description: 'Client authentication failed' };

      expect(wrongSecret.status).toBe(401);
      expect(wrongSecret.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect(await wrongSecret.json()).toEqual(expected);
      expect(unknown.status).toBe(401);
      expect(await unknown.json()).toEqual(expected);
    });

    it('rejects a request without client credentials', async () => {
      const res = await postToken({ grant_type: 'client_credentials', client_id: M2M_SP, scope: 'all-apis' });

      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'invalid_client' });
    });

    it.each([
      ['a missing scope', { scope: '' }],
      ['another scope', { scope: 'sql' }],
      ['all-apis plus another scope', { scope: 'all-apis offline_access' }],
    ])('rejects %s with 400 invalid_scope', async (_name, extra) => {
      const res = await m2m(extra);

      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_scope' });
    });

    it('requires a form-encoded body', async () => {
      const res = await fetch(`${ws.url}/oidc/v1/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: basic(M2M_SP, SECRET) },
        body: JSON.stringify({ grant_type: 'client_credentials', scope: 'all-apis' }),
      });

      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    });

    it('answers an unknown grant with 400 unsupported_grant_type', async () => {
      const res = await m2m({ grant_type: 'password' });

      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'unsupported_grant_type' });
    });

    it('with rejectBasicAuth, refuses Basic (401) but accepts the same credentials in the form', async () => {
      await start({ rejectBasicAuth: true });
      const viaBasic = await m2m();
      const viaForm = await postToken({
        grant_type: 'client_credentials',
        client_id: M2M_SP,
        client_secret: SECRET,
        scope: 'all-apis',
      });

      expect(viaBasic.status).toBe(401);
      expect(await viaBasic.json()).toMatchObject({ error: 'invalid_client' });
      expect(viaForm.status).toBe(200);
    });

    it('serves service principals added at run time', async () => {
      ws.addServicePrincipal({ applicationId: 'late-sp', secrets: ['late-secret'] });
      const res = await postToken(
        { grant_type: 'client_credentials', scope: 'all-apis' },
        { Authorization: basic('late-sp', 'late-secret') },
      );

      expect(res.status).toBe(200);
    });
  });

  describe('OAuth tokens on the Jobs API', () => {
    it('accepts an issued token and attributes the run to the service principal', async () => {
      const token = await accessTokenOf(await m2m());
      const submitted = await submitWith(token);
      const { run_id: runId } = (await submitted.json()) as { run_id: number };
      const run = await fetch(`${ws.url}/api/2.1/jobs/runs/get?run_id=${runId}`, {
        headers: { Authorization: `Bearer ${token}` },
      });

      expect(submitted.status).toBe(200);
      expect(ws.runs()[0]?.principal).toBe(M2M_SP);
      expect((await json(run)).creator_user_name).toBe(M2M_SP);
    });

    it('attributes PAT runs to user:<owner>, `tokens` to the default owner', async () => {
      await start({ tokens: ['dapi-default'] });
      await submitWith('dapi-alice');
      await submitWith('dapi-default');

      expect(ws.runs().map((run) => run.principal)).toEqual(['user:alice@example.com', 'user:user@example.com']);
    });

    it('refuses the token once the fake clock passes its lifetime: 403 "Invalid access token."', async () => {
      await start({ oauthTokenTtlSeconds: 60 });
      const res = await m2m();
      const { access_token: token, expires_in: expiresIn } = await json(res);

      expect(expiresIn).toBe(60);
      now += 59_999;
      expect((await submitWith(token)).status).toBe(200);
      now += 1;
      const expired = await submitWith(token);
      expect(expired.status).toBe(403);
      expect(await expired.json()).toEqual({ error_code: 403, message: 'Invalid access token.' });
      expect((await submitWith(await accessTokenOf(await m2m()))).status).toBe(200);
    });

    it('revokeOAuthTokens invalidates issued tokens but not PATs', async () => {
      const token = await accessTokenOf(await m2m());
      ws.revokeOAuthTokens();

      expect((await submitWith(token)).status).toBe(403);
      expect((await submitWith('dapi-alice')).status).toBe(200);
      expect((await submitWith(await accessTokenOf(await m2m()))).status).toBe(200);
    });
  });

  describe('token exchange (workload identity federation)', () => {
    it('exchanges an RS256 JWT from a discovered issuer and caches its keys', async () => {
      const first = await exchange(await rsIssuer.sign());
      const body = await json(first);
      const second = await exchange(await rsIssuer.sign());

      expect(first.status).toBe(200);
      expect(body).toMatchObject({ token_type: 'Bearer', scope: 'all-apis', expires_in: 3600 });
      expect(second.status).toBe(200);
      expect(rsIssuer.hits).toEqual(['/.well-known/openid-configuration', '/keys']);
      expect((await submitWith(body.access_token)).status).toBe(200);
      expect(ws.runs()[0]?.principal).toBe(FED_SP);
    });

    it('exchanges an ES256 JWT against inline policy keys, audience defaulting to the account id', async () => {
      const res = await exchange(await esSigner.sign({ aud: ['other', 'acct-0001'] }));

      expect(res.status).toBe(200);
      expect(ws.tokenRequests.at(-1)).toEqual({
        grantType: TOKEN_EXCHANGE,
        clientId: FED_SP,
        principal: FED_SP,
        status: 200,
      });
    });

    it("caps the token's lifetime at the JWT's remaining life", async () => {
      const res = await exchange(await rsIssuer.sign({ exp: nowSeconds() + 300 }));
      const { access_token: token, expires_in: expiresIn } = await json(res);

      expect(expiresIn).toBe(300);
      now += 299_000;
      expect((await submitWith(token)).status).toBe(200);
      now += 1_000;
      expect((await submitWith(token)).status).toBe(403);
    });

    it.each<[string, () => Promise<string>]>([
      ['HS256', () => rsIssuer.sign({}, { alg: 'HS256', key: new TextEncoder().encode('x'.repeat(32)) })],
      ['ES384', async () => rsIssuer.sign({}, { alg: 'ES384', key: (await generateKeyPair('ES384')).privateKey })],
      [
        'none',
        async () => {
          const [, payload] = (await rsIssuer.sign()).split('.');
          return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
        },
      ],
      ['a token that is not a JWT', async () => 'not-a-jwt'],
    ])('rejects %s with 400 invalid_request', async (_name, token) => {
      const res = await exchange(await token());
      const body = await json(res);

      expect(res.status).toBe(400);
      expect(body.error).toBe('invalid_request');
      expect(ws.tokenRequests.at(-1)?.principal).toBeUndefined();
    });

    it.each<[string, () => Promise<string>, string]>([
      ['a wrong audience', () => rsIssuer.sign({ aud: 'someone-else' }), 'audience'],
      ['a wrong subject', () => rsIssuer.sign({ sub: 'system:serviceaccount:flyte:other' }), 'sub claim'],
      ['an issuer no policy trusts', () => strangerIssuer.sign(), 'no federation policy'],
      ['an expired JWT', () => rsIssuer.sign({ iat: nowSeconds() - 7200, exp: nowSeconds() - 1 }), 'expired'],
      ['a JWT not valid yet', () => rsIssuer.sign({ nbf: nowSeconds() + 600 }), 'not valid yet'],
      [
        'a signature by another key',
        async () => rsIssuer.sign({}, { key: (await generateKeyPair('RS256')).privateKey }),
        'signature',
      ],
      ['a JWT without exp', () => rsIssuer.sign({ exp: undefined }), 'exp'],
    ])('rejects %s with 401 invalid_client', async (_name, token, reason) => {
      const subjectToken = await token();
      const res = await exchange(subjectToken);
      const body = await json(res);

      expect(res.status).toBe(401);
      expect(body.error).toBe('invalid_client');
      expect(body.error_description).toContain(reason);
      expect(JSON.stringify(body)).not.toContain(subjectToken);
    });

    it('rejects an unknown client_id with 401 invalid_client', async () => {
      const res = await exchange(await rsIssuer.sign(), { client_id: 'no-such-sp' });

      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed' });
    });

    it.each([
      ['a wrong subject_token_type', { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 400],
      ['no client_id (account-wide federation)', { client_id: '' }, 400],
      ['a client secret', { client_secret: 'x' }, 400],
    ])('rejects %s', async (_name, extra, status) => {
      const res = await exchange(await rsIssuer.sign(), extra);

      expect(res.status).toBe(status);
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    });
  });

  describe('bookkeeping', () => {
    it('logs token requests without secrets or subject tokens', async () => {
      const jwt = await rsIssuer.sign();
      await m2m();
      await m2m({}, 'dose-wrong-secret');
      await exchange(jwt);
      await exchange(await rsIssuer.sign({ aud: 'nobody' }));

      expect(ws.tokenRequests).toEqual([
        { grantType: 'client_credentials', clientId: M2M_SP, principal: M2M_SP, status: 200 },
        { grantType: 'client_credentials', clientId: M2M_SP, status: 401 },
        { grantType: TOKEN_EXCHANGE, clientId: FED_SP, principal: FED_SP, status: 200 },
        { grantType: TOKEN_EXCHANGE, clientId: FED_SP, status: 401 },
      ]);
      const logged = JSON.stringify([ws.tokenRequests, ws.requests]);
      for (const secret of [SECRET, 'dose-wrong-secret', jwt, jwt.split('.')[2] as string]) {
        expect(logged).not.toContain(secret);
      }
    });

    it("'token' faults hit the token endpoint only; 'any' faults skip it", async () => {
      ws.injectFaults('token', [{ status: 503, body: { error: 'temporarily_unavailable' } }]);
      ws.injectFaults('any', [{ status: 502 }]);

      expect((await m2m()).status).toBe(503);
      const token = await accessTokenOf(await m2m());
      expect((await submitWith(token)).status).toBe(502);
      expect((await submitWith(token)).status).toBe(200);
    });

    it('answers unknown /oidc paths with 404 and does not ask for credentials there', async () => {
      const res = await fetch(`${ws.url}/oidc/v1/token`);

      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error_code: 'ENDPOINT_NOT_FOUND' });
    });
  });
});
