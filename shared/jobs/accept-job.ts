/**
 * Accepting a job request, shared by the API and by submit messages that carry a whole request: validate it as
 * far as can be done without credentials, then create the job once. Everything that can be wrong with the request
 * is found here, before anything is stored; a repeated request finds the job it made the first time.
 */

import { taskTokenFileProblem } from '../auth/token-file.js';
import type { Config } from '../config.js';
import { buildSubmitRunBody } from '../databricks/submit-body.js';
import { assertWorkspaceAllowed, type WorkspacePolicyConfig } from '../databricks/workspace-policy.js';
import { normalizeWorkspaceUrl } from '../databricks/workspace-url.js';
import { ConnectorError, InvalidJobSpecError } from '../errors.js';
import { countJobAccepted } from '../metrics/metrics.js';
import type { Job } from './job.js';
import { jobIdFor } from './job-id.js';
import type { JobStore } from './job-store.js';
import { assertNewJobFits } from './job-too-large.js';
import { heartbeat } from './liveness.js';
import { requestHash } from './request-hash.js';
import type { SubmitRequest } from './submit-request.js';

export type AcceptConfig = Pick<
  Config,
  'FLYTE_DATABRICKS_SERVICE_CREDENTIAL_PROVIDER' | 'JOB_RETENTION_DAYS' | 'OIDC_TOKEN_FILE_DIRS'
> &
  WorkspacePolicyConfig;

/** The same executionId was used before for a different request. */
export class JobConflictError extends ConnectorError {
  constructor(readonly jobId: string) {
    super(`Job ${jobId} already exists for this namespace and executionId with a different request`, {
      permanent: true,
    });
  }
}

export interface AcceptedJob {
  job: Job;
  created: boolean;
}

const MISSING_INSTANCE =
  'Missing databricks instance. Please set the value through the task config or set the ' +
  'FLYTE_DATABRICKS_INSTANCE environment variable in the connector.';

export async function acceptJob(
  request: SubmitRequest,
  deps: { store: JobStore; config: AcceptConfig; now: Date },
): Promise<AcceptedJob> {
  const job = newJob(request, deps.config, deps.now);
  assertNewJobFits(job);
  if (await deps.store.create(job)) {
    countJobAccepted();
    return { job, created: true };
  }
  const existing = await deps.store.get(job.jobId);
  if (!existing) throw new Error(`Job ${job.jobId} vanished between create and read`);
  if (existing.requestHash !== job.requestHash) throw new JobConflictError(job.jobId);
  return { job: existing, created: false };
}

function newJob(request: SubmitRequest, config: AcceptConfig, now: Date): Job {
  const { namespace, executionId, task, container } = request;
  const host = task.databricksInstance ?? config.FLYTE_DATABRICKS_INSTANCE;
  if (!host) throw new InvalidJobSpecError(MISSING_INSTANCE, 'task.databricksInstance');
  const databricksHost = normalizeWorkspaceUrl(host, config.ALLOW_INSECURE_LOOPBACK_DATABRICKS);
  assertWorkspaceAllowed(databricksHost, namespace, config);
  // A token file outside the operator's directories can never be read: say so now, not at submit.
  if (task.databricksOidcTokenFile !== undefined) {
    const problem = taskTokenFileProblem(task.databricksOidcTokenFile, config.OIDC_TOKEN_FILE_DIRS);
    if (problem) throw new InvalidJobSpecError(problem, 'task.databricksOidcTokenFile');
  }
  const jobId = jobIdFor(namespace, executionId);
  // Build the runs/submit body once now, only to reject what could never be submitted (e.g. no compute).
  buildSubmitRunBody({
    task,
    container,
    idempotencyToken: jobId,
    defaultServiceCredentialProvider: config.FLYTE_DATABRICKS_SERVICE_CREDENTIAL_PROVIDER,
  });
  const timestamp = now.toISOString();
  return {
    jobId,
    namespace,
    executionId,
    requestHash: requestHash(request),
    task,
    container,
    databricksHost,
    phase: 'QUEUED',
    message: 'Accepted; waiting to be submitted to Databricks',
    cancelRequested: false,
    pollGeneration: 0,
    // Live from the start: a job whose submit message is lost is found by the sweeper.
    ...heartbeat({ jobId, databricksHost }, now),
    version: 1,
    createdAt: timestamp,
    updatedAt: timestamp,
    expiresAt: Math.floor(now.getTime() / 1000) + config.JOB_RETENTION_DAYS * 86_400,
  };
}
