/**
 * clients/python (the supported Flyte integration) as a Flyte task pod runs it: `python -m flyte_databricks_lambda
 * run` with the variables FlytePropeller sets (HOSTNAME is the pod name, <execution>-<node>-<attempt>), signing with
 * botocore, against a local stack. The emulator decides each run's end by its idempotency token (the job id), so a
 * test can make one attempt's run fail or last while the next attempt's succeeds. The flytekit task type is run
 * once, with the labelled flytekit stand-in (clients/python/tests/flytekit_standin): flytekit cannot be installed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../infra/local/emulators/databricks-workspace.js';
import type { Ran } from '../../infra/local/run-process.js';
import type { JobView } from '../../shared/jobs/job.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { PYTHON_BASE_ENV, PYTHON_PACKAGE_DIR, python } from '../support/python.js';
import {
  jobView,
  NAMESPACE,
  runsFor,
  scanJobs,
  startTestStack,
  type TestStack,
  waitFor,
} from './support/test-stack.js';

const EXAMPLE_CONFIG = join(import.meta.dirname, '../../examples/flyte/databricks_task.json');
const STANDIN_DIR = join(PYTHON_PACKAGE_DIR, 'tests/flytekit_standin');
const [PROJECT, DOMAIN] = NAMESPACE.split('-') as [string, string];
/** What propeller rendered into the pod's command: the run gets exactly this. */
const ARGS = [
  'pyflyte-execute',
  '--inputs',
  's3://bucket/metadata/propeller/flytesnacks-development-e/n0/data/inputs.pb',
  '--output-prefix',
  's3://bucket/metadata/propeller/flytesnacks-development-e/n0/data/0',
  '--raw-output-data-prefix',
  's3://bucket/raw/e-n0-0',
  '--resolver',
  'flytekit.core.python_auto_container.default_task_resolver',
  '--',
  'task-module',
  'workflows.etl',
  'task-name',
  'spark_task',
];
/**
 * A run the test stops or re-attaches to must still be going when a poll has seen it RUNNING and the test has acted:
 * long against the stack's 400 ms, and against the first poll, which comes a second or two after the submit here (the
 * test stack's poll event source has no batching window and its poll interval is at most 1 s; a cold poll function
 * adds its start, a few seconds on a loaded machine). The run SIGTERM cancels lasts 20 s: the test ends as soon as the
 * cancel is through, so only the margin for the cancel function's cold start counts. The run a retry re-attaches to
 * is waited out to its end, so it is shorter: 10 s, against the second attempt's start and first GET once RUNNING is
 * seen (under a second alone, a few seconds on a loaded machine).
 */
const LONG_RUN: RunOutcome = { resultState: 'SUCCESS', timing: { runningMs: 20_000 } };
const REATTACHED_RUN: RunOutcome = { resultState: 'SUCCESS', timing: { runningMs: 10_000 } };
const PROCESS_TIMEOUT_MS = 45_000;

/** How each job's run ends, by job id (the run's idempotency_token); SUCCESS when not listed. */
const outcomes = new Map<string, RunOutcome>();
let t: TestStack;
let configPath: string;
const stamp = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  python();
  t = await startTestStack({
    databricks: {
      timing: { pendingMs: 150, runningMs: 400, terminatingMs: 50 },
      outcome: (body) => outcomes.get(String(body.idempotency_token)) ?? { resultState: 'SUCCESS' },
    },
  });
  configPath = join(t.stack.scratchDir, 'databricks_task.json');
  writeFileSync(configPath, readFileSync(EXAMPLE_CONFIG));
});
afterAll(() => t?.stack.stop());

interface Pod {
  execution: string;
  node?: string;
  attempt?: number;
  extra?: Record<string, string>;
}

/** The variables FlytePropeller sets in a task pod. */
function podEnv({ execution, node = 'n0', attempt = 0, extra = {} }: Pod): Record<string, string> {
  return {
    FLYTE_INTERNAL_EXECUTION_PROJECT: PROJECT,
    FLYTE_INTERNAL_EXECUTION_DOMAIN: DOMAIN,
    FLYTE_INTERNAL_EXECUTION_ID: execution,
    FLYTE_INTERNAL_TASK_NAME: 'workflows.etl.spark_task',
    FLYTE_ATTEMPT_NUMBER: String(attempt),
    HOSTNAME: `${execution}-${node}-${attempt}`,
    ...extra,
  };
}

interface Started {
  child: ChildProcess;
  done: Promise<Ran>;
}

function startPython(args: string[], env: Record<string, string>, secretAccessKey?: string): Started {
  const child = spawn(python(), args, {
    cwd: PYTHON_PACKAGE_DIR,
    env: {
      ...PYTHON_BASE_ENV,
      AWS_ACCESS_KEY_ID: t.stack.callerCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey ?? t.stack.callerCredentials.secretAccessKey,
      AWS_REGION: t.stack.region,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT_MS);
  const done = new Promise<Ran>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? -1 : null), stdout, stderr });
    });
  });
  return { child, done };
}

/** One task attempt: `python -m flyte_databricks_lambda run <config> -- <rendered command>`. */
function startTask(pod: Pod, options: { config?: string; secretAccessKey?: string } = {}): Started {
  const cli = ['-m', 'flyte_databricks_lambda', 'run', options.config ?? configPath];
  const settings = ['--api-url', t.stack.frontDoorUrl, '--poll-initial', '0.2', '--poll-max', '0.5'];
  return startPython([...cli, ...settings, '--abort-wait', '15', '--', ...ARGS], podEnv(pod), options.secretAccessKey);
}

const idOf = (executionId: string) => jobIdFor(NAMESPACE, executionId);

function waitForPhase(jobId: string, phase: string): Promise<JobView | undefined> {
  return waitFor(
    async () => ((await t.api.get(jobId)).status === 200 ? jobView(t.api, jobId) : undefined),
    (view) => view?.phase === phase,
  );
}

/** The parts of a runs/submit body the tests read (a classic single-task run). */
interface RunBody {
  spark_python_task: { parameters: string[] };
  new_cluster: {
    docker_image?: { url: string };
    spark_conf?: Record<string, string>;
    spark_env_vars: Record<string, string>;
  };
}

/** The runs/submit body of the job's only run. */
function runBody(jobId: string): RunBody {
  const runs = runsFor(t.stack, jobId);
  expect(runs, jobId).toHaveLength(1);
  return runs[0]?.body as unknown as RunBody;
}

function jobPosts(): number {
  return t.stack.frontDoorCalls.filter((call) => call.method === 'POST' && call.path === '/v1/jobs').length;
}

// The system retry test counts the front door's POSTs, so it runs alone, first; the others only wait on their own
// processes and jobs, so they run at once.
describe('clients/python: a Flyte task attempt running its Databricks job', () => {
  it('a system retry during a live run (the pod was lost) re-attaches: no new job, one run, SUCCEEDED', async () => {
    const execution = `e${stamp}e`;
    const jobId = idOf(`${execution}/n0`);
    outcomes.set(jobId, REATTACHED_RUN);

    const lost = startTask({ execution, attempt: 0 });
    expect((await waitForPhase(jobId, 'RUNNING'))?.phase).toBe('RUNNING');
    // A lost pod gets no SIGTERM: nothing cancels the run.
    lost.child.kill('SIGKILL');
    await lost.done;
    const posts = jobPosts();

    const retried = await startTask({ execution, attempt: 1 }).done;

    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ jobId, executionId: `${execution}/n0`, phase: 'SUCCEEDED' });
    // It found the run still going: a re-attach during the live run, not a look at a finished one.
    expect(retried.stderr).toMatch(
      new RegExp(`attempt 1: attaching to job ${jobId} \\(executionId ${execution}/n0, (INITIALIZING|RUNNING)\\)`),
    );
    expect(jobPosts()).toBe(posts);
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
    expect(runsFor(t.stack, jobId)[0]?.cancelRequested).toBe(false);
    expect((await t.api.get(idOf(`${execution}/n0/attempt-1`))).status).toBe(404);
  }, 60_000);

  it.concurrent('SUCCEEDS as <execution>/<node>; DatabricksV2 fields are the task, the pod command the parameters', async ({
    expect,
  }) => {
    const execution = `e${stamp}a`;
    const jobId = idOf(`${execution}/n0`);

    const ran = await startTask({ execution }).done;

    expect(ran.code, ran.stderr).toBe(0);
    const job = JSON.parse(ran.stdout) as JobView;
    expect(job).toMatchObject({ jobId, namespace: NAMESPACE, executionId: `${execution}/n0`, phase: 'SUCCEEDED' });
    expect(job.runPageUrl).toBeTruthy();
    expect(ran.stderr).toContain(`attempt 0: submitted job ${jobId}`);
    expect(ran.stderr).toContain(`job ${jobId} SUCCEEDED`);
    expect(ran.stderr).toContain(`Databricks run page: ${job.runPageUrl}`);

    // The task as flytekit serializes DatabricksV2's custom, and the run built from it.
    const stored = (await scanJobs(t.stack)).find((item) => item.jobId === jobId);
    const example = JSON.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    expect(stored?.task).toEqual({ sparkConf: example.spark_conf, databricksConf: example.databricks_conf });
    const body = runBody(jobId);
    expect(body.spark_python_task.parameters).toEqual(ARGS);
    expect(body.new_cluster.docker_image).toEqual({ url: example.container_image });
    expect(body.new_cluster.spark_conf).toEqual(example.spark_conf);
    expect(body.new_cluster.spark_env_vars).toMatchObject({
      FLYTE_DATABRICKS_LAMBDA_RUN: 'true',
      FLYTE_INTERNAL_EXECUTION_ID: execution,
      FLYTE_ATTEMPT_NUMBER: '0',
      FLYTE_FAIL_ON_ERROR: 'true',
    });
    expect(body.new_cluster.spark_env_vars.HOSTNAME).toBeUndefined();

    // API Gateway accepted botocore's signature and saw the caller's IAM identity (other tests POST meanwhile, so
    // only this job's own reads are told apart).
    const reads = t.stack.frontDoorCalls.filter((call) => call.path.endsWith(jobId));
    expect(reads.map((call) => call.method)).toContain('GET');
    for (const call of reads) expect(call.identity.userArn).toBe(t.stack.callerArn);
  }, 60_000);

  it.concurrent('two tasks of one execution, and the items of a map task, are a job and a run each', async ({
    expect,
  }) => {
    const execution = `e${stamp}b`;
    const mapItem = (index: number): Pod => ({
      execution,
      node: 'n2',
      extra: { BATCH_JOB_ARRAY_INDEX_VAR_NAME: 'FLYTE_K8S_ARRAY_INDEX', FLYTE_K8S_ARRAY_INDEX: String(index) },
    });
    const pods: Array<[Pod, string]> = [
      [{ execution, node: 'n0' }, `${execution}/n0`],
      [{ execution, node: 'n1' }, `${execution}/n1`],
      [mapItem(0), `${execution}/n2/0`],
      [mapItem(1), `${execution}/n2/1`],
    ];

    const ran = await Promise.all(pods.map(([pod]) => startTask(pod).done));

    for (const [index, [, executionId]] of pods.entries()) {
      const result = ran[index] as Ran;
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ jobId: idOf(executionId), executionId, phase: 'SUCCEEDED' });
      expect(runsFor(t.stack, idOf(executionId))).toHaveLength(1);
    }
    expect(new Set(pods.map(([, executionId]) => idOf(executionId))).size).toBe(4);
  }, 60_000);

  it.concurrent('a FAILED run fails the attempt for good; a retry submits a second job, whose run SUCCEEDS', async ({
    expect,
  }) => {
    const execution = `e${stamp}c`;
    const first = idOf(`${execution}/n0`);
    const second = idOf(`${execution}/n0/attempt-1`);
    outcomes.set(first, { resultState: 'FAILED', stateMessage: 'Workload failed: ZeroDivisionError' });

    const failed = await startTask({ execution, attempt: 0 }).done;
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toContain(`error: Databricks job ${first} ended FAILED: Workload failed: ZeroDivisionError`);
    expect(failed.stderr).not.toContain('recoverable');

    const retried = await startTask({ execution, attempt: 1 }).done;
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ jobId: second, executionId: `${execution}/n0/attempt-1` });
    expect(retried.stderr).toContain(`job ${first} of attempt 0 ended FAILED; submitting a new job`);
    expect(runsFor(t.stack, first)).toHaveLength(1);
    expect(runsFor(t.stack, second)).toHaveLength(1);
    expect(runBody(second).new_cluster.spark_env_vars.FLYTE_ATTEMPT_NUMBER).toBe('1');
  }, 60_000);

  it.concurrent('a RETRYABLE_FAILED run (Databricks INTERNAL_ERROR) is a recoverable failure', async ({ expect }) => {
    const execution = `e${stamp}d`;
    const jobId = idOf(`${execution}/n0`);
    outcomes.set(jobId, { resultState: 'FAILED', lifeCycleState: 'INTERNAL_ERROR', stateMessage: 'Cluster lost' });

    const ran = await startTask({ execution }).done;

    expect(ran.code, ran.stderr).toBe(4);
    expect(ran.stderr).toContain(`error (recoverable): Databricks job ${jobId} ended RETRYABLE_FAILED: Cluster lost`);
  }, 60_000);

  it.concurrent('SIGTERM mid-run cancels: the job ends ABORTED and the emulator cancels the run', async ({
    expect,
  }) => {
    const execution = `e${stamp}f`;
    const jobId = idOf(`${execution}/n0`);
    outcomes.set(jobId, LONG_RUN);

    const pod = startTask({ execution });
    expect((await waitForPhase(jobId, 'RUNNING'))?.phase).toBe('RUNNING');
    pod.child.kill('SIGTERM');
    const ran = await pod.done;

    expect(ran.code, ran.stderr).toBe(128 + 15);
    expect(ran.stderr).toContain(`signal 15: cancelling job ${jobId}`);
    expect(ran.stderr).toContain(`job ${jobId} ABORTED`);
    expect((await jobView(t.api, jobId)).phase).toBe('ABORTED');
    const runs = runsFor(t.stack, jobId);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.cancelRequested).toBe(true);
  }, 60_000);

  it.concurrent('an API refusal is not recoverable and names the field; a refused signature is a clear 403', async ({
    expect,
  }) => {
    const noCompute = join(t.stack.scratchDir, 'no-compute.json');
    writeFileSync(noCompute, JSON.stringify({ databricks_conf: { run_name: 'no-compute' } }));
    const execution = `e${stamp}g`;

    const [invalid, unsigned] = await Promise.all([
      startTask({ execution, node: 'n0' }, { config: noCompute }).done,
      startTask({ execution, node: 'n1' }, { secretAccessKey: 'wrong-secret-for-the-test' }).done,
    ]);

    expect(invalid.code, invalid.stderr).toBe(2);
    expect(invalid.stderr).toMatch(
      /error: POST \/v1\/jobs answered 400: ValidationError: .*\(field task\.databricksConf\)/,
    );
    expect(unsigned.code, unsigned.stderr).toBe(2);
    expect(unsigned.stderr).toContain('answered 403: InvalidSignatureException: ');
    for (const text of [invalid.stderr, unsigned.stderr]) expect(text).not.toContain('Traceback');
    expect((await t.api.get(idOf(`${execution}/n0`))).status).toBe(404);
    expect((await t.api.get(idOf(`${execution}/n1`))).status).toBe(404);
  }, 60_000);

  it.concurrent('the task type (flytekit stand-in) submits its own command, then IgnoreOutputs', async ({ expect }) => {
    const execution = `e${stamp}h`;
    const jobId = idOf(`${execution}/n5`);
    const settings = { api_url: t.stack.frontDoorUrl, poll_initial_seconds: 0.2, poll_max_seconds: 0.5 };
    const config = join(t.stack.scratchDir, 'plugin.json');
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(EXAMPLE_CONFIG, 'utf8')), ...settings }));
    // pyflyte-fast-execute starts pyflyte-execute with the code distribution inserted before --resolver.
    const resolver = ARGS.indexOf('--resolver');
    const argv = [
      '/usr/local/bin/pyflyte-execute',
      ...ARGS.slice(1, resolver),
      ...['--dynamic-addl-distro', 's3://bucket/fast/abc.tar.gz', '--dynamic-dest-dir', '.'],
      ...ARGS.slice(resolver),
    ];
    const script = [
      'import json, sys',
      'from flytekit import DECKS, task',
      'from flytekit.extend import IgnoreOutputs',
      'from flyte_databricks_lambda import DatabricksLambda',
      'config = DatabricksLambda.from_dict(json.load(open(sys.argv[1])))',
      '@task(task_config=config, environment={"MY_SETTING": "1"})',
      'def spark_task(n: int) -> int:',
      '    return n',
      'sys.argv = json.loads(sys.argv[2])',
      'try:',
      '    spark_task.execute(n=1)',
      '    print(json.dumps({"ignored": False}))',
      'except IgnoreOutputs as e:',
      '    print(json.dumps({"ignored": True, "reason": str(e), "decks": DECKS}))',
    ].join('\n');

    const ran = await startPython(['-c', script, config, JSON.stringify(argv)], {
      ...podEnv({ execution, node: 'n5' }),
      PYTHONPATH: `${STANDIN_DIR}:${PYTHON_PACKAGE_DIR}`,
    }).done;

    expect(ran.code, ran.stderr).toBe(0);
    const out = JSON.parse(ran.stdout) as { ignored: boolean; reason: string; decks: Array<[string, string]> };
    expect(out).toMatchObject({
      ignored: true,
      reason: `Databricks job ${jobId} SUCCEEDED; its run wrote this task's outputs`,
    });
    const view = await jobView(t.api, jobId);
    expect(out.decks).toEqual([
      ['Databricks', expect.stringContaining(`href="${view.runPageUrl?.replaceAll('&', '&amp;')}"`)],
    ]);
    const body = runBody(jobId);
    expect(body.spark_python_task.parameters).toEqual([
      'pyflyte-fast-execute',
      '--additional-distribution',
      's3://bucket/fast/abc.tar.gz',
      '--dest-dir',
      '.',
      '--',
      ...ARGS,
    ]);
    expect(body.new_cluster.spark_env_vars).toMatchObject({ MY_SETTING: '1', FLYTE_DATABRICKS_LAMBDA_RUN: 'true' });
  }, 60_000);
});
