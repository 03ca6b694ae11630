/**
 * The Jobs API client and the token endpoint against the Databricks workspace emulator on 127.0.0.1: every attempt is
 * one DatabricksCalls by endpoint and status class (`network` when no answer came), and one WorkspaceCalls by host
 * only when the operator turned the dimension on; a Retry-After honoured is a RetryAfterWait, waited or deferred; a
 * token fetched is a TokenRequests of its auth mode, and a refused one a TokenFailures too.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type DatabricksWorkspace,
  startDatabricksWorkspace,
} from '../../../infra/local/emulators/databricks-workspace.js';
import type { AuthStrategy } from '../../../shared/auth/auth-strategy.js';
import { OAuthM2MAuth } from '../../../shared/auth/oauth-m2m.js';
import { TokenCache } from '../../../shared/auth/token-cache.js';
import { JobsClient, type JobsClientOptions } from '../../../shared/databricks/jobs-client.js';
import { DeferError } from '../../../shared/invocation-deadline.js';
import { METRICS_SERVICE } from '../../../shared/metrics/metric-catalog.js';
import { workspaceDimension } from '../../../shared/metrics/workspace-dimension.js';
import { testConfig } from '../../support/test-config.js';
import { InMemorySecrets } from '../auth/fakes.js';
import { captureStdout, type StdoutCapture, valuesOf } from './emf-capture.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

const PAT = `dapi${'1'.repeat(32)}`;
const CLIENT_ID = 'client-metrics';
const CLIENT_SECRET = `dose${'5a'.repeat(24)}`;
const pat: AuthStrategy = {
  authType: 'pat',
  getBearerToken: async () => PAT,
  invalidate: () => undefined,
  describe: () => 'pat (test)',
};

let workspace: DatabricksWorkspace;
let stdout: StdoutCapture;
let runId: number;

beforeAll(async () => {
  workspace = await startDatabricksWorkspace({
    tokens: [PAT],
    servicePrincipals: [{ applicationId: CLIENT_ID, secrets: [CLIENT_SECRET] }],
  });
  // The run the tests read; its call is not theirs to count.
  const quiet = captureStdout();
  runId = (
    await client().submitRun({
      run_name: 'r',
      tasks: [{ task_key: 't', existing_cluster_id: 'c', notebook_task: { notebook_path: '/nb' } }],
    })
  ).run_id;
  quiet.restore();
});
afterAll(() => workspace.close());
beforeEach(() => {
  stdout = captureStdout();
});
afterEach(() => stdout.restore());

function client(options: Partial<JobsClientOptions> = {}): JobsClient {
  return new JobsClient({
    host: workspace.url,
    auth: pat,
    allowInsecureHttp: true,
    health: null,
    sleep: async () => undefined,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5000, requestTimeoutMs: 2000 },
    ...options,
  });
}

const calls = () =>
  valuesOf(stdout.metrics(), 'DatabricksCalls').map((v) => `${v.dimensions.Endpoint} ${v.dimensions.StatusClass}`);

describe('DatabricksCalls', () => {
  it('counts every attempt by endpoint and status class: 2xx, 4xx, 429, 5xx, 3xx', async () => {
    await client().getRun(runId);
    await expect(client().getRun(999_999)).rejects.toThrow(/does not exist/);
    workspace.injectFaults('get', [{ status: 429, headers: { 'Retry-After': '1' } }, { status: 503 }]);
    await expect(
      client({ retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5000 } }).getRun(runId),
    ).rejects.toThrow();
    workspace.injectFaults('cancel', [{ status: 302, headers: { Location: 'https://elsewhere.example.com/' } }]);
    await expect(client().cancelRun(runId)).rejects.toThrow(/redirect/);
    expect(calls()).toEqual(['runs/get 2xx', 'runs/get 4xx', 'runs/get 429', 'runs/get 5xx', 'runs/cancel 3xx']);
  });

  it('counts `network` when no answer came (nobody listens), once per attempt', async () => {
    const closed = await startDatabricksWorkspace({ tokens: [PAT] });
    await closed.close();
    await expect(client({ host: closed.url }).getRun(runId)).rejects.toThrow();
    expect(calls()).toEqual(['runs/get network', 'runs/get network']);
  });

  it('counts WorkspaceCalls by the normalized host only when METRICS_WORKSPACE_DIMENSION is on', async () => {
    const allowed = { ALLOWED_DATABRICKS_HOSTS: workspace.url, ALLOW_INSECURE_LOOPBACK_DATABRICKS: 'true' };
    const off = workspaceDimension(`${workspace.url}/?o=1`, testConfig({}, allowed));
    const on = workspaceDimension(
      `${workspace.url}/?o=1`,
      testConfig({}, { ...allowed, METRICS_WORKSPACE_DIMENSION: 'true' }),
    );
    await client({ metricsWorkspace: off }).getRun(runId);
    expect(valuesOf(stdout.metrics(), 'WorkspaceCalls')).toEqual([]);
    stdout.clear();
    await client({ metricsWorkspace: on }).getRun(runId);
    expect(valuesOf(stdout.metrics(), 'WorkspaceCalls')).toEqual([
      {
        value: 1,
        dimensions: { service: METRICS_SERVICE, Workspace: new URL(workspace.url).host, StatusClass: '2xx' },
      },
    ]);
  });
});

describe('RetryAfterWait', () => {
  it('records the wait slept for a Retry-After the client waited out', async () => {
    const slept: number[] = [];
    workspace.injectFaults('get', [{ status: 429, headers: { 'Retry-After': '2' } }]);
    await client({ sleep: async (ms) => void slept.push(ms) }).getRun(runId);
    expect(slept).toEqual([2000]);
    expect(valuesOf(stdout.metrics(), 'RetryAfterWait')).toEqual([
      { value: 2000, dimensions: { service: METRICS_SERVICE } },
    ]);
  });

  it('records what the workspace asked when it is longer than a call may wait: the record is deferred by it', async () => {
    workspace.injectFaults('get', [{ status: 429, headers: { 'Retry-After': '120' } }]);
    const deferred = await client()
      .getRun(runId)
      .catch((error: unknown) => error);
    expect(deferred).toBeInstanceOf(DeferError);
    expect(deferred).toMatchObject({ reason: 'retry-after', delaySeconds: 120 });
    expect(valuesOf(stdout.metrics(), 'RetryAfterWait')).toEqual([
      { value: 120_000, dimensions: { service: METRICS_SERVICE } },
    ]);
  });

  it('records nothing for a transient failure without Retry-After', async () => {
    workspace.injectFaults('get', [{ status: 503 }]);
    await client().getRun(runId);
    expect(valuesOf(stdout.metrics(), 'RetryAfterWait')).toEqual([]);
  });
});

describe('TokenRequests and TokenFailures', () => {
  const m2m = (secret: string, cache = new TokenCache()) =>
    new OAuthM2MAuth({
      host: workspace.url,
      namespace: 'ns-of-a-tenant',
      oauthSecretName: 'databricks-oauth',
      secrets: new InMemorySecrets().set('ns-of-a-tenant', 'databricks-oauth', {
        client_id: CLIENT_ID,
        client_secret: secret,
      }),
      connector: {},
      tokenCache: cache,
      http: { sleep: async () => undefined, health: null },
    });

  it('counts a token fetched, not one served from the cache', async () => {
    const auth = m2m(CLIENT_SECRET);
    await auth.getBearerToken();
    await auth.getBearerToken();
    const metrics = stdout.metrics();
    expect(valuesOf(metrics, 'TokenRequests')).toEqual([
      { value: 1, dimensions: { service: METRICS_SERVICE, AuthMode: 'oauth_m2m' } },
    ]);
    expect(valuesOf(metrics, 'TokenFailures')).toEqual([]);
  });

  it('counts a refused fetch as a request and a failure of its mode, and never prints the secret', async () => {
    await expect(m2m('wrong-secret').getBearerToken()).rejects.toThrow();
    const metrics = stdout.metrics();
    const oauth = { service: METRICS_SERVICE, AuthMode: 'oauth_m2m' };
    expect(valuesOf(metrics, 'TokenRequests')).toEqual([{ value: 1, dimensions: oauth }]);
    expect(valuesOf(metrics, 'TokenFailures')).toEqual([{ value: 1, dimensions: oauth }]);
    expect(stdout.lines().join('\n')).not.toContain('wrong-secret');
    expect(stdout.lines().join('\n')).not.toContain('ns-of-a-tenant');
  });
});
