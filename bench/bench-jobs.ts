/**
 * The real jobs the benchmark works on, made through the local stack's signed front door (or, for submit's cold
 * starts, accepted straight into the table), and what the stack must be started with for them (benchStackOptions).
 * What a measured process sends goes to the stack's own queues, parked (bench/bench-context.ts,
 * functionEnvironmentFor), so the stack's functions never race it for the same jobs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { LocalStack, LocalStackOptions } from '../infra/local/local-stack.js';
import { isApiError, JobsApiClient, unwrap } from '../shared/client/jobs-api-client.js';
import { parseConfig } from '../shared/config.js';
import { acceptJob } from '../shared/jobs/accept-job.js';
import type { Job, JobView } from '../shared/jobs/job.js';
import { DynamoDbJobStore } from '../shared/jobs/job-store.js';
import { mutateJob } from '../shared/jobs/mutate-job.js';
import type { Phase } from '../shared/jobs/phase.js';
import { type SubmitRequest, submitRequestSchema } from '../shared/jobs/submit-request.js';

/** The tenant of every benchmark job: it has no secret of its own, so the connector's OAuth client is used. */
export const BENCH_NAMESPACE = 'bench-m2m';
/** Runs stay RUNNING for the whole benchmark, so every poll is an unchanged poll. */
const RUN_TIMING = { pendingMs: 200, runningMs: 6 * 3600 * 1000, terminatingMs: 100 };

/**
 * What startLocalStack must be given (merge into your options): a connector-level OAuth M2M client, registered as a
 * service principal on the Databricks emulator and configured for the functions (DATABRICKS_CLIENT_ID,
 * DATABRICKS_CLIENT_SECRET, FLYTE_DATABRICKS_AUTH_TYPE=oauth_m2m), so ours, the reference and the floor all do
 * OAuth M2M; and runs that stay RUNNING for hours. Fresh credentials at each call.
 */
/**
 * WORKSPACE_API_BUDGET_RPS for the stacks that measure one call's cost (cold starts, warm polls, calls per poll):
 * far above their load, so each Databricks call still takes (and pays for) its ledger slot but never waits for one.
 * What the budget does to a busy workspace is measured by the pacing simulation and the burst.
 */
export const MEASUREMENT_BUDGET_RPS = '10000';

export function benchStackOptions(): Required<Pick<LocalStackOptions, 'env' | 'databricks'>> {
  const clientId = randomUUID();
  const clientSecret = `dose${randomBytes(24).toString('hex')}`;
  return {
    env: {
      DATABRICKS_CLIENT_ID: clientId,
      DATABRICKS_CLIENT_SECRET: clientSecret,
      FLYTE_DATABRICKS_AUTH_TYPE: 'oauth_m2m',
      WORKSPACE_API_BUDGET_RPS: MEASUREMENT_BUDGET_RPS,
    },
    databricks: {
      servicePrincipals: [{ applicationId: clientId, displayName: 'flyte-databricks-bench', secrets: [clientSecret] }],
      timing: RUN_TIMING,
    },
  };
}

/** Throws, saying what to pass, unless the stack was started with benchStackOptions(). */
export function assertBenchStack(stack: LocalStack): void {
  const { DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET, FLYTE_DATABRICKS_AUTH_TYPE } = stack.env;
  if (!DATABRICKS_CLIENT_ID || !DATABRICKS_CLIENT_SECRET || FLYTE_DATABRICKS_AUTH_TYPE !== 'oauth_m2m') {
    throw new Error(
      'The benchmark needs a local stack started with benchStackOptions() (bench/bench-jobs.ts) merged into its ' +
        'options: connector-level OAuth M2M (DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET, ' +
        'FLYTE_DATABRICKS_AUTH_TYPE=oauth_m2m) registered on the emulator, and long-running runs',
    );
  }
}

/** A client of the stack's front door, signing with the caller key pair the stack generated. */
export function benchApiClient(stack: LocalStack): JobsApiClient {
  return new JobsApiClient(stack.frontDoorUrl, { region: stack.region, credentials: stack.callerCredentials });
}

/** A job request like examples/jobs/pat.json, with an execution id of its own. */
export function benchJobRequest(executionId: string, namespace = BENCH_NAMESPACE): SubmitRequest {
  return submitRequestSchema.parse({
    namespace,
    executionId,
    task: {
      databricksConf: {
        run_name: 'flyte-bench',
        new_cluster: { spark_version: '15.4.x-scala2.12', node_type_id: 'm6i.large', num_workers: 1 },
        timeout_seconds: 3600,
      },
    },
    container: {
      image: 'ghcr.io/flyteorg/flytekit:py3.11-latest',
      args: ['pyflyte-execute', '--inputs', 's3://bucket/inputs.pb', '--output-prefix', 's3://bucket/outputs'],
      env: { FLYTE_INTERNAL_EXECUTION_ID: executionId },
    },
  });
}

const storeOf = (stack: LocalStack) => new DynamoDbJobStore(stack.dynamodb, stack.tableName);

/**
 * Accepted jobs (QUEUED, no run yet) written straight to the table, as POST /v1/jobs writes them, but without a
 * submit message: only the measured submit process ever submits them.
 */
export async function acceptFreshJobs(stack: LocalStack, count: number, label: string): Promise<Job[]> {
  const config = parseConfig(stack.env);
  const store = storeOf(stack);
  const jobs: Job[] = [];
  for (let i = 0; i < count; i++) {
    const request = benchJobRequest(`bench-${label}-${i}-${randomUUID()}`);
    jobs.push((await acceptJob(request, { store, config, now: new Date() })).job);
  }
  return jobs;
}

/**
 * Jobs whose Databricks run is RUNNING, made the way users make them (signed POST /v1/jobs through the front door,
 * submitted and polled by the stack's own functions), then detached from the stack: their poll chain is retired
 * (a new generation, so the stack's pending poll is dropped as stale), and only the benchmark polls them afterwards.
 */
export async function seedRunningJobs(
  stack: LocalStack,
  count: number,
  label: string,
  timeoutMs = 30_000,
): Promise<Job[]> {
  const client = benchApiClient(stack);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(unwrap(await client.submit(benchJobRequest(`bench-${label}-${i}-${randomUUID()}`))).jobId);
  }
  const store = storeOf(stack);
  const deadline = Date.now() + timeoutMs;
  const jobs: Job[] = [];
  for (const jobId of ids) {
    for (;;) {
      const job = await store.get(jobId);
      if (job?.phase === 'RUNNING') break;
      if (job && job.phase !== 'QUEUED' && job.phase !== 'INITIALIZING' && job.phase !== 'WAITING_FOR_RESOURCES') {
        throw new Error(`Seeded job ${jobId} ended ${job.phase}: ${job.message}`);
      }
      if (Date.now() > deadline) throw new Error(`Seeded job ${jobId} is not RUNNING after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    jobs.push(await mutateJob(store, jobId, (job) => ({ pollGeneration: job.pollGeneration + 1 })));
  }
  return jobs;
}

/**
 * Records a cancellation request on the jobs (as DELETE does; the cancel function acts only on a requested one) and
 * clears their cancelSentAt, so the next cancel message does the whole cancellation again.
 */
export async function rearmCancel(stack: LocalStack, jobs: readonly Job[]): Promise<void> {
  const store = storeOf(stack);
  for (const job of jobs) await mutateJob(store, job.jobId, () => ({ cancelRequested: true, cancelSentAt: null }));
}

/** The jobs as the table holds them now (current pollGeneration). */
export async function readJobs(stack: LocalStack, jobs: readonly Job[]): Promise<Job[]> {
  const store = storeOf(stack);
  return Promise.all(
    jobs.map(async ({ jobId }) => {
      const job = await store.get(jobId);
      if (!job) throw new Error(`Job ${jobId} vanished`);
      return job;
    }),
  );
}

/** POSTs `count` jobs, `concurrency` at a time; returns their ids in order. */
export async function submitJobs(
  api: JobsApiClient,
  namespace: string,
  prefix: string,
  count: number,
  concurrency = 16,
): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const { status, body } = await api.submit(benchJobRequest(`${prefix}-${i}`, namespace));
      if (isApiError(body)) throw new Error(`POST /v1/jobs answered ${status}: ${body.error.message}`);
      ids[i] = body.jobId;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return ids;
}

/** Waits until every job is in one of `phases`, reading each through the API; throws after `timeoutMs`. */
export async function waitForPhases(
  api: JobsApiClient,
  jobIds: readonly string[],
  phases: readonly Phase[],
  timeoutMs = 60_000,
): Promise<JobView[]> {
  const deadline = Date.now() + timeoutMs;
  const done = new Map<string, JobView>();
  while (done.size < jobIds.length) {
    for (const jobId of jobIds) {
      if (done.has(jobId)) continue;
      const { body } = await api.get(jobId);
      if (isApiError(body)) throw new Error(`GET ${jobId}: ${body.error.message}`);
      if (phases.includes(body.phase)) done.set(jobId, body);
    }
    if (done.size === jobIds.length) break;
    if (Date.now() > deadline) {
      throw new Error(`${jobIds.length - done.size} of ${jobIds.length} jobs did not reach ${phases.join('/')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return jobIds.map((id) => done.get(id) as JobView);
}
