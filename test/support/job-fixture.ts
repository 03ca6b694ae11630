/**
 * A stored job as tests need one: a running job with a Databricks run, in namespace `ns`, unless the test says
 * otherwise. The job id is derived from the namespace and execution id, as in production.
 */
import type { Job } from '../../shared/jobs/job.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';

const AT = '2026-01-01T00:00:00.000Z';

export function jobFixture(overrides: Partial<Job> = {}): Job {
  const namespace = overrides.namespace ?? 'ns';
  const executionId = overrides.executionId ?? 'exec';
  return {
    jobId: jobIdFor(namespace, executionId),
    namespace,
    executionId,
    requestHash: 'h',
    task: { databricksConf: { existing_cluster_id: 'c' } },
    container: { args: [], env: {} },
    databricksHost: 'https://dbc-1.cloud.databricks.com',
    phase: 'RUNNING',
    message: 'In run',
    runId: 7,
    cancelRequested: false,
    pollGeneration: 1,
    version: 1,
    createdAt: AT,
    updatedAt: AT,
    expiresAt: 1_900_000_000,
    ...overrides,
  };
}
