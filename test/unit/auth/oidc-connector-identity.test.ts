import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetWebIdentityTokenCommand,
  OutboundWebIdentityFederationDisabledException,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  OidcConnectorIdentityAuth,
  readSubjectTokenFile,
  type SubjectTokenSource,
} from '../../../shared/auth/oidc-connector-identity.js';
import { TokenCache } from '../../../shared/auth/token-cache.js';
import { AuthConfigError, ConnectorError } from '../../../shared/errors.js';
import { fakeJwt, noSleep, oauthError, rejection, scriptedFetch, tokenResponse } from './fakes.js';

const HOST = 'https://dbc-1.cloud.databricks.com';
const CLIENT_ID = 'cccc1111-2222-3333-4444-555566669999';
const dir = mkdtempSync(join(tmpdir(), 'oidc-model1-'));
const sts = mockClient(STSClient);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function model1(subject: SubjectTokenSource, replies = [tokenResponse('db-token', 3600)], cache = new TokenCache()) {
  const { fetch, requests } = scriptedFetch(...replies);
  const auth = new OidcConnectorIdentityAuth({
    host: HOST,
    namespace: 'team-a',
    clientId: CLIENT_ID,
    subject,
    tokenCache: cache,
    http: { fetch, ...noSleep },
  });
  return { auth, requests };
}

function stsError<T extends STSServiceException>(
  Type: new (opts: { message: string; $metadata: object }) => T,
  message: string,
) {
  return new Type({ message, $metadata: { httpStatusCode: 403 } });
}

describe('Class: OidcConnectorIdentityAuth (file)', () => {
  it('exchanges the file JWT for the client id, and re-reads the file on every refresh', async () => {
    const path = join(dir, 'rotating-token');
    const first = fakeJwt('connector-1');
    const second = fakeJwt('connector-2');
    writeFileSync(path, `${first}\n`);
    const cache = new TokenCache();
    const { auth, requests } = model1({ kind: 'file', path }, [tokenResponse('db-1'), tokenResponse('db-2')], cache);

    await expect(auth.getBearerToken()).resolves.toBe('db-1');
    expect(requests[0]?.form).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: first,
      client_id: CLIENT_ID,
      scope: 'all-apis',
    });
    expect(requests[0]?.headers.authorization).toBeUndefined();
    expect(auth.cacheKey).toBe(`oidc1|${HOST}|${CLIENT_ID}|${path}`);

    writeFileSync(path, second); // kubelet rotated the projected token
    await expect(auth.getBearerToken()).resolves.toBe('db-1'); // cached: no read, no exchange
    expect(requests).toHaveLength(1);
    auth.invalidate();
    await expect(auth.getBearerToken()).resolves.toBe('db-2');
    expect(requests[1]?.form.subject_token).toBe(second);
  });

  it.each([
    [
      'missing',
      undefined,
      /'.*does-not-exist' does not exist: point task databricksOidcTokenFile, FLYTE_DATABRICKS_OIDC_TOKEN_FILE, AWS_WEB_IDENTITY_TOKEN_FILE/,
    ],
    ['empty', '  \n', /is empty/],
    ['not a JWT', 'AWS_SECRET_ACCESS_KEY=hunter2-very-secret', /does not hold a JWT/],
  ])('refuses a %s file before calling Databricks, without quoting it', async (label, content, message) => {
    const path = join(dir, label === 'missing' ? 'does-not-exist' : `token-${label.replace(/ /g, '-')}`);
    if (content !== undefined) writeFileSync(path, content);
    const { auth, requests } = model1({ kind: 'file', path });
    const error = await rejection(auth.getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('hunter2');
    expect(requests).toHaveLength(0);
  });

  it('names an unreadable file by its error code', async () => {
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    await expect(readSubjectTokenFile('/secret/token', () => Promise.reject(denied))).rejects.toThrow(
      /'\/secret\/token' cannot be read \(EACCES\)/,
    );
  });

  it('surfaces a refused exchange without the subject JWT', async () => {
    const path = join(dir, 'refused-token');
    const jwt = fakeJwt('connector');
    writeFileSync(path, jwt);
    const { auth } = model1({ kind: 'file', path }, [
      oauthError(400, 'invalid_request', `no federation policy matches token ${jwt}`),
    ]);
    const error = await rejection(auth.getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toContain('no federation policy matches token [REDACTED]');
    expect(error.message).not.toContain(jwt);
  });

  it('describes itself with a masked client id and the file', () => {
    const { auth } = model1({ kind: 'file', path: '/var/run/secrets/databricks/token' });
    expect(auth.describe()).toBe(
      "oidc_federation model 1 (namespace 'team-a', connector identity, client 'cccc...9999', " +
        "subject token file '/var/run/secrets/databricks/token')",
    );
  });
});

describe('Class: OidcConnectorIdentityAuth (STS)', () => {
  beforeEach(() => sts.reset());
  const client = () => new STSClient({ region: 'eu-west-1' });

  it('mints an RS256 JWT for the audience and duration, exchanges it, and asks again after invalidate()', async () => {
    sts
      .on(GetWebIdentityTokenCommand)
      .resolvesOnce({ WebIdentityToken: fakeJwt('role-1') })
      .resolves({ WebIdentityToken: fakeJwt('role-2') });
    const { auth, requests } = model1({ kind: 'sts', audience: 'databricks', durationSeconds: 900, sts: client }, [
      tokenResponse('db-1', 900),
      tokenResponse('db-2', 900),
    ]);
    await expect(auth.getBearerToken()).resolves.toBe('db-1');
    await expect(auth.getBearerToken()).resolves.toBe('db-1');
    expect(sts.commandCalls(GetWebIdentityTokenCommand)).toHaveLength(1);
    expect(sts.commandCalls(GetWebIdentityTokenCommand)[0]?.args[0].input).toEqual({
      Audience: ['databricks'],
      SigningAlgorithm: 'RS256',
      DurationSeconds: 900,
    });
    expect(requests[0]?.form.subject_token).toBe(fakeJwt('role-1'));
    expect(requests[0]?.form.client_id).toBe(CLIENT_ID);
    expect(auth.cacheKey).toBe(`oidc1|${HOST}|${CLIENT_ID}|sts:databricks`);
    auth.invalidate();
    await expect(auth.getBearerToken()).resolves.toBe('db-2');
    expect(requests[1]?.form.subject_token).toBe(fakeJwt('role-2'));
  });

  const throttled = new STSServiceException({
    name: 'Throttling',
    $fault: 'client',
    message: 'Rate exceeded',
    $metadata: { httpStatusCode: 400 },
  });
  const serverError = new STSServiceException({
    name: 'InternalFailure',
    $fault: 'server',
    message: 'oops',
    $metadata: { httpStatusCode: 500 },
  });
  const accessDenied = new STSServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    message: 'not authorized to perform sts:GetWebIdentityToken',
    $metadata: { httpStatusCode: 403 },
  });
  const validation = new STSServiceException({
    name: 'ValidationError',
    $fault: 'client',
    message: 'DurationSeconds out of range',
    $metadata: { httpStatusCode: 400 },
  });

  it.each([
    [
      'OutboundWebIdentityFederationDisabledException',
      stsError(OutboundWebIdentityFederationDisabledException, 'disabled'),
      true,
      /enable-outbound-web-identity-federation/,
    ],
    ['AccessDenied', accessDenied, true, /may not call sts:GetWebIdentityToken/],
    ['ValidationError', validation, true, /check FLYTE_DATABRICKS_OIDC_AUDIENCE and OIDC_STS_DURATION_SECONDS/],
    ['Throttling', throttled, false, /transiently with Throttling/],
    ['a 5xx', serverError, false, /transiently with InternalFailure/],
  ])('maps %s to %s', async (_label, error, permanent, message) => {
    sts.on(GetWebIdentityTokenCommand).rejects(error);
    const { auth, requests } = model1({ kind: 'sts', audience: 'databricks', durationSeconds: 300, sts: client });
    const thrown = await rejection(auth.getBearerToken());
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect(thrown instanceof AuthConfigError).toBe(permanent);
    expect((thrown as ConnectorError).permanent).toBe(permanent);
    expect(thrown.message).toMatch(message);
    expect(thrown.message).toContain("audience 'databricks', 300 s, RS256");
    expect(requests).toHaveLength(0);
  });

  it('treats an answer without a token as transient', async () => {
    sts.on(GetWebIdentityTokenCommand).resolves({});
    const { auth } = model1({ kind: 'sts', audience: 'databricks', durationSeconds: 300, sts: client });
    const error = await rejection(auth.getBearerToken());
    expect((error as ConnectorError).permanent).toBe(false);
  });

  it('describes itself with the STS audience', () => {
    const { auth } = model1({ kind: 'sts', audience: 'databricks', durationSeconds: 300, sts: client });
    expect(auth.describe()).toBe(
      "oidc_federation model 1 (namespace 'team-a', connector identity, client 'cccc...9999', " +
        "STS GetWebIdentityToken, audience 'databricks')",
    );
  });
});
