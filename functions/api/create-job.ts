/**
 * POST /v1/jobs: accept the job and hand it to the submit queue. 202 for a new job; a repeated request returns
 * the job it created the first time (200), re-sending the submit message if the job is still waiting for it,
 * which heals a send that failed after the job was stored. A namespace the caller may not use (CALLER_NAMESPACES)
 * is refused with 403 before anything is stored.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { InvalidJobSpecError } from '../../shared/errors.js';
import { acceptJob, JobConflictError } from '../../shared/jobs/accept-job.js';
import { toJobView } from '../../shared/jobs/job.js';
import { JobItemRejectedError } from '../../shared/jobs/job-store.js';
import { JobTooLargeError } from '../../shared/jobs/job-too-large.js';
import type { SubmitRequest } from '../../shared/jobs/submit-request.js';
import { annotateJob } from '../../shared/tracing/tracing.js';
import type { Ports } from '../ports.js';
import { assertCallerMayUse, type CallerEvent } from './caller-namespaces.js';
import { HttpError, jsonResponse } from './http-error.js';

export async function createJob(
  request: SubmitRequest,
  ports: Ports,
  caller: CallerEvent,
): Promise<APIGatewayProxyResult> {
  assertCallerMayUse(caller, request.namespace, ports.config);
  let accepted: Awaited<ReturnType<typeof acceptJob>>;
  try {
    accepted = await acceptJob(request, { store: ports.store, config: ports.config, now: ports.now() });
  } catch (error) {
    if (error instanceof InvalidJobSpecError) throw new HttpError(400, 'ValidationError', error.message, error.field);
    if (error instanceof JobConflictError) throw new HttpError(409, 'Conflict', error.message, 'executionId');
    // Too large to store: refused before storing, or by DynamoDB itself (which the size estimate missed).
    if (error instanceof JobTooLargeError) throw new HttpError(413, 'PayloadTooLarge', error.message, 'task');
    if (error instanceof JobItemRejectedError) {
      throw error.tooLarge
        ? new HttpError(413, 'PayloadTooLarge', error.message, 'task')
        : new HttpError(400, 'ValidationError', error.message);
    }
    throw error;
  }
  const { job, created } = accepted;
  annotateJob(job);
  if (created || (job.phase === 'QUEUED' && job.runId === undefined && !job.cancelRequested)) {
    await ports.queues.sendSubmit({ jobId: job.jobId });
  }
  return jsonResponse(created ? 202 : 200, toJobView(job), { Location: `/v1/jobs/${job.jobId}` });
}
