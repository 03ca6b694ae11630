/**
 * GET /v1/jobs/{id}: the job as the table holds it; no call to Databricks. A job in a namespace the caller may not
 * use (CALLER_NAMESPACES) is answered exactly like an unknown one.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { Job } from '../../shared/jobs/job.js';
import { toJobView } from '../../shared/jobs/job.js';
import { isJobId } from '../../shared/jobs/job-id.js';
import { annotateJob } from '../../shared/tracing/tracing.js';
import type { Ports } from '../ports.js';
import { assertCallerIdentified, type CallerEvent, callerMayUse } from './caller-namespaces.js';
import { HttpError, jsonResponse } from './http-error.js';

/** The job, if it exists and the caller may see its namespace; otherwise the one 404. */
export async function loadJob(jobId: string | undefined, ports: Ports, caller: CallerEvent): Promise<Job> {
  assertCallerIdentified(caller, ports.config);
  // A malformed id cannot exist; answering 404 without a read keeps junk ids away from DynamoDB.
  const job = jobId && isJobId(jobId) ? await ports.store.get(jobId) : undefined;
  // Another tenant's job gets the very answer an unknown id gets: its existence is not revealed.
  if (!job || !callerMayUse(caller, job.namespace, ports.config)) {
    throw new HttpError(404, 'NotFound', `No job with id '${jobId ?? ''}'`, 'id');
  }
  annotateJob(job);
  return job;
}

export async function getJob(
  jobId: string | undefined,
  ports: Ports,
  caller: CallerEvent,
): Promise<APIGatewayProxyResult> {
  return jsonResponse(200, toJobView(await loadJob(jobId, ports, caller)));
}
