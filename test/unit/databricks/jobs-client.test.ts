import { describe, expect, it, vi } from 'vitest';
import type { AuthStrategy } from '../../../shared/auth/auth-strategy.js';
import { DatabricksApiError } from '../../../shared/databricks/errors.js';
import { JobsClient, type JobsClientOptions } from '../../../shared/databricks/jobs-client.js';
import { InvalidJobSpecError } from '../../../shared/errors.js';
import { DeferError } from '../../../shared/invocation-deadline.js';

const HOST = 'x.cloud.databricks.com';
const BASE = 'https://x.cloud.databricks.com/api/2.2/jobs';

/** Hands out tokens in order: the first until invalidate() is called, then the next. */
class FakeAuth implements AuthStrategy {
  readonly authType = 'pat' as const;
  invalidations = 0;
  constructor(private readonly tokens: string[] = ['tok']) {}
  async getBearerToken(): Promise<string> {
    return this.tokens[Math.min(this.invalidations, this.tokens.length - 1)] ?? '';
  }
  invalidate(): void {
    this.invalidations++;
  }
  describe(): string {
    return 'pat (test)';
  }
}

type Step = Response | Error;
interface Call {
  url: string;
  init: RequestInit;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

function setup(steps: Step[], options: Partial<JobsClientOptions> = {}, auth = new FakeAuth()) {
  const calls: Call[] = [];
  const sleeps: number[] = [];
  const fetchFn = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const step = steps.shift();
    if (step === undefined) throw new Error('unexpected extra request');
    if (step instanceof Error) throw step;
    return step;
  });
  const client = new JobsClient({
    host: HOST,
    auth,
    fetch: fetchFn as unknown as typeof fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
  return { client, calls, sleeps, auth };
}

const header = (call: Call, name: string) => (call.init.headers as Record<string, string>)[name];

async function rejection(promise: Promise<unknown>): Promise<DatabricksApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatabricksApiError);
  return err as DatabricksApiError;
}

describe('JobsClient host handling', () => {
  it.each([
    ['x.cloud.databricks.com', 'https://x.cloud.databricks.com'],
    ['https://x.cloud.databricks.com/', 'https://x.cloud.databricks.com'],
    ['  https://x.cloud.databricks.com///  ', 'https://x.cloud.databricks.com'],
    ['https://x.cloud.databricks.com/?o=123', 'https://x.cloud.databricks.com'],
  ])('normalises %j to %s', (host, expected) => {
    expect(setup([], { host }).client.baseUrl).toBe(expected);
  });

  it('refuses http:// unless allowInsecureHttp and a loopback host, naming task.databricksInstance', () => {
    expect(() => setup([], { host: 'http://127.0.0.1:8080' })).toThrowError(
      expect.objectContaining({ name: 'InvalidJobSpecError', field: 'task.databricksInstance' }),
    );
    expect(() => setup([], { host: 'http://x.cloud.databricks.com', allowInsecureHttp: true })).toThrowError(
      expect.objectContaining({ name: 'InvalidJobSpecError', field: 'task.databricksInstance' }),
    );
    expect(setup([], { host: 'http://127.0.0.1:8080/', allowInsecureHttp: true }).client.baseUrl).toBe(
      'http://127.0.0.1:8080',
    );
  });

  it.each(['', 'ftp://x.com', 'https://user:pw@x.com'])('rejects the host %j', (host) => {
    expect(() => setup([], { host })).toThrow(InvalidJobSpecError);
  });
});

describe('JobsClient requests', () => {
  it('submitRun POSTs the JSON body with auth, content headers, manual redirects and a timeout signal', async () => {
    const { client, calls } = setup([json(200, { run_id: 77 })], { userAgent: 'ua/1' });
    await expect(client.submitRun({ run_name: 'r', idempotency_token: 't' })).resolves.toEqual({ run_id: 77 });
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.url).toBe(`${BASE}/runs/submit`);
    expect(call?.init).toMatchObject({
      method: 'POST',
      redirect: 'manual',
      body: '{"run_name":"r","idempotency_token":"t"}',
    });
    expect(call?.init.signal).toBeInstanceOf(AbortSignal);
    expect(call?.init.headers).toEqual({
      Authorization: 'Bearer tok',
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'User-Agent': 'ua/1',
    });
  });

  it('getRun GETs runs/get?run_id= and returns the run; apiVersion 2.1 changes the path', async () => {
    const run = { run_id: 42, job_id: 7, state: { life_cycle_state: 'RUNNING' } };
    const { client, calls } = setup([json(200, run)], { apiVersion: '2.1' });
    await expect(client.getRun('42')).resolves.toEqual(run);
    expect(calls[0]?.url).toBe('https://x.cloud.databricks.com/api/2.1/jobs/runs/get?run_id=42');
    expect(calls[0]?.init.method).toBe('GET');
  });

  it('cancelRun POSTs {"run_id": <number>} even for a string id', async () => {
    const { client, calls } = setup([json(200, {})]);
    await expect(client.cancelRun('42')).resolves.toBeUndefined();
    expect(calls[0]?.url).toBe(`${BASE}/runs/cancel`);
    expect(calls[0]?.init.body).toBe('{"run_id":42}');
  });

  it.each(['abc', '', '-1', 0, 1.5])('rejects the run id %j before any request', async (id) => {
    const { client, calls } = setup([]);
    await expect(client.getRun(id as number)).rejects.toMatchObject({ name: 'InvalidJobSpecError', field: 'runId' });
    expect(calls).toHaveLength(0);
  });

  it('fails when runs/submit answers 200 without a run_id', async () => {
    const { client } = setup([json(200, { oops: true })]);
    const err = await rejection(client.submitRun({}));
    expect(err).toMatchObject({ status: 200, retryable: false });
    expect(err.message).toContain('no run_id');
  });
});

describe('JobsClient retries', () => {
  it.each([429, 502, 503, 504])('retries HTTP %i then succeeds', async (status) => {
    const { client, calls, sleeps } = setup([
      json(status, { error_code: 'TEMPORARILY_UNAVAILABLE' }),
      json(200, { run_id: 1 }),
    ]);
    await expect(client.submitRun({})).resolves.toEqual({ run_id: 1 });
    expect(calls).toHaveLength(2);
    expect(sleeps).toEqual([250]);
  });

  it.each([
    [
      'fetch TypeError',
      new TypeError('fetch failed', { cause: Object.assign(new Error('socket'), { code: 'UND_ERR_SOCKET' }) }),
    ],
    [
      'ECONNRESET cause',
      new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }),
    ],
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['timeout', new DOMException('The operation was aborted due to timeout', 'TimeoutError')],
    ['abort', new DOMException('This operation was aborted', 'AbortError')],
  ])('retries a connection error (%s) then succeeds', async (_label, error) => {
    const { client, calls } = setup([error, json(200, { run_id: 9, state: {} })]);
    await expect(client.getRun(9)).resolves.toMatchObject({ run_id: 9 });
    expect(calls).toHaveLength(2);
  });

  it('backs off exponentially with full jitter', async () => {
    const { client, sleeps } = setup([json(503, {}), json(503, {}), json(503, {}), json(503, {}), json(200, {})]);
    await client.cancelRun(1);
    expect(sleeps).toEqual([250, 500, 1000, 2000]);
  });

  it('honours Retry-After seconds as a floor over the jitter', async () => {
    const { client, sleeps } = setup([json(429, {}, { 'retry-after': '3' }), json(200, {})]);
    await client.cancelRun(1);
    expect(sleeps).toEqual([3000]);
  });

  it('honours an HTTP-date Retry-After as a floor', async () => {
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    const { client, sleeps } = setup(
      [json(503, {}, { 'retry-after': 'Wed, 21 Oct 2026 07:28:07 GMT' }), json(200, {})],
      {
        now: () => now,
      },
    );
    await client.cancelRun(1);
    expect(sleeps).toEqual([7000]);
  });

  it('defers on a Retry-After longer than maxDelayMs instead of sleeping; a small one does not lower the jitter', async () => {
    const long = setup([json(429, {}, { 'retry-after': '3600' }), json(200, {})], { retry: { maxDelayMs: 4000 } });
    const deferred = await long.client.cancelRun(1).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(deferred).toBeInstanceOf(DeferError);
    expect((deferred as DeferError).delaySeconds).toBe(900);
    expect(long.sleeps).toEqual([]);
    expect(long.calls).toHaveLength(1);
    const small = setup([json(429, {}, { 'retry-after': '0' }), json(200, {})], { random: () => 1 });
    await small.client.cancelRun(1);
    expect(small.sleeps).toEqual([500]);
  });

  it('gives up after maxAttempts with a retryable DatabricksApiError', async () => {
    const steps = Array.from({ length: 5 }, () =>
      json(503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'busy' }),
    );
    const { client, calls, sleeps } = setup(steps);
    const err = await rejection(client.getRun(5));
    expect(err).toMatchObject({ status: 503, errorCode: 'TEMPORARILY_UNAVAILABLE', retryable: true, permanent: false });
    expect(err.message).toBe(
      'Databricks runs/get failed (HTTP 503 TEMPORARILY_UNAVAILABLE): busy (gave up after 5 attempts)',
    );
    expect(calls).toHaveLength(5);
    expect(sleeps).toHaveLength(4);
  });

  it('gives up on repeated connection errors with status undefined, honouring a custom maxAttempts', async () => {
    const reset = () => new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) });
    const { client, calls } = setup([reset(), reset()], { retry: { maxAttempts: 2 } });
    const err = await rejection(client.submitRun({}));
    expect(err).toMatchObject({ status: undefined, retryable: true, permanent: false });
    expect(err.message).toContain('ECONNRESET');
    expect(calls).toHaveLength(2);
  });

  it.each([
    [400, 'INVALID_PARAMETER_VALUE', 'Missing required field: tasks'],
    [403, 'PERMISSION_DENIED', 'User is not allowed'],
    [404, 'RESOURCE_DOES_NOT_EXIST', 'Run 5 does not exist'],
  ])('fails fast on HTTP %i with the error code and message', async (status, code, message) => {
    const { client, calls, sleeps } = setup([json(status, { error_code: code, message })]);
    const err = await rejection(client.submitRun({}));
    expect(err).toMatchObject({ status, errorCode: code, retryable: false, permanent: true, operation: 'runs/submit' });
    expect(err.message).toBe(`Databricks runs/submit failed (HTTP ${status} ${code}): ${message}`);
    expect(calls).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('does not retry a local TypeError that is not a network failure', async () => {
    const { client, calls } = setup([new TypeError('Invalid URL')]);
    const err = await rejection(client.getRun(1));
    expect(err).toMatchObject({ retryable: false, status: undefined });
    expect(calls).toHaveLength(1);
  });

  it('logs each retry through the injected logger', async () => {
    const warn = vi.fn();
    const { client } = setup([json(502, {}), json(200, {})], { logger: { warn } });
    await client.cancelRun(1);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('runs/cancel'), expect.objectContaining({ status: 502 }));
  });
});

describe('JobsClient 401 handling', () => {
  const ops = [
    ['submitRun', (c: JobsClient) => c.submitRun({}), { run_id: 3 }, { run_id: 3 }],
    ['getRun', (c: JobsClient) => c.getRun(3), { run_id: 3 }, { run_id: 3 }],
    ['cancelRun', (c: JobsClient) => c.cancelRun(3), {}, undefined],
  ] as const;

  it.each(ops)(
    '%s: 401 -> invalidate once -> retry with the fresh token -> success',
    async (_name, op, ok, expected) => {
      const auth = new FakeAuth(['stale', 'fresh']);
      const { client, calls, sleeps } = setup([json(401, { error_code: 'UNAUTHENTICATED' }), json(200, ok)], {}, auth);
      await expect(op(client)).resolves.toEqual(expected);
      expect(calls.map((c) => header(c, 'Authorization'))).toEqual(['Bearer stale', 'Bearer fresh']);
      expect(auth.invalidations).toBe(1);
      expect(sleeps).toEqual([]);
    },
  );

  it('does not count the refresh as an attempt: 401, then 5 transient failures, then give up', async () => {
    const auth = new FakeAuth(['stale', 'fresh']);
    const busy = () => json(503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'busy' });
    const steps = [json(401, { error_code: 'UNAUTHENTICATED' }), busy(), busy(), busy(), busy(), busy(), busy()];
    const { client, calls, sleeps } = setup(steps, {}, auth);
    const err = await rejection(client.getRun(3));
    expect(err.message).toBe(
      'Databricks runs/get failed (HTTP 503 TEMPORARILY_UNAVAILABLE): busy (gave up after 5 attempts)',
    );
    expect(calls).toHaveLength(6);
    expect(sleeps).toEqual([250, 500, 1000, 2000]);
    expect(auth.invalidations).toBe(1);
  });

  it.each(ops)('%s: a second 401 fails with a clear, permanent error', async (_name, op) => {
    const auth = new FakeAuth(['stale', 'fresh']);
    const body = { error_code: 'UNAUTHENTICATED', message: 'Invalid access token.' };
    const { client, calls } = setup([json(401, body), json(401, body)], {}, auth);
    const err = await rejection(op(client));
    expect(err).toMatchObject({ status: 401, errorCode: 'UNAUTHENTICATED', retryable: false, permanent: true });
    expect(err.message).toContain('freshly fetched token was also rejected (pat (test))');
    expect(calls).toHaveLength(2);
    expect(auth.invalidations).toBe(1);
  });
});

describe('JobsClient 403 handling', () => {
  it('treats 403 "Invalid access token." (a revoked or rotated PAT) like a 401: refresh once, then succeed', async () => {
    const auth = new FakeAuth(['revoked', 'rotated']);
    const invalid = json(403, { error_code: 403, message: 'Invalid access token.' });
    const { client, calls } = setup([invalid, json(200, { run_id: 9 })], {}, auth);
    await expect(client.getRun(9)).resolves.toEqual({ run_id: 9 });
    expect(calls.map((c) => header(c, 'Authorization'))).toEqual(['Bearer revoked', 'Bearer rotated']);
    expect(auth.invalidations).toBe(1);
  });

  it('fails fast on any other 403 (permission denied), without refreshing', async () => {
    const auth = new FakeAuth(['t1', 't2']);
    const denied = json(403, { error_code: 'PERMISSION_DENIED', message: 'User does not have permission' });
    const { client, calls } = setup([denied], {}, auth);
    const err = await rejection(client.getRun(9));
    expect(err).toMatchObject({ status: 403, errorCode: 'PERMISSION_DENIED', permanent: true });
    expect(calls).toHaveLength(1);
    expect(auth.invalidations).toBe(0);
  });
});

describe('JobsClient redirects and secrecy', () => {
  it('does not follow a 3xx and reports it as non-retryable', async () => {
    const redirect = new Response(null, {
      status: 302,
      headers: { location: 'https://login.example.com/sso?token=abc' },
    });
    const { client, calls } = setup([redirect]);
    const err = await rejection(client.getRun(1));
    expect(err).toMatchObject({ status: 302, retryable: false });
    expect(err.message).toContain('https://login.example.com/sso');
    expect(err.message).not.toContain('token=abc');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.init.redirect).toBe('manual');
  });

  it('never puts the token in an error message, even when the server or fetch echoes it', async () => {
    const secret = 'dapi-super-secret-value';
    const scenarios: Array<[Step[], (c: JobsClient) => Promise<unknown>]> = [
      [[json(400, { error_code: 'BAD', message: `token ${secret} is malformed` })], (c) => c.submitRun({})],
      [[new Response(`<html>Authorization: Bearer ${secret}</html>`, { status: 403 })], (c) => c.getRun(1)],
      [[json(401, { message: secret }), json(401, { message: `Bearer ${secret}` })], (c) => c.cancelRun(1)],
      [[new TypeError(`Headers.append: "Bearer ${secret}" is an invalid header value.`)], (c) => c.getRun(1)],
      [[new Response(`not json ${secret}`, { status: 200 })], (c) => c.getRun(1)],
    ];
    for (const [steps, op] of scenarios) {
      const { client } = setup(steps, {}, new FakeAuth([secret]));
      const err = await rejection(op(client));
      expect(err.message).not.toContain(secret);
      // A non-JSON error body is never quoted at all, only its size.
      expect(err.message).toMatch(/\[REDACTED\]|\(non-JSON error body, \d+ bytes\)|response is not JSON \(\d+ bytes\)/);
      expect(JSON.stringify({ ...err, cause: String(err.cause) })).not.toContain(secret);
    }
  });
});
