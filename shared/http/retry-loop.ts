/**
 * The one retry loop for plain-HTTPS calls (the Jobs API client and the workspace token endpoint): bounded attempts,
 * full-jitter exponential backoff, `Retry-After` honoured as a floor, and a fresh per-attempt timeout signal.
 *
 * Every attempt fits the invocation's deadline (shared/invocation-deadline.ts): its timeout is what is left at most,
 * no attempt starts with less than MIN_ATTEMPT_TIME_MS left, and a backoff that would outlast the deadline, or a
 * `Retry-After` longer than the policy's cap, ends the call with a DeferError, so the record comes back later as a
 * new message instead of timing out the batch. The workspace's health is asked before and told after each attempt,
 * and each attempt waits for its slot in the workspace's call budget right before its request.
 *
 * The loop knows nothing about HTTP answers: each attempt classifies its own outcome (success, transient failure,
 * or one free repeat such as a credential refresh) and throws for a permanent failure. On giving up the loop hands
 * the last transient failure and the number of attempts made to the caller's `giveUp`, which builds the error.
 */

import { DeferError, MIN_ATTEMPT_TIME_MS, remainingMs } from '../invocation-deadline.js';
import { recordRetryAfterWait } from '../metrics/metrics.js';

/** Budget of one call. */
export interface RetryPolicy {
  /** Total attempts including the first one. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per-attempt timeout (AbortSignal.timeout). */
  requestTimeoutMs: number;
  /** Upper bound for a server-sent Retry-After; defaults to maxDelayMs so a Lambda never sleeps past its budget. */
  retryAfterCapMs?: number;
}

/** What one attempt came to; a permanent failure is thrown by the attempt instead. */
export type AttemptResult<T, F> =
  | { outcome: 'success'; value: T }
  /** A transient failure: counted, then retried after a backoff unless the attempts are used up. */
  | { outcome: 'transient'; failure: F; retryAfter?: string | null }
  /** Try again at once without counting an attempt (the refresh-once after a stale credential). */
  | { outcome: 'repeat' };

export interface AttemptContext {
  /** 1-based number of this attempt; a `repeat` keeps the number. */
  attempt: number;
  /**
   * This attempt's AbortSignal, aborting policy.requestTimeoutMs after the first call (call it right before the
   * request, so work done first, such as fetching a token, does not eat into the request's time). New every attempt.
   */
  timeoutSignal: () => AbortSignal;
  /**
   * Waits for the attempt's slot in the workspace's call budget (a DeferError when it cannot be had in time). Call it
   * right before the request, after anything else the attempt awaits (a token): a slot left to pass while a token is
   * fetched would be used late, bunched with the slots after it.
   */
  takeSlot: () => Promise<void>;
}

export interface RetryEvent<F> {
  /** Attempts that have failed so far (the one just failed included). */
  attempt: number;
  delayMs: number;
  failure: F;
}

export interface RetryLoopOptions<F> {
  policy: RetryPolicy;
  /** Builds the error thrown once the attempts are used up, from the last failure and how many attempts were made. */
  giveUp: (lastFailure: F, attempts: number) => unknown;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Clock for HTTP-date Retry-After values. */
  now?: () => number;
  /** Called before each backoff sleep (logging). */
  onRetry?: (event: RetryEvent<F>) => void;
  /** Free repeats allowed per call (default 1: refresh a stale credential once). */
  maxRepeats?: number;
  /** Milliseconds left for this call (default: the invocation's deadline, shared/invocation-deadline.ts). */
  remainingMs?: () => number;
  /**
   * The workspace's health (shared/databricks/workspace-health.ts): asked before each attempt (it throws a
   * DeferError while the workspace is unhealthy), told how each attempt went (a transient failure counts against it).
   */
  health?: {
    admit(): void;
    succeeded(): void;
    failed(timedOut: boolean, retryAfterMs?: number): void;
    /** The admitted attempt ended without reaching the workspace (deferred): a probe is handed back. */
    released(): void;
  };
  /**
   * The workspace's call budget (shared/databricks/workspace-call-budget.ts): every attempt is a call, and waits for
   * its slot through the context's takeSlot (or throws a DeferError when the workspace is booked further ahead than
   * the invocation can wait).
   */
  budget?: { take(remainingMs: number): Promise<void> };
  /** What is being called, for the messages of a deferral: `Databricks runs/get`, `the token endpoint`. */
  what?: string;
}

export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it succeeds, throws, or has failed transiently policy.maxAttempts times. */
export async function runWithRetries<T, F>(
  attempt: (context: AttemptContext) => Promise<AttemptResult<T, F>>,
  options: RetryLoopOptions<F>,
): Promise<T> {
  const { policy, giveUp } = options;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const maxRepeats = options.maxRepeats ?? 1;
  const remaining = options.remainingMs ?? (() => remainingMs());
  const what = options.what ?? 'the call';
  let failures = 0;
  let repeats = 0;
  let repeating = false;
  for (;;) {
    // Never start what cannot finish inside the invocation: the record goes back instead, spending no receive.
    if (remaining() < MIN_ATTEMPT_TIME_MS) {
      throw new DeferError(`No time left in this invocation for ${what} (attempt ${failures + 1})`, 1, {
        reason: 'deadline',
      });
    }
    // A repeat (a credential refreshed once) is the same attempt: admitted once, or a probe would refuse itself.
    if (!repeating) options.health?.admit();
    repeating = false;
    let slotTaken = false;
    const takeSlot = async () => {
      slotTaken = true;
      if (!options.budget) return;
      await options.budget.take(remaining());
      if (remaining() < MIN_ATTEMPT_TIME_MS) {
        // The budget's wait took the time: a deferral the budget caused.
        throw new DeferError(
          `No time left in this invocation for ${what} after waiting for the workspace's budget`,
          1,
          {
            reason: 'budget',
          },
        );
      }
    };
    let signal: AbortSignal | undefined;
    const timeoutSignal = () => {
      // Each attempt's timeout fits what is left of the invocation.
      signal ??= AbortSignal.timeout(Math.max(1, Math.min(policy.requestTimeoutMs, remaining())));
      return signal;
    };
    let result: AttemptResult<T, F>;
    try {
      result = await attempt({ attempt: failures + 1, timeoutSignal, takeSlot });
    } catch (error) {
      if (error instanceof DeferError) {
        // Deferred before an answer (the budget, the token's own deferral): not a word from the workspace.
        options.health?.released();
        throw error;
      }
      // A permanent failure is an answer: the workspace is up.
      options.health?.succeeded();
      throw error;
    }
    // An attempt that reached the workspace without its slot would break the budget for every tenant of it.
    if (options.budget && !slotTaken) throw new Error(`retry loop: ${what} was attempted without its budget slot`);
    if (result.outcome === 'success') {
      options.health?.succeeded();
      return result.value;
    }
    if (result.outcome === 'repeat') {
      repeats++;
      // A bug in the caller, not an answer from the server: never loop on free repeats.
      if (repeats > maxRepeats) {
        options.health?.released();
        throw new Error(`retry loop: more than ${maxRepeats} immediate repeat(s) requested`);
      }
      repeating = true;
      continue;
    }
    failures++;
    const retryAfterMs = parseRetryAfter(result.retryAfter, now());
    // No answer at all within the attempt's time is the strongest sign of a workspace in trouble; a Retry-After
    // says how long the workspace wants to be left alone.
    options.health?.failed(signal?.aborted ?? false, retryAfterMs);
    // A workspace that asks to wait longer than a call may sleep is waited for by deferring the record, not by
    // sleeping (or cutting the wait short): it comes back when the workspace asked.
    if (retryAfterMs !== undefined && retryAfterMs > (policy.retryAfterCapMs ?? policy.maxDelayMs)) {
      recordRetryAfterWait(retryAfterMs);
      throw new DeferError(`${what} asked to retry after ${Math.ceil(retryAfterMs / 1000)} s`, retryAfterMs / 1000, {
        reason: 'retry-after',
      });
    }
    if (failures >= policy.maxAttempts) throw giveUp(result.failure, failures);
    const delayMs = retryDelayMs(failures, result.retryAfter, policy, random, now());
    // Honoured either way: slept below, or the record deferred by as much.
    if (retryAfterMs !== undefined) recordRetryAfterWait(delayMs);
    if (delayMs + MIN_ATTEMPT_TIME_MS > remaining()) {
      throw new DeferError(
        `No time left in this invocation to retry ${what} after ${failures} failed attempt(s)`,
        delayMs / 1000,
        { reason: 'deadline' },
      );
    }
    options.onRetry?.({ attempt: failures, delayMs, failure: result.failure });
    await sleep(delayMs);
  }
}

/**
 * `Retry-After` in milliseconds from now: integer seconds or an HTTP-date (a past date gives 0).
 * Returns undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only accept something that looks like a date; Date.parse is lenient with plain numbers.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Delay before the next attempt, after `attempt` attempts (1-based) have failed.
 * Full jitter: uniform in [0, min(maxDelay, base * 2^(attempt-1))], then raised to the Retry-After floor
 * (itself capped at retryAfterCapMs ?? maxDelayMs).
 */
export function retryDelayMs(
  attempt: number,
  retryAfterHeader: string | null | undefined,
  policy: RetryPolicy,
  random: () => number = Math.random,
  now: number = Date.now(),
): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const jittered = Math.floor(clamp01(random()) * ceiling);
  const retryAfter = parseRetryAfter(retryAfterHeader, now);
  if (retryAfter === undefined) return jittered;
  return Math.max(jittered, Math.min(retryAfter, policy.retryAfterCapMs ?? policy.maxDelayMs));
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
