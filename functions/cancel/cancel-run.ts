/**
 * Acts on a DELETE: asks Databricks to cancel the job's run. Cancellation is asynchronous on Databricks' side;
 * the poll chain sees the run end CANCELED and marks the job ABORTED. A job with no run yet needs nothing here:
 * the submit handler checks for the request before and after it creates the run. The message only says which job:
 * the job itself must record the request (`cancelRequested`, set by DELETE after the caller check), so a message
 * forged for a predictable job id cancels nothing.
 */
import { mutateJob } from '../../shared/jobs/mutate-job.js';
import { isTerminalPhase } from '../../shared/jobs/phase.js';
import { annotateJob } from '../../shared/tracing/tracing.js';
import { describeError, isPermanent } from '../job-failure.js';
import type { JobPorts } from '../job-ports.js';
import type { RecordContext } from '../sqs-batch.js';

export async function cancelRun(jobId: string, ports: JobPorts, record: RecordContext): Promise<void> {
  const job = await ports.store.get(jobId);
  if (!job) return record.log.warn('Cancel message names no job; dropping it');
  annotateJob(job);
  if (isTerminalPhase(job.phase) || job.cancelSentAt !== undefined) return;
  if (!job.cancelRequested) return record.log.warn('Cancel message for a job nobody asked to cancel; ignoring it');
  if (job.runId === undefined) return record.log.info('No run yet; the submit handler will honour the cancellation');
  const runId = job.runId;
  try {
    await ports.databricks(job.databricksHost, ports.auth(job)).cancelRun(runId);
  } catch (error) {
    if (!isPermanent(error)) throw error;
    // The poll chain will meet the same problem and end the job with it; say what happened to the cancellation.
    await mutateJob(
      ports.store,
      jobId,
      () => ({ message: `Cancelling the Databricks run failed: ${describeError(error)}` }),
      job,
    );
    return;
  }
  await mutateJob(
    ports.store,
    jobId,
    (current) =>
      current.cancelSentAt === undefined
        ? { cancelSentAt: ports.now().toISOString(), message: 'Cancellation requested' }
        : undefined,
    job,
  );
  record.log.info('Databricks run cancellation requested', { runId });
}
