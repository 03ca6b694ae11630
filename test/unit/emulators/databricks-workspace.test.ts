import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type DatabricksWorkspace,
  type DatabricksWorkspaceOptions,
  MAX_RECORDED_BODY_BYTES,
  startDatabricksWorkspace,
} from '../../../infra/local/emulators/databricks-workspace.js';

const TOKEN = 'dapi-test-token';
const GIT_SOURCE = {
  git_url: 'https://github.com/flyteorg/flytetools',
  git_provider: 'gitHub',
  git_commit: '572298df1f971fb58c258398bd70a6372f811c96',
};

/** The classic single-task body flytekit builds (top-level spark_python_task + new_cluster). */
const classicBody = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  run_name: 'flyte classic',
  new_cluster: { spark_version: '13.3.x-scala2.12', node_type_id: 'm5.xlarge', num_workers: 1 },
  spark_python_task: {
    python_file: 'flytekitplugins/databricks/entrypoint.py',
    source: 'GIT',
    parameters: ['pyflyte-execute', '--inputs', 's3://bucket/inputs.pb'],
  },
  git_source: GIT_SOURCE,
  ...extra,
});

/** The serverless multi-task body flytekit builds (tasks[] + environments[]). */
const serverlessBody = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  run_name: 'flyte serverless',
  tasks: [
    {
      task_key: 'flyte_task',
      spark_python_task: { python_file: 'flytekitplugins/databricks/entrypoint_serverless.py', source: 'GIT' },
      environment_key: 'default',
    },
    { task_key: 'notebook', notebook_task: { notebook_path: '/Workspace/report' } },
  ],
  environments: [
    { environment_key: 'default', spec: { client: '1', environment_vars: { FLYTE_FAIL_ON_ERROR: 'true' } } },
  ],
  git_source: GIT_SOURCE,
  ...extra,
});

describe('Databricks workspace emulator', () => {
  let now = 1_700_000_000_000;
  let ws: DatabricksWorkspace;

  const start = async (options: DatabricksWorkspaceOptions = {}): Promise<void> => {
    await ws?.close();
    ws = await startDatabricksWorkspace({ tokens: [TOKEN], clock: () => now, ...options });
  };
  const call = (method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Response> =>
    fetch(`${ws.url}${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  const submit = async (body: unknown, version = '2.2'): Promise<number> => {
    const res = await call('POST', `/api/${version}/jobs/runs/submit`, body);
    expect(res.status).toBe(200);
    return ((await res.json()) as { run_id: number }).run_id;
  };
  // biome-ignore lint/suspicious/noExplicitAny: runs/get JSON is inspected field by field.
  const getRun = async (runId: number | string, version = '2.2'): Promise<any> => {
    const res = await call('GET', `/api/${version}/jobs/runs/get?run_id=${runId}`);
    expect(res.status).toBe(200);
    return res.json();
  };

  beforeEach(async () => {
    now = 1_700_000_000_000;
    await start();
  });
  afterEach(async () => {
    await ws.close();
  });

  describe('runs/submit', () => {
    it('accepts the classic single-task body and reports it as a one-task SUBMIT_RUN', async () => {
      const runId = await submit(classicBody(), '2.1');
      const run = await getRun(runId, '2.1');

      expect(run).toMatchObject({ run_id: runId, run_name: 'flyte classic', run_type: 'SUBMIT_RUN' });
      expect(typeof run.job_id).toBe('number');
      expect(run.run_page_url).toBe(`${ws.url}/?o=${ws.workspaceId}#job/${run.job_id}/run/${runId}`);
      expect(run.tasks.map((t: { task_key: string }) => t.task_key)).toEqual(['flyte_classic']);
      expect(run.status).toBeUndefined();
      expect(ws.runs()[0]?.body).toEqual(classicBody());
    });

    it('accepts the serverless multi-task body and defaults run_name to Untitled', async () => {
      const runId = await submit({ ...serverlessBody(), run_name: undefined });
      const run = await getRun(runId);

      expect(run.run_name).toBe('Untitled');
      expect(run.tasks.map((t: { task_key: string }) => t.task_key)).toEqual(['flyte_task', 'notebook']);
      expect(ws.runsCreated).toBe(1);
    });

    it.each([
      ['no task at all', { run_name: 'x' }, 'At least one task'],
      [
        'classic task without compute',
        { ...classicBody(), new_cluster: undefined },
        'existing_cluster_id or new_cluster',
      ],
      ['missing python_file', classicBody({ spark_python_task: { source: 'GIT' } }), 'spark_python_task.python_file'],
      ['GIT source without git_source', classicBody({ git_source: undefined }), 'no git_source'],
      [
        'git_source without a ref',
        classicBody({ git_source: { ...GIT_SOURCE, git_commit: undefined } }),
        'exactly one of',
      ],
      ['two git refs', classicBody({ git_source: { ...GIT_SOURCE, git_branch: 'main' } }), 'exactly one of'],
      ['idempotency_token over 64 chars', classicBody({ idempotency_token: 'x'.repeat(65) }), '64'],
      ['environment_key not in environments', serverlessBody({ environments: [] }), "environment_key 'default'"],
      [
        'serverless python task with no environment',
        serverlessBody({ tasks: [{ task_key: 'a', spark_python_task: { python_file: 'a.py' } }] }),
        'requires compute',
      ],
      [
        'task without task_key',
        serverlessBody({ tasks: [{ notebook_task: { notebook_path: '/n' } }] }),
        'tasks[0].task_key',
      ],
      [
        'task with two task types',
        serverlessBody({
          tasks: [{ task_key: 'a', notebook_task: { notebook_path: '/n' }, sql_task: { warehouse_id: 'w' } }],
        }),
        'only one task type',
      ],
      ['new_cluster without spark_version', classicBody({ new_cluster: { num_workers: 1 } }), 'spark_version'],
    ])('rejects %s with 400 INVALID_PARAMETER_VALUE', async (_name, body, fragment) => {
      const res = await call('POST', '/api/2.1/jobs/runs/submit', body);
      const payload = (await res.json()) as { error_code: string; message: string };

      expect(res.status).toBe(400);
      expect(payload.error_code).toBe('INVALID_PARAMETER_VALUE');
      expect(payload.message).toContain(fragment);
      expect(ws.runsCreated).toBe(0);
    });

    it('rejects malformed JSON with 400 MALFORMED_REQUEST', async () => {
      const res = await call('POST', '/api/2.2/jobs/runs/submit', '{"run_name":');

      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error_code: 'MALFORMED_REQUEST' });
    });

    it('returns the existing run for a repeated idempotency_token and creates nothing', async () => {
      const token = 'job-42-attempt-0';
      const first = await submit(classicBody({ idempotency_token: token }));
      const second = await submit(classicBody({ idempotency_token: token, run_name: 'changed' }), '2.1');

      expect(second).toBe(first);
      expect(ws.runsCreated).toBe(1);
      expect(ws.runs()[0]).toMatchObject({ runId: first, idempotencyToken: token, runName: 'flyte classic' });
    });
  });

  describe('run life cycle', () => {
    it('walks PENDING -> RUNNING -> TERMINATING -> TERMINATED SUCCESS as the clock advances', async () => {
      const submittedAt = now;
      const runId = await submit(classicBody());
      const seen: Array<[string, string | undefined, string]> = [];
      for (const advance of [0, 300, 700, 100]) {
        now += advance;
        const run = await getRun(runId);
        seen.push([run.state.life_cycle_state, run.state.result_state, run.status.state]);
      }
      const done = await getRun(runId);

      expect(seen).toEqual([
        ['PENDING', undefined, 'PENDING'],
        ['RUNNING', undefined, 'RUNNING'],
        ['TERMINATING', undefined, 'TERMINATING'],
        ['TERMINATED', 'SUCCESS', 'TERMINATED'],
      ]);
      expect(done.status.termination_details).toEqual({ code: 'SUCCESS', type: 'SUCCESS', message: '' });
      expect(done.start_time).toBe(submittedAt);
      expect(done.end_time).toBe(submittedAt + 1100);
      expect(done.state.user_cancelled_or_timedout).toBe(false);
    });

    it('keeps end_time at 0 and omits termination_details while running', async () => {
      const runId = await submit(classicBody());
      now += 500;
      const run = await getRun(runId);

      expect(run.end_time).toBe(0);
      expect(run.status.termination_details).toBeUndefined();
    });

    it('ends with the outcome chosen by the hook', async () => {
      await start({
        outcome: (body) =>
          String(body.run_name).includes('fail')
            ? { resultState: 'FAILED', stateMessage: 'boom' }
            : { resultState: 'SUCCESS' },
      });
      const runId = await submit(classicBody({ run_name: 'will fail' }));
      now += 2_000;
      const run = await getRun(runId);

      expect(run.state).toMatchObject({
        life_cycle_state: 'TERMINATED',
        result_state: 'FAILED',
        state_message: 'boom',
      });
      expect(run.status.termination_details).toMatchObject({ code: 'RUN_EXECUTION_ERROR', type: 'CLIENT_ERROR' });
    });

    it('honours custom timing', async () => {
      await start({ timing: { pendingMs: 10, runningMs: 10, terminatingMs: 10 } });
      const runId = await submit(classicBody());
      now += 30;

      expect((await getRun(runId)).state.result_state).toBe('SUCCESS');
    });
  });

  describe('runs/cancel', () => {
    it('cancels asynchronously: TERMINATING, then TERMINATED CANCELED (run_id sent as a string)', async () => {
      const runId = await submit(serverlessBody());
      now += 400;
      const res = await call('POST', '/api/2.1/jobs/runs/cancel', { run_id: String(runId) });

      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({});
      expect((await getRun(runId)).state.life_cycle_state).toBe('TERMINATING');
      now += 100;
      const run = await getRun(runId);
      expect(run.state).toEqual({
        life_cycle_state: 'TERMINATED',
        result_state: 'CANCELED',
        state_message: 'Run cancelled.',
        user_cancelled_or_timedout: true,
      });
      expect(run.status.termination_details.code).toBe('USER_CANCELED');
      expect(ws.runs()[0]?.cancelRequested).toBe(true);
    });

    it('returns 200 {} for a finished run and keeps its result', async () => {
      const runId = await submit(classicBody());
      now += 5_000;
      const res = await call('POST', '/api/2.2/jobs/runs/cancel', { run_id: runId });

      expect(res.status).toBe(200);
      expect((await getRun(runId)).state.result_state).toBe('SUCCESS');
    });

    it('answers an unknown run like runs/get', async () => {
      const res = await call('POST', '/api/2.2/jobs/runs/cancel', { run_id: 987 });

      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error_code: 'INVALID_PARAMETER_VALUE', message: 'Run 987 does not exist.' });
    });
  });

  describe('runs/get errors', () => {
    it('rejects an unknown run with 400 "Run <id> does not exist."', async () => {
      const res = await call('GET', '/api/2.1/jobs/runs/get?run_id=123');

      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error_code: 'INVALID_PARAMETER_VALUE', message: 'Run 123 does not exist.' });
    });

    it.each(['', '?run_id=abc', '?run_id=-1'])('rejects a missing or invalid run_id (%s)', async (query) => {
      const res = await call('GET', `/api/2.2/jobs/runs/get${query}`);

      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error_code: 'INVALID_PARAMETER_VALUE' });
    });
  });

  describe('auth and routing', () => {
    it('answers 401 when no bearer token is sent', async () => {
      const res = await call('GET', '/api/2.2/jobs/runs/get?run_id=1', undefined, null);
      const body = (await res.json()) as { error_code: number; message: string };

      expect(res.status).toBe(401);
      expect(body.error_code).toBe(401);
      expect(body.message).toContain('Credential was not sent');
    });

    it('answers 403 "Invalid access token." for an unknown token, and follows addToken/removeToken', async () => {
      const denied = await call('POST', '/api/2.2/jobs/runs/submit', classicBody(), 'dapi-wrong');
      expect(denied.status).toBe(403);
      expect(denied.headers.get('x-databricks-reason-phrase')).toBe('Invalid access token.');
      expect(await denied.json()).toEqual({ error_code: 403, message: 'Invalid access token.' });
      expect(ws.runsCreated).toBe(0);

      ws.addToken('dapi-rotated');
      expect((await call('POST', '/api/2.2/jobs/runs/submit', classicBody(), 'dapi-rotated')).status).toBe(200);
      ws.removeToken('dapi-rotated');
      expect((await call('GET', '/api/2.2/jobs/runs/get?run_id=1', undefined, 'dapi-rotated')).status).toBe(403);
    });

    it('answers 404 ENDPOINT_NOT_FOUND for unknown paths and wrong methods', async () => {
      const unknown = await call('GET', '/api/2.2/jobs/runs/list');
      const wrongMethod = await call('GET', '/api/2.1/jobs/runs/submit');

      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({
        error_code: 'ENDPOINT_NOT_FOUND',
        message: "No API found for 'GET /jobs/runs/list'",
      });
      expect(wrongMethod.status).toBe(404);
      expect(await wrongMethod.json()).toMatchObject({ message: "No API found for 'GET /jobs/runs/submit'" });
    });

    it('logs method, path and status; the Authorization header it keeps is never serialized', async () => {
      await call('GET', '/api/2.2/jobs/runs/get?run_id=5');

      expect(ws.requests).toEqual([
        { method: 'GET', path: '/api/2.2/jobs/runs/get', status: 400, at: expect.any(Number) },
      ]);
      expect(ws.requests[0]?.authorization === `Bearer ${TOKEN}`).toBe(true);
      expect(JSON.stringify(ws.requests)).not.toContain(TOKEN);
    });
  });

  describe('injected faults', () => {
    it('answers queued HTTP errors one per matching request, then recovers', async () => {
      ws.injectFaults('submit', [
        {
          status: 429,
          body: { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' },
          headers: { 'Retry-After': '2' },
        },
        { status: 503, body: 'upstream unavailable' },
      ]);
      const throttled = await call('POST', '/api/2.2/jobs/runs/submit', classicBody());
      const unavailable = await call('POST', '/api/2.2/jobs/runs/submit', classicBody());
      const ok = await call('POST', '/api/2.2/jobs/runs/submit', classicBody());

      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('retry-after')).toBe('2');
      expect(await throttled.json()).toEqual({ error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' });
      expect(unavailable.status).toBe(503);
      expect(await unavailable.text()).toBe('upstream unavailable');
      expect(ok.status).toBe(200);
      expect(ws.runsCreated).toBe(1);
      expect(ws.requests.map((r) => r.status)).toEqual([429, 503, 200]);
    });

    it("'reset' destroys the socket before the request is handled", async () => {
      ws.injectFaults('submit', ['reset']);

      await expect(call('POST', '/api/2.2/jobs/runs/submit', classicBody())).rejects.toThrow();
      expect(ws.runsCreated).toBe(0);
      expect(ws.requests).toEqual([
        { method: 'POST', path: '/api/2.2/jobs/runs/submit', status: 0, at: expect.any(Number) },
      ]);
    });

    it("'reset-after' loses the response of a submit that did create the run; the token retry finds it", async () => {
      ws.injectFaults('submit', ['reset-after']);
      const body = classicBody({ idempotency_token: 'lost-response' });

      await expect(call('POST', '/api/2.2/jobs/runs/submit', body)).rejects.toThrow();
      expect(ws.runsCreated).toBe(1);
      const runId = await submit(body);
      expect(runId).toBe(ws.runs()[0]?.runId);
      expect(ws.runsCreated).toBe(1);
    });

    it("route faults only hit their route; 'any' hits whatever comes next", async () => {
      const runId = await submit(classicBody());
      ws.injectFaults('cancel', [{ status: 500, body: { error_code: 'INTERNAL_ERROR', message: 'x' } }]);
      ws.injectFaults('any', [{ status: 502 }]);

      expect((await call('GET', `/api/2.2/jobs/runs/get?run_id=${runId}`)).status).toBe(502);
      expect((await call('GET', `/api/2.2/jobs/runs/get?run_id=${runId}`)).status).toBe(200);
      expect((await call('POST', '/api/2.2/jobs/runs/cancel', { run_id: runId })).status).toBe(500);
      expect(ws.runs()[0]?.cancelRequested).toBe(false);
    });
  });
});

describe('a second workspace beside the first (an attacker-controlled host)', () => {
  let first: DatabricksWorkspace;
  let second: DatabricksWorkspace;

  beforeEach(async () => {
    first = await startDatabricksWorkspace({ tokens: [TOKEN] });
    second = await startDatabricksWorkspace({});
  });
  afterEach(async () => {
    await first.close();
    await second.close();
  });

  it('starts standalone with no options, on its own port', () => {
    expect(second.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(second.url).not.toBe(first.url);
  });

  it('records every request with its raw Authorization header and body, whatever the path or outcome', async () => {
    const basic = `Basic ${Buffer.from('sp-client-id:sp-secret').toString('base64')}`;
    const form = 'grant_type=client_credentials&scope=all-apis';
    const submitBody = JSON.stringify(classicBody());
    await fetch(`${second.url}/api/2.2/jobs/runs/submit`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: submitBody,
    });
    await fetch(`${second.url}/oidc/v1/token`, {
      method: 'POST',
      headers: { Authorization: basic, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    await fetch(`${second.url}/oidc/v1/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=sp&client_secret=posted-secret',
    });
    await fetch(`${second.url}/api/2.0/secrets/list?scope=x`, { headers: { Authorization: 'Bearer stolen' } });
    await fetch(`${second.url}/favicon.ico`);

    // The PAT is unknown here (403), the SP too (401): refused requests are recorded all the same.
    expect(second.requests).toEqual([
      { method: 'POST', path: '/api/2.2/jobs/runs/submit', status: 403, at: expect.any(Number) },
      { method: 'POST', path: '/oidc/v1/token', status: 401, at: expect.any(Number) },
      { method: 'POST', path: '/oidc/v1/token', status: 401, at: expect.any(Number) },
      { method: 'GET', path: '/api/2.0/secrets/list', status: 403, at: expect.any(Number) },
      { method: 'GET', path: '/favicon.ico', status: 401, at: expect.any(Number) },
    ]);
    const [submit, basicToken, postedToken, unknownPath, noAuth] = second.requests;
    expect(submit?.authorization === `Bearer ${TOKEN}`).toBe(true);
    expect(submit?.body === submitBody).toBe(true);
    expect(basicToken?.authorization === basic).toBe(true);
    expect(basicToken?.body === form).toBe(true);
    expect(postedToken?.authorization).toBeUndefined();
    expect(postedToken?.body?.includes('client_secret=posted-secret')).toBe(true);
    expect(unknownPath?.authorization === 'Bearer stolen').toBe(true);
    expect(noAuth?.authorization).toBeUndefined();
    expect(noAuth?.body).toBe('');
    // Nothing reached the first workspace; nothing credential-bearing is printable.
    expect(first.requests).toEqual([]);
    const printed = JSON.stringify(second.requests) + inspect(second.requests, { depth: 5 });
    for (const secret of [TOKEN, basic, 'posted-secret', 'stolen']) expect(printed.includes(secret)).toBe(false);
  });

  it('keeps only the first 64 KiB of a body, and says so', async () => {
    await fetch(`${second.url}/api/2.2/jobs/runs/submit`, {
      method: 'POST',
      body: 'x'.repeat(MAX_RECORDED_BODY_BYTES + 10),
    });
    const [big] = second.requests;
    expect(big?.body?.length).toBe(MAX_RECORDED_BODY_BYTES);
    expect(big?.bodyTruncated).toBe(true);
  });
});
