/**
 * Jobs for the benchmark, made the way a caller makes them: POST /v1/jobs through the stack's signed front door,
 * then waiting (bounded) until every job has reached the phase asked for.
 */
import type { LocalStack } from '../infra/local/local-stack.js';
import { isApiError, JobsApiClient } from '../shared/client/jobs-api-client.js';
import type { JobView } from '../shared/jobs/job.js';
import type { Phase } from '../shared/jobs/phase.js';

export function benchApiClient(stack: LocalStack): JobsApiClient {
  return new JobsApiClient(stack.frontDoorUrl, { region: stack.region, credentials: stack.callerCredentials });
}

export function benchJobRequest(namespace: string, executionId: string) {
  return {
    namespace,
    executionId,
    task: {
      databricksConf: { run_name: executionId, new_cluster: { spark_version: '15.4.x-scala2.12', num_workers: 1 } },
    },
    container: { image: 'ghcr.io/flyteorg/flytekit:py3.11-latest', args: ['pyflyte-execute', '--inputs', 'x'] },
  };
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
      const { status, body } = await api.submit(benchJobRequest(namespace, `${prefix}-${i}`));
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
