/**
 * The CLI end to end against a fake API (an injected fetch): what it prints, on which stream, and its exit codes.
 */
import { describe, expect, it } from 'vitest';
import { type CliIo, EXIT, isLoopback, runCli } from '../../../shared/cli/main.js';
import type { OutputStream } from '../../../shared/cli/output.js';
import type { JobView } from '../../../shared/jobs/job.js';

const CREDENTIALS = { accessKeyId: 'AKIACLITEST', secretAccessKey: 'secret' };
const REQUEST = {
  namespace: 'team-a',
  executionId: 'e-1',
  task: { databricksConf: { run_name: 'x', new_cluster: {} } },
};

function view(overrides: Partial<JobView> = {}): JobView {
  return {
    jobId: 'fdl-1',
    namespace: 'team-a',
    executionId: 'e-1',
    phase: 'QUEUED',
    message: 'Accepted',
    runId: null,
    runPageUrl: null,
    logLinks: [],
    databricks: { host: 'https://dbc.example.com', lifeCycleState: null, resultState: null },
    auth: null,
    cancelRequested: false,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    submittedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

const RUN = 'https://dbc.example.com/#job/1/run/7';
const SUCCESS_SEQUENCE: JobView[] = [
  view({ phase: 'QUEUED' }),
  view({
    phase: 'INITIALIZING',
    runId: 7,
    runPageUrl: RUN,
    databricks: { ...view().databricks, lifeCycleState: 'PENDING' },
  }),
  view({
    phase: 'RUNNING',
    runId: 7,
    runPageUrl: RUN,
    databricks: { ...view().databricks, lifeCycleState: 'RUNNING' },
  }),
  view({
    phase: 'RUNNING',
    runId: 7,
    runPageUrl: RUN,
    databricks: { ...view().databricks, lifeCycleState: 'RUNNING' },
  }),
  view({
    phase: 'SUCCEEDED',
    runId: 7,
    runPageUrl: RUN,
    message: 'Databricks run TERMINATED SUCCESS',
    databricks: { ...view().databricks, lifeCycleState: 'TERMINATED', resultState: 'SUCCESS' },
    finishedAt: '2025-01-01T00:01:05.000Z',
  }),
];

interface FakeApi {
  fetch: typeof fetch;
  requests: Array<{ method: string; path: string; body?: unknown; signed: boolean }>;
}

/** A fake front door: POST answers the first view, each GET the next one (the last one repeats). */
function fakeApi(
  sequence: JobView[] = SUCCESS_SEQUENCE,
  special: (method: string, path: string) => Response | undefined = () => undefined,
): FakeApi {
  const requests: FakeApi['requests'] = [];
  let gets = 0;
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const fn = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    const path = `${url.pathname.replace(/^\/prod/, '')}${url.search}`;
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    requests.push({ method, path, body, signed: /^AWS4-HMAC-SHA256 /.test(headers.authorization ?? '') });
    const answer = special(method, path);
    if (answer) return answer;
    if (method === 'POST') {
      if (!/^[a-z0-9-]+$/.test(body.namespace)) {
        return json(400, {
          error: {
            code: 'ValidationError',
            message: 'namespace: must be a Kubernetes namespace name',
            field: 'namespace',
          },
        });
      }
      return json(202, sequence[0]);
    }
    if (method === 'GET' && path.startsWith('/v1/jobs?')) {
      return json(200, { jobs: [sequence.at(-1)], nextToken: 'next-page' });
    }
    if (path !== '/v1/jobs/fdl-1') return json(404, { error: { code: 'NotFound', message: 'No job', field: 'id' } });
    if (method === 'DELETE') return json(202, { ...sequence[0], cancelRequested: true });
    gets += 1;
    return json(200, sequence[Math.min(gets, sequence.length - 1)]);
  }) as typeof fetch;
  return { fetch: fn, requests };
}

function capture(isTTY = false): OutputStream & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY, columns: 200, write: (chunk: string) => chunks.push(chunk), text: () => chunks.join('') };
}

async function cli(argv: string[], api: FakeApi, overrides: Partial<CliIo> = {}) {
  const stdout = capture();
  const stderr = capture();
  const files: Record<string, string> = {
    'job.json': JSON.stringify(REQUEST),
    'list.json': '[1]',
    'bad.json': '{nope',
  };
  const code = await runCli(argv, {
    stdout,
    stderr,
    env: {},
    fetch: api.fetch,
    credentials: CREDENTIALS,
    now: () => Date.parse('2025-01-01T00:01:30.000Z'),
    readFile: async (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), {});
      return text;
    },
    watch: { sleep: async () => undefined },
    ...overrides,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('CLI: submit', () => {
  it('--watch --json: exit 0 on SUCCEEDED, stdout is the final job view and nothing else', async () => {
    const api = fakeApi();
    const { code, stdout, stderr } = await cli(['submit', 'job.json', '--watch', '--json'], api);
    expect(code).toBe(EXIT.OK);
    expect(JSON.parse(stdout)).toMatchObject({ jobId: 'fdl-1', phase: 'SUCCEEDED' });
    expect(stderr).toBe('');
    expect(api.requests.every((r) => r.signed)).toBe(true);
  });

  it('applies --namespace and --execution-id to the request', async () => {
    const api = fakeApi();
    await cli(['submit', 'job.json', '--namespace', 'team-b', '--execution-id', 'e-9'], api);
    expect(api.requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/jobs',
      body: { ...REQUEST, namespace: 'team-b', executionId: 'e-9' },
    });
  });

  it('--watch off a terminal: one progress line per change (phase, Databricks state, elapsed, run page)', async () => {
    const { code, stdout, stderr } = await cli(['submit', 'job.json', '--watch'], fakeApi());
    expect(code).toBe(EXIT.OK);
    expect(stderr.split('\n').filter(Boolean)).toEqual([
      'QUEUED · Databricks - · 1m30s',
      `INITIALIZING · Databricks PENDING · 1m30s · ${RUN}`,
      `RUNNING · Databricks RUNNING · 1m30s · ${RUN}`,
      `SUCCEEDED · Databricks TERMINATED · 1m05s · ${RUN}`,
    ]);
    expect(stdout).toContain('Submitted: fdl-1');
    expect(stdout).toMatch(/Phase\s+SUCCEEDED/);
    expect(stdout).toMatch(/Databricks\s+TERMINATED \/ SUCCESS \(run 7\)/);
  });

  it('--watch on a terminal: one line redrawn in place, ended by a newline', async () => {
    const stderr = capture(true);
    const code = await runCli(['submit', 'job.json', '--watch'], {
      stdout: capture(),
      stderr,
      env: {},
      fetch: fakeApi().fetch,
      credentials: CREDENTIALS,
      readFile: async () => JSON.stringify(REQUEST),
      watch: { sleep: async () => undefined },
    });
    expect(code).toBe(EXIT.OK);
    const text = stderr.text();
    expect(text.split('\r\x1b[2K')).toHaveLength(SUCCESS_SEQUENCE.length + 1);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n')).toHaveLength(2);
  });

  it.each(['FAILED', 'RETRYABLE_FAILED', 'ABORTED'] as const)('--watch exits 1 when the job ends %s', async (phase) => {
    const sequence = [view(), view({ phase: 'RUNNING' }), view({ phase, finishedAt: '2025-01-01T00:00:10.000Z' })];
    const { code, stdout } = await cli(['submit', 'job.json', '--watch', '--json'], fakeApi(sequence));
    expect(code).toBe(EXIT.JOB_FAILED);
    expect(JSON.parse(stdout).phase).toBe(phase);
  });

  it("exits 2 printing the API's message and field for a request it refuses", async () => {
    const human = await cli(['submit', 'job.json', '--namespace', 'Bad_NS'], fakeApi());
    expect(human.code).toBe(EXIT.USAGE);
    expect(human.stderr).toContain('namespace: must be a Kubernetes namespace name (field: namespace)');
    const json = await cli(['submit', 'job.json', '--namespace', 'Bad_NS', '--json'], fakeApi());
    expect(json.code).toBe(EXIT.USAGE);
    expect(JSON.parse(json.stdout)).toEqual({
      error: { code: 'ValidationError', message: 'namespace: must be a Kubernetes namespace name', field: 'namespace' },
    });
  });

  it.each([
    ['job.yaml', 'YAML is not supported'],
    ['missing.json', 'Cannot read missing.json'],
    ['bad.json', 'bad.json is not valid JSON'],
    ['list.json', 'must hold a JSON object'],
  ])('exits 2 for the input file %s without calling the API', async (file, message) => {
    const api = fakeApi();
    const { code, stderr } = await cli(['submit', file], api);
    expect(code).toBe(EXIT.USAGE);
    expect(stderr).toContain(message);
    expect(api.requests).toHaveLength(0);
  });
});

describe('CLI: status, cancel, watch, list', () => {
  it('status exits 0 for a job still going or SUCCEEDED, 1 for a failed one, 2 for an unknown one', async () => {
    expect((await cli(['status', 'fdl-1'], fakeApi([view(), view({ phase: 'RUNNING' })]))).code).toBe(EXIT.OK);
    expect((await cli(['status', 'fdl-1'], fakeApi([view(), view({ phase: 'FAILED' })]))).code).toBe(EXIT.JOB_FAILED);
    const unknown = await cli(['status', 'fdl-404'], fakeApi());
    expect(unknown.code).toBe(EXIT.USAGE);
    expect(unknown.stderr).toContain('No job (field: id) [HTTP 404 NotFound]');
  });

  it('cancel asks for the cancellation and shows the job', async () => {
    const api = fakeApi();
    const { code, stdout } = await cli(['cancel', 'fdl-1'], api);
    expect(code).toBe(EXIT.OK);
    expect(api.requests[0]).toMatchObject({ method: 'DELETE', path: '/v1/jobs/fdl-1' });
    expect(stdout).toContain('Cancellation requested for fdl-1');
  });

  it('watch follows an existing job to its end', async () => {
    const { code, stdout } = await cli(['watch', 'fdl-1', '--json'], fakeApi());
    expect(code).toBe(EXIT.OK);
    expect(JSON.parse(stdout).phase).toBe('SUCCEEDED');
  });

  it('list prints a table and the command for the next page, or the list itself with --json', async () => {
    const api = fakeApi();
    const human = await cli(['list', 'team-a', '--limit', '1'], api);
    expect(human.code).toBe(EXIT.OK);
    expect(human.stdout).toMatch(/^JOB ID\s+EXECUTION ID\s+PHASE\s+DATABRICKS\s+CREATED\nfdl-1\s+e-1\s+SUCCEEDED/);
    expect(human.stdout).toContain('More: flyte-databricks-lambda list team-a --next-token next-page');
    expect(api.requests[0]?.path).toBe('/v1/jobs?namespace=team-a&limit=1');
    const json = await cli(['list', 'team-a', '--json'], fakeApi());
    expect(JSON.parse(json.stdout)).toMatchObject({ jobs: [{ jobId: 'fdl-1' }], nextToken: 'next-page' });
  });
});

describe('CLI: usage, network and auth failures', () => {
  it('--help prints the usage (exit 0); no command or a bad option is a usage error (exit 2)', async () => {
    const help = await cli(['--help'], fakeApi());
    expect(help.code).toBe(EXIT.OK);
    expect(help.stdout).toContain('Usage: flyte-databricks-lambda <command>');
    const none = await cli([], fakeApi());
    expect(none.code).toBe(EXIT.USAGE);
    expect(none.stderr).toContain('Usage:');
    const bad = await cli(['status', 'fdl-1', '--limit', '3'], fakeApi());
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.stderr).toContain("'status' does not take --limit");
  });

  it('exits 3 when the signature is refused', async () => {
    const refused = fakeApi(
      SUCCESS_SEQUENCE,
      () =>
        new Response(JSON.stringify({ message: 'The security token included in the request is invalid.' }), {
          status: 403,
          headers: { 'x-amzn-ErrorType': 'UnrecognizedClientException' },
        }),
    );
    const { code, stderr } = await cli(['status', 'fdl-1'], refused);
    expect(code).toBe(EXIT.NETWORK_OR_AUTH);
    expect(stderr).toContain(
      'The security token included in the request is invalid. [HTTP 403 UnrecognizedClientException]',
    );
    expect(stderr).toContain('signature was refused');
  });

  it('exits 3 when the API cannot be reached or there are no credentials', async () => {
    const unreachable = (async () => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    }) as typeof fetch;
    const network = await cli(['status', 'fdl-1'], { fetch: unreachable, requests: [] });
    expect(network.code).toBe(EXIT.NETWORK_OR_AUTH);
    expect(network.stderr).toContain(
      'Cannot reach http://127.0.0.1:3000/prod: ECONNREFUSED; is the local stack running',
    );

    const noCredentials = await cli(['status', 'fdl-1', '--json'], fakeApi(), {
      credentials: async () => {
        throw Object.assign(new Error('Could not load credentials from any providers'), {
          name: 'CredentialsProviderError',
        });
      },
    });
    expect(noCredentials.code).toBe(EXIT.NETWORK_OR_AUTH);
    expect(JSON.parse(noCredentials.stdout).error.message).toContain('No AWS credentials to sign with');
  });

  it('signs for the local stack region on 127.0.0.1, the URL region on execute-api, or --region', async () => {
    const scopes: string[] = [];
    const api = fakeApi(SUCCESS_SEQUENCE, () => undefined);
    const recording = (async (input: string | URL | Request, init?: RequestInit) => {
      const authorization = ((init?.headers ?? {}) as Record<string, string>).authorization ?? '';
      scopes.push(/Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(authorization)?.[1] ?? '');
      return api.fetch(input, init);
    }) as typeof fetch;
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = 'eu-west-1';
    try {
      await cli(['status', 'fdl-1'], { fetch: recording, requests: [] });
      await cli(['status', 'fdl-1', '--url', 'https://abc.execute-api.eu-west-2.amazonaws.com/prod'], {
        fetch: recording,
        requests: [],
      });
      await cli(['status', 'fdl-1', '--region', 'ap-south-1'], { fetch: recording, requests: [] });
    } finally {
      process.env.AWS_REGION = saved;
    }
    expect(scopes).toEqual(['us-east-1', 'eu-west-2', 'ap-south-1']);
  });

  it('knows a local stack URL when it sees one', () => {
    expect(isLoopback('http://127.0.0.1:3000/prod')).toBe(true);
    expect(isLoopback('http://localhost:3000/prod')).toBe(true);
    expect(isLoopback('https://abc.execute-api.eu-west-1.amazonaws.com/prod')).toBe(false);
  });
});
