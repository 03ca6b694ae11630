/**
 * The workspace emulator's reliability knobs: per-endpoint rate limits (token buckets on the injected clock), latency
 * faults (slow headers, slow body, hang) and outage windows, over real sockets. No assertion depends on wall-clock
 * speed beyond "did not answer within a short timeout while the delay is long", or a generous upper bound on close().
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type DatabricksWorkspace,
  type DatabricksWorkspaceOptions,
  startDatabricksWorkspace,
} from '../../../infra/local/emulators/databricks-workspace.js';

const TOKEN = 'dapi-test-token';
const SP = 'sp-client-id';
const SECRET = 'sp-secret';
const BODY = {
  run_name: 'reliability',
  tasks: [{ task_key: 'n', notebook_task: { notebook_path: '/Workspace/report' } }],
};
/** Far longer than any client timeout below: "it did not answer in time" never races the delay. */
const LONG_MS = 60_000;
const SHORT_TIMEOUT_MS = 150;

const T0 = 1_700_000_000_000;
let now = T0;
const workspaces: DatabricksWorkspace[] = [];

async function start(options: DatabricksWorkspaceOptions = {}): Promise<DatabricksWorkspace> {
  const ws = await startDatabricksWorkspace({
    tokens: [TOKEN],
    servicePrincipals: [{ applicationId: SP, secrets: [SECRET] }],
    clock: () => now,
    ...options,
  });
  workspaces.push(ws);
  return ws;
}

const call = (
  ws: DatabricksWorkspace,
  method: string,
  path: string,
  { body, token = TOKEN, signal }: { body?: unknown; token?: string | null; signal?: AbortSignal } = {},
): Promise<Response> =>
  fetch(`${ws.url}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(signal ? { signal } : {}),
  });
const submit = (ws: DatabricksWorkspace, options: { token?: string | null; signal?: AbortSignal } = {}) =>
  call(ws, 'POST', '/api/2.2/jobs/runs/submit', { body: BODY, ...options });
const getRun = (ws: DatabricksWorkspace, runId: number | string, signal?: AbortSignal) =>
  call(ws, 'GET', `/api/2.2/jobs/runs/get?run_id=${runId}`, signal ? { signal } : {});
const m2mToken = (ws: DatabricksWorkspace) =>
  fetch(`${ws.url}/oidc/v1/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'all-apis',
      client_id: SP,
      client_secret: SECRET,
    }).toString(),
  });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const runIdOf = async (res: Response): Promise<number> => ((await res.json()) as { run_id: number }).run_id;
const statuses = (ws: DatabricksWorkspace) => ws.requests.map((r) => r.status);

beforeEach(() => {
  now = T0;
});
afterEach(async () => {
  await Promise.all(workspaces.splice(0).map((ws) => ws.close()));
});

describe('rate limits', () => {
  it('answers the third submit in one second 429 + Retry-After, creates no run; runs/get and another workspace are unaffected', async () => {
    const ws = await start({ rateLimits: { submit: { perSecond: 2 } } });
    const other = await start({ rateLimits: { submit: { perSecond: 2 } } });

    const first = await submit(ws);
    const second = await submit(ws);
    const third = await submit(ws);

    expect([first.status, second.status, third.status]).toEqual([200, 200, 429]);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(third.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await third.json()).toEqual({
      error_code: 'REQUEST_LIMIT_EXCEEDED',
      message: 'Exceeded workspace rate limit for /jobs/runs/submit.',
    });
    expect(ws.runsCreated).toBe(2);
    // runs/get has its own (here unlimited) bucket: the exhausted submit bucket does not touch it.
    const runId = await runIdOf(first);
    for (let i = 0; i < 10; i += 1) expect((await getRun(ws, runId)).status).toBe(200);
    // Another workspace has its own buckets.
    expect((await submit(other)).status).toBe(200);
    expect((await submit(other)).status).toBe(200);
    expect(other.runsCreated).toBe(2);
    expect(statuses(ws)).toEqual([200, 200, 429, ...Array(10).fill(200)]);
  });

  it('keeps separate buckets per endpoint when both are limited (runs/submit lower than runs/get)', async () => {
    const ws = await start({ rateLimits: { submit: { perSecond: 1 }, get: { perSecond: 3 } } });
    const runId = await runIdOf(await submit(ws));

    expect((await submit(ws)).status).toBe(429);
    const gets = [];
    for (let i = 0; i < 4; i += 1) gets.push((await getRun(ws, runId)).status);
    expect(gets).toEqual([200, 200, 200, 429]);
    // Other Jobs API endpoints stay unlimited.
    expect((await call(ws, 'POST', '/api/2.2/jobs/runs/cancel', { body: { run_id: runId } })).status).toBe(200);
  });

  it('refills by the injected clock; Retry-After is the whole seconds until a token is available', async () => {
    const ws = await start({ rateLimits: { submit: { perSecond: 0.5 } } });

    expect((await submit(ws)).status).toBe(200);
    const refused = await submit(ws);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('2');
    now += 1_000;
    expect((await submit(ws)).headers.get('retry-after')).toBe('1');
    now += 999;
    expect((await submit(ws)).status).toBe(429);
    now += 1;
    expect((await submit(ws)).status).toBe(200);
    expect((await submit(ws)).status).toBe(429);
    expect(ws.runsCreated).toBe(2);
  });

  it('allows a burst up to `burst`, then refills at perSecond, never above the burst', async () => {
    const ws = await start({ rateLimits: { submit: { perSecond: 1, burst: 3 } } });

    const burst = [];
    for (let i = 0; i < 4; i += 1) burst.push((await submit(ws)).status);
    expect(burst).toEqual([200, 200, 200, 429]);
    now += 60_000; // a long idle spell refills to the burst, not beyond
    const again = [];
    for (let i = 0; i < 4; i += 1) again.push((await submit(ws)).status);
    expect(again).toEqual([200, 200, 200, 429]);
  });

  it('throttles before auth and routing: no credentials, a wrong token or a wrong method all get 429', async () => {
    const ws = await start({ rateLimits: { submit: { perSecond: 1 } } });
    expect((await submit(ws)).status).toBe(200);

    expect((await submit(ws, { token: null })).status).toBe(429);
    expect((await submit(ws, { token: 'dapi-wrong' })).status).toBe(429);
    expect((await call(ws, 'GET', '/api/2.1/jobs/runs/submit')).status).toBe(429);
    expect(ws.runsCreated).toBe(1);
  });

  it('throttles the token endpoint without issuing a token', async () => {
    const ws = await start({ rateLimits: { token: { perSecond: 1 } } });

    expect((await m2mToken(ws)).status).toBe(200);
    const refused = await m2mToken(ws);

    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ error_code: 'REQUEST_LIMIT_EXCEEDED' });
    expect(ws.tokenRequests).toHaveLength(1);
    expect(ws.issuedAccessTokens).toHaveLength(1);
    // The discovery document is not a limited endpoint.
    expect((await fetch(`${ws.url}/oidc/.well-known/oauth-authorization-server`)).status).toBe(200);
  });

  it('changes limits at run time with setRateLimits, and has none by default', async () => {
    const ws = await start();
    for (let i = 0; i < 20; i += 1) expect((await submit(ws)).status).toBe(200);

    ws.setRateLimits({ submit: { perSecond: 1 } });
    expect((await submit(ws)).status).toBe(200);
    expect((await submit(ws)).status).toBe(429);
    ws.setRateLimits({});
    expect((await submit(ws)).status).toBe(200);
    expect(ws.runsCreated).toBe(22);
  });

  it('does not consume a queued fault with a throttled request', async () => {
    const ws = await start({ rateLimits: { submit: { perSecond: 1 } } });
    expect((await submit(ws)).status).toBe(200);
    ws.injectFaults('submit', [{ status: 503, body: 'queued' }]);

    expect((await submit(ws)).status).toBe(429);
    now += 1_000;
    expect((await submit(ws)).status).toBe(503);
  });

  it('rejects a nonsensical limit', async () => {
    const ws = await start();
    expect(() => ws.setRateLimits({ get: { perSecond: 0 } })).toThrow(/perSecond/);
    expect(() => ws.setRateLimits({ get: { perSecond: 1, burst: 0.5 } })).toThrow(/burst/);
  });
});

describe('latency faults', () => {
  it('{ delayMs } answers normally after the delay', async () => {
    const ws = await start();
    const runId = await runIdOf(await submit(ws));
    ws.injectFaults('get', [{ delayMs: 50 }]);

    const res = await getRun(ws, runId);

    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ run_id: runId });
  });

  it('{ delayMs } holds the headers back: a short client timeout ends the call, yet the submit was acted on', async () => {
    const ws = await start();
    ws.injectFaults('submit', [{ delayMs: LONG_MS }]);

    await expect(submit(ws, { signal: AbortSignal.timeout(SHORT_TIMEOUT_MS) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(ws.runsCreated).toBe(1);
    expect(statuses(ws)).toEqual([200]);
    // The next call is not delayed.
    expect((await submit(ws)).status).toBe(200);
  });

  it('{ slowBodyMs } sends status and headers at once, then the body after the delay', async () => {
    const ws = await start();
    const runId = await runIdOf(await submit(ws));
    ws.injectFaults('get', [{ slowBodyMs: LONG_MS }, { slowBodyMs: 30 }]);

    // The headers come at once (a generous bound, far below the 60 s delay); the body does not come in a short while.
    const headersOnly = new AbortController();
    const slow = await getRun(ws, runId, AbortSignal.any([headersOnly.signal, AbortSignal.timeout(5_000)]));
    expect(slow.status).toBe(200);
    expect(slow.headers.get('content-type')).toMatch(/^application\/json/);
    const body = slow.text().then(
      () => 'body',
      () => 'aborted',
    );
    expect(await Promise.race([body, sleep(SHORT_TIMEOUT_MS).then(() => 'no body yet')])).toBe('no body yet');
    headersOnly.abort();
    expect(await body).toBe('aborted');
    // A short one completes.
    const done = await getRun(ws, runId);
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ run_id: runId });
  });

  it("'hang' never answers nor handles: the client's AbortSignal.timeout ends the request", async () => {
    const ws = await start();
    ws.injectFaults('submit', ['hang']);

    await expect(submit(ws, { signal: AbortSignal.timeout(SHORT_TIMEOUT_MS) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(ws.runsCreated).toBe(0);
    expect(ws.requests).toEqual([
      { method: 'POST', path: '/api/2.2/jobs/runs/submit', status: 0, at: expect.any(Number) },
    ]);
    expect((await submit(ws)).status).toBe(200);
  });

  it('close() returns promptly with a hung request, a delayed answer and a slow body pending', async () => {
    const ws = await start();
    const runId = await runIdOf(await submit(ws));
    ws.injectFaults('get', ['hang', { delayMs: LONG_MS }, { slowBodyMs: LONG_MS }]);
    const hung = getRun(ws, runId).catch((err: unknown) => err);
    const delayed = getRun(ws, runId).catch((err: unknown) => err);
    const slowBody = await getRun(ws, runId);
    const body = slowBody.text().catch((err: unknown) => err);
    while (ws.requests.length < 4) await sleep(5);

    const started = Date.now();
    await ws.close();

    expect(Date.now() - started).toBeLessThan(5_000);
    // Each pending client call fails (socket closed) rather than waiting out the delay.
    expect(await hung).toBeInstanceOf(Error);
    expect(await delayed).toBeInstanceOf(Error);
    expect(await body).toBeInstanceOf(Error);
  });

  it('route faults stay on their route: a hung runs/get does not slow runs/submit', async () => {
    const ws = await start();
    const runId = await runIdOf(await submit(ws));
    ws.injectFaults('get', ['hang']);
    const hung = getRun(ws, runId, AbortSignal.timeout(LONG_MS)).catch((err: unknown) => err);
    while (ws.requests.length < 2) await sleep(5);

    expect((await submit(ws, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    await ws.close();
    expect(await hung).toBeInstanceOf(Error);
  });
});

describe('outage windows', () => {
  it('{ status } answers every request inside the window (Jobs API and token endpoint), normally outside', async () => {
    const ws = await start();
    ws.outage({ fromMs: T0 + 1_000, toMs: T0 + 2_000, mode: { status: 503 } });

    expect((await submit(ws)).status).toBe(200);
    now = T0 + 1_000;
    const down = await submit(ws);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({
      error_code: 'TEMPORARILY_UNAVAILABLE',
      message: 'The service at /api/2.2/jobs/runs/submit is temporarily unavailable. Please try again later.',
    });
    expect((await getRun(ws, 1)).status).toBe(503);
    expect((await m2mToken(ws)).status).toBe(503);
    // Refused before auth: no credentials still read as the outage.
    expect((await submit(ws, { token: null })).status).toBe(503);
    expect(ws.runsCreated).toBe(1);
    expect(ws.tokenRequests).toHaveLength(0);
    now = T0 + 1_999;
    expect((await submit(ws)).status).toBe(503);
    now = T0 + 2_000; // toMs is excluded
    expect((await submit(ws)).status).toBe(200);
    expect((await m2mToken(ws)).status).toBe(200);
    expect(statuses(ws)).toEqual([200, 503, 503, 503, 503, 503, 200, 200]);
  });

  it("'reset' destroys the socket inside the window", async () => {
    const ws = await start();
    ws.outage({ fromMs: T0, toMs: T0 + 1_000, mode: 'reset' });

    await expect(submit(ws)).rejects.toThrow();
    await expect(m2mToken(ws)).rejects.toThrow();
    expect(ws.runsCreated).toBe(0);
    expect(statuses(ws)).toEqual([0, 0]);
    now = T0 + 1_000;
    expect((await submit(ws)).status).toBe(200);
  });

  it("'hang' leaves requests unanswered inside the window; close() still returns promptly", async () => {
    const ws = await start();
    ws.outage({ fromMs: T0, toMs: T0 + 1_000, mode: 'hang' });

    await expect(submit(ws, { signal: AbortSignal.timeout(SHORT_TIMEOUT_MS) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    const pending = m2mToken(ws).catch((err: unknown) => err);
    while (ws.requests.length < 2) await sleep(5);
    expect(ws.runsCreated).toBe(0);
    expect(statuses(ws)).toEqual([0, 0]);

    const started = Date.now();
    await ws.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('{ status: 429 } throttles with Retry-After until the window ends; body and headers can be replaced', async () => {
    const ws = await start();
    ws.outage({ fromMs: T0, toMs: T0 + 10_000, mode: { status: 429 } });
    ws.outage({
      fromMs: T0 + 10_000,
      toMs: T0 + 20_000,
      mode: { status: 502, body: 'Bad Gateway', headers: { 'X-A': '1' } },
    });

    now = T0 + 2_500;
    const throttled = await submit(ws);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('8');
    expect(await throttled.json()).toMatchObject({ error_code: 'REQUEST_LIMIT_EXCEEDED' });
    now = T0 + 15_000;
    const gateway = await submit(ws);
    expect(gateway.status).toBe(502);
    expect(gateway.headers.get('x-a')).toBe('1');
    expect(await gateway.text()).toBe('Bad Gateway');
  });

  it('takes precedence over rate limits and faults, which are left for after the window', async () => {
    const ws = await start({ rateLimits: { submit: { perSecond: 1 } } });
    ws.injectFaults('submit', [{ status: 500, body: 'queued' }]);
    ws.outage({ fromMs: T0, toMs: T0 + 1_000, mode: { status: 503 } });

    expect((await submit(ws)).status).toBe(503);
    expect((await submit(ws)).status).toBe(503);
    now = T0 + 1_000;
    expect((await submit(ws)).status).toBe(500); // the queued fault, the bucket's token taken
    expect((await submit(ws)).status).toBe(429);
  });

  it('adds up several windows; clearOutages removes them all', async () => {
    const ws = await start();
    ws.outage({ fromMs: T0, toMs: T0 + 1_000, mode: { status: 503 } });
    ws.outage({ fromMs: T0 + 5_000, toMs: T0 + 6_000, mode: { status: 504 } });

    expect((await submit(ws)).status).toBe(503);
    now = T0 + 3_000;
    expect((await submit(ws)).status).toBe(200);
    now = T0 + 5_500;
    expect((await submit(ws)).status).toBe(504);
    ws.clearOutages();
    expect((await submit(ws)).status).toBe(200);
    expect(() => ws.outage({ fromMs: T0 + 2, toMs: T0 + 1, mode: 'reset' })).toThrow(/fromMs < toMs/);
  });

  it("one workspace's outage leaves a second workspace beside it untouched", async () => {
    const down = await start();
    const up = await startDatabricksWorkspace({});
    workspaces.push(up);
    up.addToken(TOKEN);
    down.outage({ fromMs: T0, toMs: T0 + 1_000, mode: 'hang' });

    const hung = submit(down, { signal: AbortSignal.timeout(LONG_MS) }).catch((err: unknown) => err);
    expect((await submit(up, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    expect(up.runsCreated).toBe(1);
    await down.close();
    expect(await hung).toBeInstanceOf(Error);
  });
});
