import { InvalidJobSpecError } from '../errors.js';
import type { RetryPolicy } from '../http/retry-loop.js';

export { parseRetryAfter, type RetryPolicy, retryDelayMs } from '../http/retry-loop.js';

/**
 * What a Databricks call retries, following the official SDKs: databricks-sdk-go (apierr/errors.go
 * `APIError.IsRetriable`, httpclient/api_client.go `isRetriable`) and databricks-sdk-py (_base_client.py
 * `_is_retryable`, retries.py `retried`). An answer is transient when its HTTP status, its parsed `error_code` or its
 * message matches a row below; anything else, 4xx especially, fails fast because repeating the same request cannot
 * change the answer. A 401 (or the 403 "Invalid access token.") is not in the table: the Jobs client refreshes the
 * credential once instead (jobs-client.ts `isStaleCredential`). The attempt budget (attempts, backoff, per-attempt
 * timeout, Retry-After cap) is ours, not the SDKs' (they retry for up to 5 minutes); see DEFAULT_RETRY_POLICY.
 *
 * Retrying is only safe for idempotent requests. runs/get and runs/cancel are; runs/submit creates a run and is
 * retried only because every body carries an `idempotency_token` (buildSubmitRunBody): Databricks answers a repeated
 * token with the run it already created, so a retry after an ambiguous failure (a timeout or reset after the request
 * left, a 5xx) cannot start a second run. A new non-idempotent call must carry such a token or not be retried.
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  requestTimeoutMs: 30_000,
});

/**
 * One row of the transient-error table: what matches, and where the SDKs say so (file + function). `go` paths are in
 * github.com/databricks/databricks-sdk-go, `py` paths under databricks/sdk/ in github.com/databricks/databricks-sdk-py
 * (both read at their main branch of 2026-08-19: go 1ff3c78, py 9ae2241).
 */
export interface TransientRule<M> {
  match: M;
  source: string;
}

/** HTTP statuses retried whatever the body says. */
export const TRANSIENT_STATUSES: readonly TransientRule<number>[] = [
  {
    match: 429,
    source:
      'go apierr/errors.go IsRetriable (IsTooManyRequests, apierr/error_mapping.go 429); ' +
      'py errors/customizer.py _RetryAfterCustomizer (429, 503) + retries.py retried',
  },
  {
    match: 503,
    source:
      'go apierr/errors.go IsRetriable (StatusCode == 503); py errors/customizer.py _RetryAfterCustomizer (429, 503)',
  },
  // 502 and 504: not in either SDK's generic API client, but in their token/upload retriers; retried here before too.
  {
    match: 502,
    source: 'go config/experimental/auth/retry.go retriableCodes; py mixins/files.py _RETRYABLE_STATUS_CODES',
  },
  {
    match: 504,
    source:
      'go config/experimental/auth/retry.go retriableCodes, httpclient/errors.go DefaultErrorRetriable; ' +
      'py mixins/files.py _RETRYABLE_STATUS_CODES',
  },
];

/**
 * `error_code` values retried on any status. Only these two: the SDKs map TEMPORARILY_UNAVAILABLE, DEADLINE_EXCEEDED,
 * INTERNAL_ERROR etc. to error classes but do not retry them by code (a 503 is retried by its status).
 */
export const TRANSIENT_ERROR_CODES: readonly TransientRule<string>[] = [
  {
    match: 'RESOURCE_EXHAUSTED',
    source: 'go apierr/error_mapping.go errorCodeMapping (ErrResourceExhausted is ErrTooManyRequests) -> IsRetriable',
  },
  {
    match: 'REQUEST_LIMIT_EXCEEDED',
    source:
      'go apierr/error_mapping.go errorCodeMapping (ErrRequestLimitExceeded is ErrTooManyRequests) -> IsRetriable',
  },
];

/** Error messages retried on any status (case-sensitive, as in the SDKs). */
export const TRANSIENT_MESSAGE_PATTERNS: readonly TransientRule<RegExp>[] = [
  {
    match: /com\.databricks\.backend\.manager\.util\.UnknownWorkerEnvironmentException/,
    source: 'go apierr/error_overrides.go allTransientErrors; py _base_client.py _is_retryable',
  },
  {
    match: /does not have any associated worker environments/,
    source: 'go apierr/error_overrides.go allTransientErrors; py _base_client.py _is_retryable',
  },
  {
    match: /There is no worker environment with id/,
    source: 'go apierr/error_overrides.go allTransientErrors; py _base_client.py _is_retryable',
  },
  {
    match: /Unknown worker environment/,
    source: 'go apierr/error_overrides.go allTransientErrors; py _base_client.py _is_retryable',
  },
  {
    match: /ClusterNotReadyException/,
    source: 'go apierr/error_overrides.go allTransientErrors; py _base_client.py _is_retryable',
  },
  { match: /worker env .* not found/, source: 'go apierr/error_overrides.go allTransientErrors' },
  { match: /Timed out after /, source: 'go apierr/error_overrides.go allTransientErrors' },
  { match: /deadline exceeded/, source: 'go apierr/error_overrides.go allTransientErrors' },
  { match: /Unexpected error/, source: 'py _base_client.py _is_retryable' },
  { match: /Please try again later or try a faster operation\./, source: 'py _base_client.py _is_retryable' },
  { match: /RPC token bucket limit has been exceeded/, source: 'py _base_client.py _is_retryable' },
  // The SCIM API answers 500 with this in the message.
  {
    match: /REQUEST_LIMIT_EXCEEDED/,
    source: 'go config/api_client.go TransientErrors -> httpclient/api_client.go isRetriable',
  },
];

/** Statuses of TRANSIENT_STATUSES, for callers that classify by status only (the token endpoint). */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set(TRANSIENT_STATUSES.map((rule) => rule.match));

/**
 * Error codes (on the error or its `cause`) of transient socket failures: go httpclient/errors.go
 * isRetriableUrlError ("connection reset by peer", "connection refused", "i/o timeout", "TLS handshake timeout") and
 * config/experimental/auth/retry.go isTransientNetworkError; py _base_client.py _is_retryable (requests.ConnectionError,
 * requests.Timeout).
 */
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

/** True for the statuses retried whatever the body says (TRANSIENT_STATUSES). */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/** A Databricks error answer: HTTP status plus the `error_code` and message parsed from its body (parseErrorBody). */
export interface DatabricksErrorAnswer {
  status: number;
  errorCode?: string | undefined;
  message?: string | undefined;
}

/**
 * Why a Databricks error answer is worth retrying (`status 503`, `error_code RESOURCE_EXHAUSTED`,
 * `message matches /ClusterNotReadyException/`), or undefined when it is not: the table above, status first, then
 * error code, then message, as databricks-sdk-go's IsRetriable and databricks-sdk-py's _is_retryable check them.
 */
export function transientReason(answer: DatabricksErrorAnswer): string | undefined {
  const { status, errorCode, message } = answer;
  if (isRetryableStatus(status)) return `status ${status}`;
  if (errorCode !== undefined && TRANSIENT_ERROR_CODES.some((rule) => rule.match === errorCode)) {
    return `error_code ${errorCode}`;
  }
  if (message !== undefined) {
    const rule = TRANSIENT_MESSAGE_PATTERNS.find((candidate) => candidate.match.test(message));
    if (rule !== undefined) return `message matches ${rule.match}`;
  }
  return undefined;
}

export function isTransientDatabricksError(answer: DatabricksErrorAnswer): boolean {
  return transientReason(answer) !== undefined;
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
