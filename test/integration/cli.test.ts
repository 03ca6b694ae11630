/**
 * The real CLI (`flyte-databricks-lambda`: the package's bin launcher, run by node through tsx) as a child process
 * against a local stack, signing with the stack's caller keys taken from the environment like any AWS credentials.
 * Tests that watch a job get a longer timeout: the CLI polls at its own pace (1 s, growing), not the tests'.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../infra/local/emulators/databricks-workspace.js';
import { type Ran, runProcess } from '../../infra/local/run-process.js';
import type { JobView } from '../../shared/jobs/job.js';
import { NAMESPACE, runsFor, startTestStack, type TestStack } from './support/test-stack.js';

const BIN = join(import.meta.dirname, '../../shared/cli/flyte-databricks-lambda.mjs');
const EXAMPLE = join(import.meta.dirname, '../../examples/jobs/pat.json');
const FAILING_RUN = 'cli-must-fail';

let t: TestStack;
const stamp = Date.now();

beforeAll(async () => {
  t = await startTestStack({
    databricks: {
      timing: { pendingMs: 150, runningMs: 400, terminatingMs: 50 },
      outcome: (body): RunOutcome => ({ resultState: body.run_name === FAILING_RUN ? 'FAILED' : 'SUCCESS' }),
    },
  });
});
afterAll(() => t?.stack.stop());

function runCli(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return runProcess(process.execPath, [BIN, ...args], {
    cwd: join(import.meta.dirname, '../..'),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
      FLYTE_DATABRICKS_API_URL: t.stack.frontDoorUrl,
      AWS_ACCESS_KEY_ID: t.stack.callerCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: t.stack.callerCredentials.secretAccessKey,
      AWS_REGION: t.stack.region,
      ...env,
    },
  });
}

function writeRequest(name: string, body: unknown): string {
  const path = join(t.stack.scratchDir, name);
  writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
  return path;
}

let succeeded: JobView;

describe('flyte-databricks-lambda', () => {
  it('submit examples/jobs/pat.json --watch --json exits 0 with the SUCCEEDED job as its only output', async () => {
    const executionId = `cli-${stamp}-ok`;
    const ran = await runCli([
      'submit',
      EXAMPLE,
      '--watch',
      '--json',
      '--namespace',
      NAMESPACE,
      '--execution-id',
      executionId,
    ]);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    succeeded = JSON.parse(ran.stdout) as JobView;
    expect(succeeded).toMatchObject({ namespace: NAMESPACE, executionId, phase: 'SUCCEEDED' });
    expect(runsFor(t.stack, succeeded.jobId)).toHaveLength(1);
  }, 60_000);

  it('shows progress, one line per change, when not asked for JSON; status of the job exits 0', async () => {
    const ran = await runCli(['submit', EXAMPLE, '--watch', '--execution-id', `cli-${stamp}-human`]);
    expect(ran.code).toBe(0);
    const lines = ran.stderr.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(/^QUEUED · Databricks - · \d+s$/);
    expect(lines.at(-1)).toMatch(
      /^SUCCEEDED · Databricks TERMINATED · \d+s · http:\/\/127\.0\.0\.1:\d+\/\?o=\d+#job\/\d+\/run\/\d+$/,
    );
    expect(new Set(lines).size).toBe(lines.length);
    expect(ran.stdout).toMatch(/Phase\s+SUCCEEDED/);

    const status = await runCli(['status', succeeded.jobId]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(succeeded.jobId);
  }, 60_000);

  it('a request the API refuses exits 2 naming the field', async () => {
    const file = writeRequest('bad-request.json', {
      namespace: NAMESPACE,
      executionId: 'has spaces',
      task: { databricksConf: { run_name: 'x', new_cluster: {} } },
    });
    const human = await runCli(['submit', file]);
    expect(human.code).toBe(2);
    expect(human.stderr).toContain('(field: executionId)');
    const json = await runCli(['submit', file, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'ValidationError', field: 'executionId' } });
    const malformed = await runCli(['submit', writeRequest('malformed.json', '{"namespace": ')]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('is not valid JSON');
  });

  it('list shows the job', async () => {
    const json = await runCli(['list', NAMESPACE, '--json', '--limit', '50']);
    expect(json.code).toBe(0);
    const list = JSON.parse(json.stdout) as { jobs: JobView[]; nextToken: string | null };
    expect(list.jobs.map((job) => job.jobId)).toContain(succeeded.jobId);
    const human = await runCli(['list', NAMESPACE]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`${succeeded.jobId}\\s+${succeeded.executionId}\\s+SUCCEEDED`));
  });

  it('a job that FAILS exits 1', async () => {
    const request = {
      namespace: NAMESPACE,
      executionId: `cli-${stamp}-fail`,
      task: { databricksConf: { run_name: FAILING_RUN, new_cluster: { spark_version: '15.4.x-scala2.12' } } },
    };
    const ran = await runCli(['submit', writeRequest('failing.json', request), '--watch', '--json']);
    expect(ran.code).toBe(1);
    expect(JSON.parse(ran.stdout)).toMatchObject({ phase: 'FAILED', databricks: { resultState: 'FAILED' } });
  }, 60_000);

  it('exits 3 when its signature is refused or the API cannot be reached', async () => {
    const refused = await runCli(['status', succeeded.jobId], {
      AWS_ACCESS_KEY_ID: 'AKIANOTKNOWN00000000',
      AWS_SECRET_ACCESS_KEY: 'nope',
    });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('The security token included in the request is invalid.');
    const unreachable = await runCli(['status', succeeded.jobId, '--url', 'http://127.0.0.1:9/local']);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('Cannot reach http://127.0.0.1:9/local');
  });
});
