/**
 * The time a record's work must be done by, and what to do when it cannot be. Lambda ends an invocation at its
 * timeout, whatever it is doing: a call still waiting on a slow workspace then takes the whole batch down with it,
 * spends every record's receive and skips the bookkeeping that ends a job with a reason. So each record runs with a
 * deadline (the invocation's remaining time less a safety margin, set by functions/sqs-batch.ts), outbound calls
 * size their timeouts and retries to it (shared/http/retry-loop.ts), and work that cannot finish in time throws a
 * DeferError: the record is put back with a delay as a new message (the handler's `defer`), so it spends none of the
 * receives that mean "poison", and the DLQ stays for messages that can never be handled.
 *
 * The deadline travels in AsyncLocalStorage rather than through every port: it is a property of the invocation, like
 * the logger's context, and the code that needs it (the retry loop) sits under several layers that do not.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ConnectorError } from './errors.js';
import type { DeferralReason } from './metrics/metric-catalog.js';

/** Time kept back from the invocation's end for deferring the record (one SendMessage) and answering Lambda. */
export const DEADLINE_SAFETY_MARGIN_MS = 5000;
/** The longest delay SQS allows on a message (DelaySeconds). */
export const MAX_DEFER_SECONDS = 900;
/**
 * No outbound attempt (Databricks through shared/http/retry-loop.ts, the AWS SDK, Kubernetes) starts with less than
 * this left: it could not get an answer and still leave the record time to be deferred.
 */
export const MIN_ATTEMPT_TIME_MS = 1000;
/** Kept back from the invocation's end even by a deferral's SendMessage: answering Lambda with the batch response. */
export const ANSWER_RESERVE_MS = 1000;

const storage = new AsyncLocalStorage<number>();

/** Runs `work` with a deadline (epoch ms); calls made inside it, however deep, see it through remainingMs(). */
export function runWithDeadline<T>(deadlineMs: number, work: () => Promise<T>): Promise<T> {
  return storage.run(deadlineMs, work);
}

/** Milliseconds left before the current deadline; Infinity outside of one (tests, scripts). */
export function remainingMs(now: number = Date.now()): number {
  const deadline = storage.getStore();
  return deadline === undefined ? Number.POSITIVE_INFINITY : deadline - now;
}

/**
 * Milliseconds left for the calls that hand a record on (SQS sends: the deferral itself, the next poll): the safety
 * margin below the deadline exists for them, so they may run past the record's deadline up to the invocation's end less
 * ANSWER_RESERVE_MS. Infinity outside of a deadline.
 */
export function handOffRemainingMs(now: number = Date.now()): number {
  return remainingMs(now) + DEADLINE_SAFETY_MARGIN_MS - ANSWER_RESERVE_MS;
}

/**
 * The work cannot be done now (no time left in this invocation, a workspace that asked to wait longer than a call
 * may sleep, a workspace known to be unhealthy): put the record back to run again after `delaySeconds`. Transient,
 * and never a reason to fail the job. `reason` says which, for the Deferrals metric (functions/sqs-batch.ts).
 */
export class DeferError extends ConnectorError {
  readonly delaySeconds: number;
  readonly reason: DeferralReason;
  constructor(message: string, delaySeconds: number, options: { reason: DeferralReason; cause?: unknown }) {
    super(message, { permanent: false, cause: options.cause });
    this.delaySeconds = Math.min(MAX_DEFER_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
    this.reason = options.reason;
  }
}
