/**
 * The workspace OAuth token endpoint, `POST <host>/oidc/v1/token` (form-urlencoded), used by OAuth M2M
 * (client_credentials) and by both OIDC models (RFC 8693 token exchange). Retried through the shared retry loop
 * (shared/http/retry-loop.ts) by status only, like databricks-sdk-go's token retrier (config/experimental/auth/retry.go
 * httpRetrier: 429/502/503/504 and connection failures), plus 500 (upstream retries it on this endpoint); the
 * Databricks error_code/message rows of retry-policy.ts do not apply to OAuth error bodies. Jittered backoff,
 * Retry-After honoured, bounded attempts. Any other answer fails fast. Redirects are never followed, so a client
 * secret or a subject JWT only ever reaches the workspace itself. Errors carry the OAuth `error` and
 * `error_description` (bounded, redacted), never the form, the secret, the JWT or any other part of the body.
 */

import { parseErrorBody, redactSecrets } from '../databricks/errors.js';
import { isRetryableNetworkError, isRetryableStatus, resolveRetryPolicy } from '../databricks/retry-policy.js';
import { budgetGate, type WorkspaceCallBudget } from '../databricks/workspace-call-budget.js';
import { healthGate, type WorkspaceHealth } from '../databricks/workspace-health.js';
import { AuthConfigError, ConnectorError } from '../errors.js';
import { readBoundedText } from '../http/read-bounded-body.js';
import { type AttemptResult, type RetryPolicy, runWithRetries } from '../http/retry-loop.js';

export interface TokenResult {
  accessToken: string;
  /** Seconds the token is valid for, from the moment it was requested (`expires_in`, default 3600). */
  expiresInSeconds: number;
}

/** The HTTP plumbing every token request accepts; injected by tests. */
export interface TokenHttpOptions {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Clock for HTTP-date Retry-After values. */
  now?: () => number;
  retry?: Partial<RetryPolicy>;
  /** The workspace's health as the container sees it (default: the shared one); null: not tracked (tests). */
  health?: WorkspaceHealth | null;
  /** The workspaces' call budget (functions/job-ports.ts); none: calls are not budgeted (tests, scripts). */
  budget?: WorkspaceCallBudget | null;
}

export interface TokenRequest extends TokenHttpOptions {
  /** Workspace origin (`https://x.cloud.databricks.com`, `http://127.0.0.1:8080`); a bare host means https. */
  host: string;
  form: Record<string, string>;
  /** client_secret_basic: `Authorization: Basic base64(client_id:client_secret)` (RFC 6749 §2.3.1 encoding). */
  basicAuth?: { username: string; password: string };
}

/** A definitive refusal (4xx, a redirect, an unusable 200): retrying the same request cannot help. */
export class TokenEndpointError extends AuthConfigError {
  /** HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** The OAuth `error` code (`invalid_client`, `invalid_request`, ...), when the body had one. */
  readonly oauthError: string | undefined;
  constructor(message: string, options: { status?: number; oauthError?: string } = {}) {
    super(message);
    this.status = options.status;
    this.oauthError = options.oauthError;
  }
}

/** Fewer attempts than the Jobs API: a token is on the path of every call, and the SQS redelivery retries too. */
export const TOKEN_ENDPOINT_RETRY_POLICY: Readonly<Partial<RetryPolicy>> = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  requestTimeoutMs: 15_000,
});

const DEFAULT_EXPIRES_IN_SECONDS = 3600;
const USER_AGENT = 'flyte-databricks-lambda/0.1.0';
/** Form fields whose values are credentials; everything else (grant_type, scope, client_id) is not secret. */
const SECRET_FIELDS = ['client_secret', 'subject_token', 'assertion', 'refresh_token'];
/** A JWT or JWS anywhere in a server message (a proxy or a verbose error might echo the subject token). */
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/** `<origin>/oidc/v1/token`; a path or trailing slash on the host is dropped, as the Databricks SDKs do. */
export function tokenEndpointUrl(host: string): string {
  return `${workspaceOrigin(host)}/oidc/v1/token`;
}

/** The origin token requests and cache keys use, so `x`, `https://x/` and `https://x` are one workspace. */
export function workspaceOrigin(host: string): string {
  const trimmed = host.trim().replace(/\/+$/, '');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new AuthConfigError(`Databricks workspace '${host}' is not a valid host for the token endpoint`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AuthConfigError(`Databricks workspace '${url.origin}' must use https://`);
  }
  return url.origin;
}

/** Statuses retried besides the shared RETRYABLE_STATUSES. */
const EXTRA_RETRYABLE_STATUSES: ReadonlySet<number> = new Set([500]);

export async function requestToken(request: TokenRequest): Promise<TokenResult> {
  const url = tokenEndpointUrl(request.host);
  const policy = resolveRetryPolicy({ ...TOKEN_ENDPOINT_RETRY_POLICY, ...request.retry });
  const fetchFn = request.fetch ?? globalThis.fetch;
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
    'User-Agent': USER_AGENT,
  };
  const secrets = SECRET_FIELDS.flatMap((field) => request.form[field] ?? []);
  if (request.basicAuth) {
    const basic = basicCredentials(request.basicAuth.username, request.basicAuth.password);
    headers.Authorization = `Basic ${basic}`;
    secrets.push(request.basicAuth.password, basic);
  }
  const scrub = (text: string) => redactSecrets(text, secrets).replace(JWT_PATTERN, '[REDACTED]');
  const body = new URLSearchParams(request.form).toString();

  // The transient failure carried to the give-up error is its redacted description.
  return runWithRetries<TokenResult, string>(
    async ({ timeoutSignal, takeSlot }): Promise<AttemptResult<TokenResult, string>> => {
      let response: Response;
      let text: string;
      await takeSlot();
      try {
        response = await fetchFn(url, { method: 'POST', headers, body, redirect: 'manual', signal: timeoutSignal() });
        text = await readBoundedText(response);
      } catch (err) {
        // No `cause`: a fetch error may quote the request (the body holds the secret or the JWT).
        const detail = scrub(describeError(err));
        if (!isRetryableNetworkError(err)) {
          throw new ConnectorError(`Databricks token endpoint ${url} could not be called: ${detail}`, {
            permanent: true,
          });
        }
        return { outcome: 'transient', failure: detail };
      }

      const { status } = response;
      if (status === 200) return { outcome: 'success', value: parseTokenResponse(text, url) };

      if (response.type === 'opaqueredirect' || (status >= 300 && status < 400)) {
        throw new TokenEndpointError(
          `Databricks token endpoint ${url} answered with a redirect (HTTP ${status || 'opaque'}); not followed so ` +
            'the credentials stay on the workspace host. Check the workspace host (databricksInstance)',
          { status: status || undefined },
        );
      }

      // Only the OAuth `error` and `error_description`, bounded and redacted: any other body is described, not quoted.
      const parsed = parseErrorBody(scrub(text), { loneError: 'code' });
      const oauthError = parsed.errorCode;
      const detail = `HTTP ${status}${oauthError ? ` ${oauthError}` : ''}: ${scrub(parsed.message)}`;
      if (!isRetryableStatus(status) && !EXTRA_RETRYABLE_STATUSES.has(status)) {
        throw new TokenEndpointError(`Databricks token endpoint ${url} refused the request (${detail})`, {
          status,
          ...(oauthError === undefined ? {} : { oauthError }),
        });
      }
      return { outcome: 'transient', failure: detail, retryAfter: response.headers.get('retry-after') };
    },
    {
      policy,
      what: 'the workspace token endpoint',
      health: healthGate(request.health, workspaceOrigin(request.host)),
      budget: budgetGate(request.budget, workspaceOrigin(request.host), 'token'),
      sleep: request.sleep,
      random: request.random,
      now: request.now,
      giveUp: (lastError, attempts) => exhausted(url, attempts, lastError),
    },
  );
}

function exhausted(url: string, attempts: number, lastError: string): ConnectorError {
  return new ConnectorError(`Databricks token endpoint ${url} failed after ${attempts} attempts: ${lastError}`, {
    permanent: false,
  });
}

function parseTokenResponse(text: string, url: string): TokenResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The body is not echoed: a 200 may well contain a token in some other shape.
    throw new TokenEndpointError(`Databricks token endpoint ${url} answered HTTP 200 with a body that is not JSON`, {
      status: 200,
    });
  }
  const record = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  const accessToken = record.access_token;
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw new TokenEndpointError(`Databricks token endpoint ${url} answered HTTP 200 without an access_token`, {
      status: 200,
    });
  }
  return { accessToken, expiresInSeconds: expiresIn(record.expires_in) };
}

function expiresIn(value: unknown): number {
  const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds : DEFAULT_EXPIRES_IN_SECONDS;
}

/** RFC 6749 §2.3.1: both parts form-urlencoded, then base64 (what databricks-sdk-go's oauth2 client sends). */
function basicCredentials(username: string, password: string): string {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  return Buffer.from(`${encode(username)}:${encode(password)}`).toString('base64');
}

/** `TypeError: fetch failed (ECONNRESET)`; the caller redacts it. */
function describeError(err: unknown): string {
  const codes = [err, (err as { cause?: unknown } | null)?.cause].map(
    (candidate) => (candidate as { code?: unknown } | null | undefined)?.code,
  );
  const code = codes.find((c): c is string => typeof c === 'string');
  const base = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return code === undefined ? base : `${base} (${code})`;
}
