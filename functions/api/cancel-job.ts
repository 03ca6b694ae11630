/**
 * DELETE /v1/jobs/{id}: record the cancellation request and hand it to the cancel queue (202). A job that has
 * already ended is left as it is, and the answer says so (200). A job in a namespace the caller may not use
 * (CALLER_NAMESPACES) is answered 404 like an unknown one, and left alone.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { toJobView } from '../../shared/jobs/job.js';
import { mutateJob } from '../../shared/jobs/mutate-job.js';
import { isTerminalPhase } from '../../shared/jobs/phase.js';
import type { Ports } from '../ports.js';
import type { CallerEvent } from './caller-namespaces.js';
import { loadJob } from './get-job.js';
import { jsonResponse } from './http-error.js';

export async function cancelJob(
  jobId: string | undefined,
  ports: Ports,
  caller: CallerEvent,
): Promise<APIGatewayProxyResult> {
  const found = await loadJob(jobId, ports, caller);
  const job = await mutateJob(ports.store, found.jobId, (current) =>
    isTerminalPhase(current.phase) || current.cancelRequested ? undefined : { cancelRequested: true },
  );
  if (isTerminalPhase(job.phase)) {
    return jsonResponse(200, { ...toJobView(job), message: `Job already ended ${job.phase}; nothing to cancel` });
  }
  await ports.queues.sendCancel({ jobId: job.jobId });
  return jsonResponse(202, toJobView(job));
}
