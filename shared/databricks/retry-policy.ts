import { InvalidJobSpecError } from '../errors.js';

/**
 * Retry policy for Jobs API calls: full-jitter exponential backoff with `Retry-After` honoured as a floor.
 * Only throttling (429), gateway errors (502/503/504) and connection failures are retried; any other status,
 * 4xx especially, fails fast because repeating the same request cannot change the answer.
 */
export interface RetryPolicy {
  /** Total attempts including the first one. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per-request timeout (AbortSignal.timeout). */
  requestTimeoutMs: number;
  /** Upper bound for a server-sent Retry-After; defaults to maxDelayMs so a Lambda never sleeps past its budget. */
  retryAfterCapMs?: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  requestTimeoutMs: 30_000,
});

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Error codes (on the error or its `cause`) of transient socket failures. */
const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Merges overrides onto the defaults and rejects nonsense (a zero-attempt policy would never call Databricks). */
export function resolveRetryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...defined };
  const positive = ['maxAttempts', 'requestTimeoutMs'] as const;
  for (const key of positive) {
    if (!Number.isFinite(policy[key]) || policy[key] < 1) {
      throw new InvalidJobSpecError(`Retry policy ${key} must be >= 1, got ${policy[key]}`, `retry.${key}`);
    }
  }
  for (const key of ['baseDelayMs', 'maxDelayMs', 'retryAfterCapMs'] as const) {
    const value = policy[key];
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
      throw new InvalidJobSpecError(`Retry policy ${key} must be >= 0, got ${value}`, `retry.${key}`);
    }
  }
  return policy;
}

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/**
 * True for failures where no (complete) response arrived: fetch's `TypeError('fetch failed')`, our per-request
 * timeout (TimeoutError/AbortError) and socket resets/refusals. A TypeError without a cause that is not
 * 'fetch failed' is a local bug (bad URL, invalid header) and is not retried.
 */
export function isRetryableNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return true;
  if (hasRetryableCode(err) || hasRetryableCode(err.cause)) return true;
  return err.name === 'TypeError' && (err.message === 'fetch failed' || err.cause !== undefined);
}

function hasRetryableCode(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && RETRYABLE_ERROR_CODES.has(code);
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
