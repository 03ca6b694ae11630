/**
 * JobsApiClient with an injected fetch: typed results, the one error shape (API Gateway's own errors included),
 * the list query, and watch()'s polling: backoff with a cap, reset on a phase change, transient errors tolerated.
 */
import { describe, expect, it } from 'vitest';
import { isApiError, JobsApiClient, JobsApiError, unwrap } from '../../../shared/client/jobs-api-client.js';
import type { JobView } from '../../../shared/jobs/job.js';

const BASE = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';
const CREDENTIALS = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' };

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function fakeFetch(answer: (sent: Sent, index: number) => Response | Promise<Response>) {
  const sent: Sent[] = [];
  const fn = (async (input: string | URL | Request, init?: RequestInit) => {
    const request: Sent = {
      method: init?.method ?? 'GET',
      url: String(input),
      headers: Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>)),
      body: init?.body as string | undefined,
    };
    sent.push(request);
    return answer(request, sent.length - 1);
  }) as typeof fetch;
  return { fn, sent };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

function view(phase: JobView['phase'], lifeCycleState: string | null = null): JobView {
  return {
    jobId: 'fdl-1',
    namespace: 'ns',
    executionId: 'e',
    phase,
    message: phase,
    runId: null,
    runPageUrl: null,
    logLinks: [],
    databricks: { host: 'https://dbc.example.com', lifeCycleState, resultState: null },
    auth: null,
    cancelRequested: false,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    submittedAt: null,
    finishedAt: null,
  };
}

describe('Class: JobsApiClient', () => {
  it('sends signed JSON requests to the stage URL and answers typed results', async () => {
    const { fn, sent } = fakeFetch(() => json(202, view('QUEUED')));
    const api = new JobsApiClient(`${BASE}/`, { fetch: fn, credentials: CREDENTIALS });
    const result = await api.submit({ namespace: 'ns' });
    expect(result).toEqual({ ok: true, status: 202, body: view('QUEUED') });
    expect(sent[0]).toMatchObject({ method: 'POST', url: `${BASE}/v1/jobs`, body: '{"namespace":"ns"}' });
    expect(sent[0]?.headers).toMatchObject({
      'content-type': 'application/json',
      authorization: expect.stringContaining('/eu-west-1/execute-api/aws4_request'),
      'x-amz-date': expect.stringMatching(/^\d{8}T\d{6}Z$/),
    });
  });

  it('builds the list query and encodes job ids in paths', async () => {
    const { fn, sent } = fakeFetch(() => json(200, { jobs: [], nextToken: null }));
    const api = new JobsApiClient(BASE, { fetch: fn, credentials: CREDENTIALS });
    await api.list('team-a', { limit: 5, nextToken: 'tok_en-1' });
    await api.list('team-b');
    await api.get('fdl-1/../x');
    await api.cancel('fdl-2');
    await api.openApi();
    expect(sent.map((s) => `${s.method} ${s.url.slice(BASE.length)}`)).toEqual([
      'GET /v1/jobs?namespace=team-a&limit=5&nextToken=tok_en-1',
      'GET /v1/jobs?namespace=team-b',
      'GET /v1/jobs/fdl-1%2F..%2Fx',
      'DELETE /v1/jobs/fdl-2',
      'GET /v1/openapi.json',
    ]);
  });

  it("answers every failure in the API's one error shape, API Gateway's own errors included", async () => {
    const answers = [
      json(400, { error: { code: 'ValidationError', message: 'namespace: bad', field: 'namespace' } }),
      json(
        403,
        { message: 'Missing Authentication Token' },
        { 'x-amzn-ErrorType': 'MissingAuthenticationTokenException' },
      ),
      new Response('<html>Bad gateway</html>', { status: 502 }),
      new Response('', { status: 503 }),
    ];
    const { fn } = fakeFetch((_sent, i) => answers[i] as Response);
    const api = new JobsApiClient(BASE, { fetch: fn, credentials: CREDENTIALS });
    const results = [await api.get('a'), await api.get('b'), await api.get('c'), await api.get('d')];
    expect(results.map((r) => [r.ok, r.status, r.body])).toEqual([
      [false, 400, { error: { code: 'ValidationError', message: 'namespace: bad', field: 'namespace' } }],
      [false, 403, { error: { code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' } }],
      [false, 502, { error: { code: 'Http502', message: '<html>Bad gateway</html>' } }],
      [false, 503, { error: { code: 'Http503', message: 'HTTP 503' } }],
    ]);
    for (const result of results) expect(isApiError(result.body)).toBe(true);
    expect(() => unwrap(results[0] as (typeof results)[0])).toThrow(JobsApiError);
  });

  it('keeps call() raw, and sends unsigned requests when asked', async () => {
    const { fn, sent } = fakeFetch(() => new Response('not json', { status: 400 }));
    const api = new JobsApiClient(BASE, { fetch: fn, sign: false });
    expect(await api.call('POST', '/v1/jobs', '{')).toMatchObject({ status: 400, body: 'not json' });
    expect(sent[0]?.headers).not.toHaveProperty('authorization');
  });

  it('still takes a fetch function as its second argument', async () => {
    const { fn, sent } = fakeFetch(() => json(200, view('RUNNING')));
    const api = new JobsApiClient(BASE, fn);
    expect((await api.get('fdl-1')).ok).toBe(true);
    expect(sent).toHaveLength(1);
  });
});

describe('Method: watch', () => {
  it('polls until a terminal phase with growing, capped waits that start over when the phase changes', async () => {
    const phases: Array<JobView['phase']> = [
      'QUEUED',
      'QUEUED',
      'QUEUED',
      'QUEUED',
      'QUEUED',
      'RUNNING',
      'RUNNING',
      'SUCCEEDED',
    ];
    const { fn } = fakeFetch((_sent, i) => json(200, view(phases[i] as JobView['phase'])));
    const api = new JobsApiClient(BASE, { fetch: fn, credentials: CREDENTIALS });
    const waits: number[] = [];
    const updates: string[] = [];
    const final = await api.watch('fdl-1', {
      intervalMs: 100,
      maxIntervalMs: 300,
      backoff: 2,
      sleep: async (ms) => {
        waits.push(ms);
      },
      onUpdate: (v) => updates.push(v.phase),
    });
    expect(final.phase).toBe('SUCCEEDED');
    expect(updates).toEqual(phases);
    expect(waits).toEqual([100, 200, 300, 300, 300, 100, 200]);
  });

  it('tolerates a few network errors and 5xx in a row, then gives up', async () => {
    let calls = 0;
    const flaky = fakeFetch(() => {
      calls += 1;
      if (calls === 1) throw new TypeError('fetch failed');
      if (calls === 2) return json(503, { message: 'Service Unavailable' });
      return json(200, view('FAILED'));
    });
    const api = new JobsApiClient(BASE, { fetch: flaky.fn, credentials: CREDENTIALS });
    expect((await api.watch('fdl-1', { sleep: async () => undefined })).phase).toBe('FAILED');

    const down = fakeFetch(() => json(502, { message: 'Internal server error' }));
    const failing = new JobsApiClient(BASE, { fetch: down.fn, credentials: CREDENTIALS });
    await expect(
      failing.watch('fdl-1', { sleep: async () => undefined, maxConsecutiveErrors: 2 }),
    ).rejects.toMatchObject({ name: 'JobsApiError', status: 502 });
    expect(down.sent).toHaveLength(3);
  });

  it('throws the API error at once for a job that does not exist', async () => {
    const { fn, sent } = fakeFetch(() => json(404, { error: { code: 'NotFound', message: 'No job', field: 'id' } }));
    const api = new JobsApiClient(BASE, { fetch: fn, credentials: CREDENTIALS });
    await expect(api.watch('fdl-x', { sleep: async () => undefined })).rejects.toMatchObject({
      status: 404,
      code: 'NotFound',
      field: 'id',
    });
    expect(sent).toHaveLength(1);
  });

  it('stops when its signal is aborted', async () => {
    const { fn } = fakeFetch(() => json(200, view('RUNNING')));
    const api = new JobsApiClient(BASE, { fetch: fn, credentials: CREDENTIALS });
    const controller = new AbortController();
    const watching = api.watch('fdl-1', { intervalMs: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(watching).rejects.toMatchObject({ name: 'AbortError' });
  });
});
