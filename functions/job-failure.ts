/**
 * What a handler does when its work on a job fails. A permanent failure (bad credentials config, a request
 * Databricks rejects, a run that no longer exists) ends the job at once with the reason, and the message is
 * consumed: retrying cannot help. A transient one is rethrown so SQS redelivers it; on the message's last receive
 * the job is ended first, with the reason, so nothing is left waiting on a message that went to the DLQ.
 * A job whose item DynamoDB will no longer take (over its size limit) is still ended with the reason: without its
 * task and container, the bulk of any item, which nothing reads once the job has ended.
 */
import { ConnectorError } from '../shared/errors.js';
import { DeferError } from '../shared/invocation-deadline.js';
import { boundJobMessage, MAX_JOB_MESSAGE_LENGTH } from '../shared/jobs/job-message.js';
import { JobItemRejectedError, type JobStore } from '../shared/jobs/job-store.js';
import { mutateJob } from '../shared/jobs/mutate-job.js';
import { isTerminalPhase } from '../shared/jobs/phase.js';

export function isPermanent(error: unknown): boolean {
  return error instanceof ConnectorError && error.permanent;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const DROPPED = "; its task and container were dropped from the record because the item exceeded DynamoDB's size limit";

export async function failJob(
  store: JobStore,
  jobId: string,
  phase: 'FAILED' | 'RETRYABLE_FAILED',
  message: string,
  now: Date,
): Promise<void> {
  const finishedAt = now.toISOString();
  try {
    await mutateJob(store, jobId, (job) => (isTerminalPhase(job.phase) ? undefined : { phase, message, finishedAt }));
  } catch (error) {
    if (!(error instanceof JobItemRejectedError && error.tooLarge)) throw error;
    // Room for the suffix: the store would otherwise cut it off a long message.
    const slim = `${boundJobMessage(message, MAX_JOB_MESSAGE_LENGTH - DROPPED.length)}${DROPPED}`;
    await mutateJob(store, jobId, (job) =>
      isTerminalPhase(job.phase) ? undefined : { phase, message: slim, finishedAt, task: null, container: null },
    );
  }
}

/** Ends the job where the failure calls for it, and rethrows whatever SQS should redeliver. */
export async function settleFailure(
  error: unknown,
  options: { store: JobStore; jobId: string; step: string; isLastAttempt: boolean; now: Date },
): Promise<void> {
  const { store, jobId, step, isLastAttempt, now } = options;
  // Deferred work is not a failure, not even on the last receive: the record goes back as a new message.
  if (error instanceof DeferError) throw error;
  if (isPermanent(error)) {
    await failJob(store, jobId, 'FAILED', `${step} failed: ${describeError(error)}`, now);
    return;
  }
  if (isLastAttempt) {
    await failJob(
      store,
      jobId,
      'RETRYABLE_FAILED',
      `${step} kept failing and was given up: ${describeError(error)}`,
      now,
    );
  }
  throw error;
}
