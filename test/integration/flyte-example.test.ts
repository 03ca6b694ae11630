/**
 * examples/flyte: the Python client a Flyte task uses (botocore's SigV4 signer and urllib), run as a child process
 * against a local stack with the stack's caller keys as its only AWS configuration. The interpreter is one that can
 * import botocore: Debian's /usr/bin/python3 with python3-botocore (which .ci/run installs), else python3 on PATH.
 * Without one the tests fail, saying what to install; they are never skipped.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiError } from '../../shared/client/jobs-api-client.js';
import type { JobView } from '../../shared/jobs/job.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { type Ran, runProcess } from '../support/run-process.js';
import { NAMESPACE, runsFor, startTestStack, type TestStack } from './support/test-stack.js';

const EXAMPLE_DIR = join(import.meta.dirname, '../../examples/flyte');
const SCRIPT = join(EXAMPLE_DIR, 'example_task.py');
const TASK_FILE = join(EXAMPLE_DIR, 'databricks_task.json');
/** Where Debian's python3-botocore installs botocore; tried first. */
const DEBIAN_PYTHON = '/usr/bin/python3';
/** Prints the interpreter's own path if it is 3.9+ and imports botocore; fails otherwise. */
const PROBE = 'import sys; assert sys.version_info >= (3, 9), sys.version; import botocore; print(sys.executable)';
const RUN_TIMEOUT_MS = 45_000;

/** No AWS configuration but what each run passes: no config files, no instance metadata, no proxies, no .pyc files. */
const BASE_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  LANG: 'C.UTF-8',
  PYTHONDONTWRITEBYTECODE: '1',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_EC2_METADATA_DISABLED: 'true',
};

interface PythonLookup {
  python?: string;
  tried: string[];
}

/** Debian's /usr/bin/python3 if it imports botocore, else python3 on PATH if that one does. */
function findPython(): PythonLookup {
  const tried: string[] = [];
  for (const candidate of [DEBIAN_PYTHON, 'python3']) {
    // HOME only for the probe: a version manager's python3 shim (pyenv) finds its root there.
    const probe = spawnSync(candidate, ['-c', PROBE], {
      env: { ...BASE_ENV, HOME: process.env.HOME ?? '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    const executable = probe.stdout?.trim();
    if (probe.status === 0 && executable) return { python: executable, tried };
    const why = probe.error?.message ?? (probe.stderr?.trim().split('\n').at(-1) || `exit ${probe.status}`);
    tried.push(`${candidate}: ${why}`);
  }
  return { tried };
}

let t: TestStack;
let lookup: PythonLookup;
const stamp = `${Date.now()}-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  lookup = findPython();
  t = await startTestStack();
});
afterAll(() => t?.stack.stop());

function python(): string {
  if (lookup.python) return lookup.python;
  throw new Error(
    "No Python 3.9+ that can import botocore, which examples/flyte needs. Install Debian's python3-botocore " +
      `(apt-get install -y --no-install-recommends python3-botocore, as .ci/run does). Tried: ${lookup.tried.join('; ')}`,
  );
}

interface Caller {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Runs `python3 example_task.py <args>` as a Flyte task pod would, signing with `caller` (the stack's by default). */
function runExample(args: string[], flyteEnv: Record<string, string>, caller?: Caller): Promise<Ran> {
  const credentials = caller ?? t.stack.callerCredentials;
  return runProcess(python(), [SCRIPT, ...args], {
    cwd: EXAMPLE_DIR,
    env: {
      ...BASE_ENV,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      ...flyteEnv,
    },
    timeoutMs: RUN_TIMEOUT_MS,
  });
}

/** The variables Flyte sets in a task pod, for namespace `<project>-<domain>`. */
function flyteEnv(project: string, domain: string, executionId: string): Record<string, string> {
  return {
    FLYTE_INTERNAL_EXECUTION_PROJECT: project,
    FLYTE_INTERNAL_EXECUTION_DOMAIN: domain,
    FLYTE_INTERNAL_EXECUTION_ID: executionId,
  };
}

const [PROJECT, DOMAIN] = NAMESPACE.split('-') as [string, string];

async function apiView(jobId: string): Promise<JobView> {
  const { status, body } = await t.api.get(jobId);
  if (isApiError(body)) throw new Error(`GET ${jobId} answered ${status}: ${body.error.message}`);
  return body;
}

describe('examples/flyte: a Flyte task running a Databricks job through the front door', () => {
  it('signs with botocore (accepted), waits for SUCCEEDED and prints the final job as JSON; a retry attaches', async () => {
    const executionId = `flyte-${stamp}-ok`;
    const jobId = jobIdFor(NAMESPACE, executionId);
    const env = flyteEnv(PROJECT, DOMAIN, executionId);

    const ran = await runExample([TASK_FILE, '--api-url', t.stack.frontDoorUrl], env);
    expect(ran.code, ran.stderr).toBe(0);
    const job = JSON.parse(ran.stdout) as JobView;
    expect(job).toMatchObject({ jobId, namespace: NAMESPACE, executionId, phase: 'SUCCEEDED' });
    expect(job.runId).toEqual(expect.any(Number));
    expect(await apiView(jobId)).toMatchObject({ phase: 'SUCCEEDED', runId: job.runId });
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
    expect(ran.stderr).toContain(`${jobId} QUEUED:`);
    expect(ran.stderr).toContain(`${jobId} SUCCEEDED:`);

    // API Gateway accepted botocore's signature and saw the caller's IAM identity on every request.
    const calls = t.stack.frontDoorCalls.filter((call) => call.path === '/v1/jobs' || call.path.endsWith(jobId));
    expect(calls.map((call) => call.method)).toContain('POST');
    expect(calls.map((call) => call.method)).toContain('GET');
    for (const call of calls) {
      expect(call.identity).toMatchObject({
        accessKey: t.stack.callerCredentials.accessKeyId,
        userArn: t.stack.callerArn,
      });
    }

    // A retried Flyte task (same execution id) gets the same job back, already SUCCEEDED: no second run.
    const retried = await runExample([TASK_FILE, '--api-url', t.stack.frontDoorUrl], env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ jobId, phase: 'SUCCEEDED', runId: job.runId });
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
  }, 60_000);

  it('a job that ends FAILED (a namespace with no Databricks credentials) exits 1 with phase and message', async () => {
    const executionId = `flyte-${stamp}-no-pat`;
    const namespace = 'flyte-example-development';
    const jobId = jobIdFor(namespace, executionId);

    const ran = await runExample(
      [TASK_FILE, '--api-url', t.stack.frontDoorUrl],
      flyteEnv('flyte-example', 'development', executionId),
    );
    expect(ran.code, ran.stderr).toBe(1);
    expect(ran.stdout).toBe('');
    const view = await apiView(jobId);
    expect(view.phase).toBe('FAILED');
    expect(view.message).toBeTruthy();
    expect(ran.stderr).toContain(`error: Databricks job ${jobId} ended FAILED: ${view.message}`);
    expect(runsFor(t.stack, jobId)).toHaveLength(0);
  }, 60_000);

  it.each<{ name: string; caller: () => Caller; errorType: string; message: RegExp }>([
    {
      name: 'an access key the API does not know',
      caller: () => ({
        accessKeyId: 'AKIAFLYTEEXAMPLE0000',
        secretAccessKey: t.stack.callerCredentials.secretAccessKey,
      }),
      errorType: 'UnrecognizedClientException',
      message: /The security token included in the request is invalid/,
    },
    {
      name: 'the right access key with a wrong secret',
      caller: () => ({
        accessKeyId: t.stack.callerCredentials.accessKeyId,
        secretAccessKey: 'wrong-secret-for-the-test',
      }),
      errorType: 'InvalidSignatureException',
      message: /signature we calculated does not match/,
    },
  ])('$name: the 403 is a clear error, exit 3, no job', async ({ name, caller, errorType, message }) => {
    const executionId = `flyte-${stamp}-${errorType}`;

    const ran = await runExample(
      [TASK_FILE, '--api-url', t.stack.frontDoorUrl],
      flyteEnv(PROJECT, DOMAIN, executionId),
      caller(),
    );
    expect(ran.code, `${name}: ${ran.stderr}`).toBe(3);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toContain(`error: POST /v1/jobs answered 403: ${errorType}: `);
    expect(ran.stderr).toMatch(message);
    expect(ran.stderr).not.toContain('Traceback');
    expect((await t.api.get(jobIdFor(NAMESPACE, executionId))).status).toBe(404);
  });

  it('refuses http to anything but loopback', async () => {
    const ran = await runExample(
      [TASK_FILE, '--api-url', 'http://example.invalid/local'],
      flyteEnv(PROJECT, DOMAIN, `flyte-${stamp}-http`),
    );
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain('must be https (http is accepted for loopback only)');
  });

  it('the client module: region from execute-api URLs, backoff from 2 s ×1.5 capped, only https off loopback', () => {
    const script = [
      'import json, random',
      'import databricks_lambda_client as c',
      'urls = ["https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod",',
      '        "https://a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.us-gov-west-1.amazonaws.com/prod/",',
      '        "https://jobs.example.com/v1", "http://127.0.0.1:3000/local"]',
      'delays = c.Backoff(jitter=0).delays(random.Random(1))',
      'jittered = c.Backoff().delays(random.Random(1))',
      'def refused(url):',
      '    try:',
      '        c.check_api_url(url)',
      '        return False',
      '    except ValueError:',
      '        return True',
      'print(json.dumps({"regions": [c.parse_region(u) for u in urls],',
      '                  "delays": [round(next(delays), 3) for _ in range(12)],',
      '                  "jittered": [next(jittered) for _ in range(40)],',
      '                  "refused": [refused(u) for u in ["http://10.0.0.1/x", "ftp://127.0.0.1/x", "https://u:p@h/x",',
      '                                                   "http://127.0.0.1:1/local", "http://[::1]:1/x"]]}))',
    ].join('\n');
    const ran = spawnSync(python(), ['-c', script], { cwd: EXAMPLE_DIR, env: BASE_ENV, encoding: 'utf8' });
    expect(ran.status, ran.stderr).toBe(0);
    const out = JSON.parse(ran.stdout) as {
      regions: unknown[];
      delays: number[];
      jittered: number[];
      refused: boolean[];
    };
    expect(out.regions).toEqual(['eu-west-1', 'us-gov-west-1', null, null]);
    expect(out.delays).toEqual([2, 3, 4.5, 6.75, 10.125, 15.188, 22.781, 34.172, 51.258, 60, 60, 60]);
    expect(out.jittered[0]).toBeGreaterThanOrEqual(1.6);
    expect(out.jittered[0]).toBeLessThanOrEqual(2.4);
    expect(Math.max(...out.jittered)).toBeLessThanOrEqual(72);
    expect(new Set(out.jittered.slice(20)).size).toBeGreaterThan(1);
    expect(out.refused).toEqual([true, true, true, false, false]);
  });
});
