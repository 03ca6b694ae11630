import { describe, expect, it } from 'vitest';
import {
  requestToken,
  TOKEN_ENDPOINT_RETRY_POLICY,
  TokenEndpointError,
  tokenEndpointUrl,
} from '../../../shared/auth/token-endpoint.js';
import { exchangeToken, tokenExchangeForm } from '../../../shared/auth/token-exchange.js';
import { AuthConfigError, ConnectorError } from '../../../shared/errors.js';
import { fakeJwt, json, networkError, noSleep, oauthError, rejection, scriptedFetch, tokenResponse } from './fakes.js';

const HOST = 'https://dbc-1.cloud.databricks.com';
const SECRET = 'dose-super-secret-value-123';
const FORM = { grant_type: 'client_credentials', client_id: 'sp-id', client_secret: SECRET, scope: 'all-apis' };

describe('Function: tokenEndpointUrl()', () => {
  it.each([
    ['dbc-1.cloud.databricks.com', 'https://dbc-1.cloud.databricks.com/oidc/v1/token'],
    ['https://dbc-1.cloud.databricks.com/', 'https://dbc-1.cloud.databricks.com/oidc/v1/token'],
    ['https://dbc-1.cloud.databricks.com/?o=123', 'https://dbc-1.cloud.databricks.com/oidc/v1/token'],
    ['http://127.0.0.1:8123', 'http://127.0.0.1:8123/oidc/v1/token'],
  ])('%s -> %s', (host, url) => {
    expect(tokenEndpointUrl(host)).toBe(url);
  });

  it('refuses a scheme other than http(s)', () => {
    expect(() => tokenEndpointUrl('ftp://x')).toThrow(AuthConfigError);
  });
});

describe('Function: requestToken()', () => {
  it('POSTs the form, url-encoded, with JSON accepted, no redirects and a timeout', async () => {
    const { fetch, requests } = scriptedFetch(tokenResponse('tok-1', 1800));
    const result = await requestToken({ host: HOST, form: FORM, fetch, ...noSleep });
    expect(result).toEqual({ accessToken: 'tok-1', expiresInSeconds: 1800 });
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request).toMatchObject({
      url: `${HOST}/oidc/v1/token`,
      method: 'POST',
      redirect: 'manual',
      hasSignal: true,
      form: FORM,
    });
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.headers.authorization).toBeUndefined();
  });

  it('sends HTTP Basic credentials (RFC 6749 form-encoded, base64) when asked', async () => {
    const { fetch, requests } = scriptedFetch(tokenResponse('tok'));
    await requestToken({
      host: HOST,
      form: { grant_type: 'client_credentials', scope: 'all-apis' },
      basicAuth: { username: 'sp-id', password: 'a b:c' },
      fetch,
    });
    expect(requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('sp-id:a+b%3Ac').toString('base64')}`);
    expect(requests[0]?.form).toEqual({ grant_type: 'client_credentials', scope: 'all-apis' });
  });

  it.each([
    ['absent', undefined, 3600],
    ['a number', 120, 120],
    ['a numeric string', '900', 900],
    ['nonsense', 'soon', 3600],
  ])('takes expires_in when %s', async (_label, expiresIn, expected) => {
    const { fetch } = scriptedFetch(json(200, { access_token: 't', expires_in: expiresIn }));
    await expect(requestToken({ host: HOST, form: FORM, fetch })).resolves.toEqual({
      accessToken: 't',
      expiresInSeconds: expected,
    });
  });

  it.each([
    ['429 with Retry-After', json(429, { error: 'slow_down' }, { 'retry-after': '3' })],
    ['500', oauthError(500, 'server_error', 'boom')],
    ['502', new Response('bad gateway', { status: 502 })],
    ['503', oauthError(503, 'temporarily_unavailable', 'later')],
    ['a network error', networkError()],
  ])('retries %s, then succeeds', async (_label, failure) => {
    const { fetch, requests } = scriptedFetch(failure, tokenResponse('after-retry'));
    const sleeps: number[] = [];
    const result = await requestToken({
      host: HOST,
      form: FORM,
      fetch,
      random: () => 0,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    expect(result.accessToken).toBe('after-retry');
    expect(requests).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it('honours Retry-After as the delay floor', async () => {
    const { fetch } = scriptedFetch(json(429, {}, { 'retry-after': '3' }), tokenResponse('t'));
    const sleeps: number[] = [];
    await requestToken({ host: HOST, form: FORM, fetch, random: () => 0, sleep: async (ms) => void sleeps.push(ms) });
    expect(sleeps).toEqual([3000]);
  });

  it('gives up after the bounded attempts with a transient error that names the last failure', async () => {
    const { fetch, requests } = scriptedFetch(oauthError(503, 'temporarily_unavailable', 'try later'));
    const error = await rejection(
      requestToken({ host: HOST, form: FORM, fetch, ...noSleep, retry: { maxAttempts: 3 } }),
    );
    expect(requests).toHaveLength(3);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).not.toBeInstanceOf(AuthConfigError);
    expect((error as ConnectorError).permanent).toBe(false);
    expect(error.message).toContain('failed after 3 attempts');
    expect(error.message).toContain('HTTP 503 temporarily_unavailable: try later');
  });

  it('gives up after 4 attempts by default (TOKEN_ENDPOINT_RETRY_POLICY), each with its own timeout signal', async () => {
    const signals: AbortSignal[] = [];
    const { fetch: scripted, requests } = scriptedFetch(oauthError(503, 'temporarily_unavailable', 'later'));
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      if (init?.signal) signals.push(init.signal);
      return scripted(input, init);
    }) as typeof globalThis.fetch;
    const error = await rejection(requestToken({ host: HOST, form: FORM, fetch, ...noSleep }));
    expect(TOKEN_ENDPOINT_RETRY_POLICY).toMatchObject({ maxAttempts: 4, requestTimeoutMs: 15_000 });
    expect(requests).toHaveLength(4);
    expect(new Set(signals).size).toBe(4);
    expect(error.message).toContain('failed after 4 attempts: HTTP 503 temporarily_unavailable: later');
  });

  it('retries by status only: the Jobs API message and error_code rows do not apply to OAuth errors', async () => {
    for (const body of [
      { error: 'invalid_request', error_description: 'Unexpected error' },
      { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' },
    ]) {
      const { fetch, requests } = scriptedFetch(json(400, body));
      const error = await rejection(requestToken({ host: HOST, form: FORM, fetch, ...noSleep }));
      expect(error).toBeInstanceOf(TokenEndpointError);
      expect(requests).toHaveLength(1);
    }
  });

  it.each([
    [400, 'invalid_request', 'Invalid grant type'],
    [401, 'invalid_client', 'Client authentication failed'],
    [403, 'access_denied', 'Not allowed'],
  ])('fails fast on %i with the OAuth error and description', async (status, code, description) => {
    const { fetch, requests } = scriptedFetch(oauthError(status, code, description));
    const error = await rejection(requestToken({ host: HOST, form: FORM, fetch, ...noSleep }));
    expect(requests).toHaveLength(1);
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error).toMatchObject({ status, oauthError: code, permanent: true });
    expect(error.message).toContain(`HTTP ${status} ${code}: ${description}`);
    expect(error.message).not.toContain(SECRET);
  });

  it('never echoes the secret, the Basic header or the subject JWT a server sends back', async () => {
    const jwt = fakeJwt('system:serviceaccount:ns:sa');
    const basic = Buffer.from(`sp-id:${SECRET}`).toString('base64');
    const { fetch } = scriptedFetch(
      oauthError(400, 'invalid_request', `bad subject_token=${jwt} secret=${SECRET} header=Basic ${basic}`),
    );
    const error = await rejection(
      requestToken({
        host: HOST,
        form: { ...tokenExchangeForm(jwt, 'sp-id'), client_secret: SECRET },
        basicAuth: { username: 'sp-id', password: SECRET },
        fetch,
      }),
    );
    expect(error.message).toContain('[REDACTED]');
    for (const secret of [jwt, SECRET, basic, jwt.split('.')[1] ?? 'x']) expect(error.message).not.toContain(secret);
  });

  it('never echoes an HTML error page, only its size', async () => {
    const page = '<html><body><h1>Internal metadata service</h1><p>ami-id: ami-0abc instance-id</p></body></html>';
    const { fetch } = scriptedFetch(new Response(page, { status: 400, headers: { 'content-type': 'text/html' } }));
    const error = await rejection(requestToken({ host: HOST, form: FORM, fetch, ...noSleep }));
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error).toMatchObject({ status: 400, oauthError: undefined });
    expect(error.message).toContain(`HTTP 400: (non-JSON error body, ${Buffer.byteLength(page)} bytes)`);
    for (const quoted of ['<html', 'metadata', 'ami-']) expect(error.message).not.toContain(quoted);
  });

  it('takes only error and error_description from a JSON body with other fields', async () => {
    const { fetch } = scriptedFetch(
      json(401, {
        error: 'invalid_client',
        error_description: 'Client authentication failed',
        debug: { upstream: 'http://10.0.0.7:8080/internal', trace: 'stack at foo()' },
      }),
    );
    const error = await rejection(requestToken({ host: HOST, form: FORM, fetch, ...noSleep }));
    expect(error).toMatchObject({ status: 401, oauthError: 'invalid_client' });
    expect(error.message).toMatch(/\(HTTP 401 invalid_client: Client authentication failed\)$/);
    for (const quoted of ['10.0.0.7', 'internal', 'stack']) expect(error.message).not.toContain(quoted);
  });

  it('reads a lone OAuth error as the code, without quoting the body', async () => {
    const { fetch } = scriptedFetch(json(400, { error: 'invalid_grant', note: '<b>hi</b>' }));
    const error = await rejection(requestToken({ host: HOST, form: FORM, fetch, ...noSleep }));
    expect(error).toMatchObject({ status: 400, oauthError: 'invalid_grant' });
    expect(error.message).toMatch(/HTTP 400 invalid_grant: \(JSON error body without a message, \d+ bytes\)/);
    expect(error.message).not.toContain('<b>');
  });

  it('bounds the OAuth error description', async () => {
    const { fetch } = scriptedFetch(oauthError(400, 'invalid_request', 'd'.repeat(10_000)));
    const error = await rejection(requestToken({ host: HOST, form: FORM, fetch, ...noSleep }));
    expect(error.message).toContain(`invalid_request: ${'d'.repeat(299)}…`);
    expect(error.message).not.toContain('d'.repeat(300));
  });

  it('names the last non-JSON answer by its size when retries run out', async () => {
    const { fetch } = scriptedFetch(new Response('<html>bad gateway</html>', { status: 502 }));
    const error = await rejection(
      requestToken({ host: HOST, form: FORM, fetch, ...noSleep, retry: { maxAttempts: 2 } }),
    );
    expect(error.message).toContain('HTTP 502: (non-JSON error body, 24 bytes)');
    expect(error.message).not.toContain('gateway');
  });

  it('never follows a redirect', async () => {
    const { fetch } = scriptedFetch(
      new Response(null, { status: 302, headers: { location: 'https://evil.example/' } }),
    );
    const error = await rejection(requestToken({ host: HOST, form: FORM, fetch }));
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error.message).toMatch(/redirect.*not followed/);
  });

  it.each([
    ['a body that is not JSON', new Response('<html>login</html>', { status: 200 }), /not JSON/],
    ['JSON without access_token', json(200, { token_type: 'Bearer' }), /without an access_token/],
  ])('refuses a 200 with %s', async (_label, response, message) => {
    const { fetch } = scriptedFetch(response);
    const error = await rejection(requestToken({ host: HOST, form: FORM, fetch }));
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error.message).toMatch(message);
  });

  it('does not retry a local fetch bug, and does not quote the request', async () => {
    const { fetch, requests } = scriptedFetch(new TypeError(`Invalid header value ${SECRET}`));
    const error = await rejection(requestToken({ host: HOST, form: FORM, fetch, ...noSleep }));
    expect(requests).toHaveLength(1);
    expect((error as ConnectorError).permanent).toBe(true);
    expect(error.message).not.toContain(SECRET);
  });
});

describe('Function: exchangeToken()', () => {
  it('sends the RFC 8693 form with the client id and no secret', async () => {
    const { fetch, requests } = scriptedFetch(tokenResponse('exchanged', 600));
    const jwt = fakeJwt('connector');
    await expect(exchangeToken({ host: HOST, subjectToken: jwt, clientId: 'sp-app-id', fetch })).resolves.toEqual({
      accessToken: 'exchanged',
      expiresInSeconds: 600,
    });
    expect(requests[0]?.form).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: jwt,
      client_id: 'sp-app-id',
      scope: 'all-apis',
    });
    expect(requests[0]?.headers.authorization).toBeUndefined();
  });
});
