import type { AuthStrategy } from '../auth/auth-strategy.js';
import { InvalidJobSpecError } from '../errors.js';
import { readBoundedText } from '../http/read-bounded-body.js';
import { type AttemptResult, defaultSleep, runWithRetries } from '../http/retry-loop.js';
import type { DatabricksEndpoint } from '../metrics/metric-catalog.js';
import { countDatabricksCall } from '../metrics/metrics.js';
import { statusClassOf } from '../metrics/status-class.js';
import type { WorkspaceDimension } from '../metrics/workspace-dimension.js';
import { DatabricksApiError, formatApiErrorMessage, parseErrorBody, redactSecrets } from './errors.js';
import { isRetryableNetworkError, type RetryPolicy, resolveRetryPolicy, transientReason } from './retry-policy.js';
import type { DatabricksRun, DatabricksRunOutput, SubmitRunBody } from './types.js';
import { budgetGate, type WorkspaceCallBudget } from './workspace-call-budget.js';
import { healthGate, type WorkspaceHealth } from './workspace-health.js';
import { normalizeWorkspaceUrl } from './workspace-url.js';

export interface JobsClientLogger {
  warn(msg: string, extra?: object): void;
}

export interface JobsClientOptions {
  /** Workspace host as users write it: `x.cloud.databricks.com` or `https://x.cloud.databricks.com/`. */
  host: string;
  auth: AuthStrategy;
  apiVersion?: '2.1' | '2.2';
  retry?: Partial<RetryPolicy>;
  /** Permits an `http://` loopback host; only for the local emulator. */
  allowInsecureHttp?: boolean;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Clock for HTTP-date Retry-After values. */
  now?: () => number;
  userAgent?: string;
  logger?: JobsClientLogger;
  /** The workspace's health as the container sees it (default: the shared one); null: not tracked (tests). */
  health?: WorkspaceHealth | null;
  /** The workspaces' call budget (functions/job-ports.ts); none: calls are not budgeted (tests, scripts). */
  budget?: WorkspaceCallBudget | null;
  /** The workspace's host for the WorkspaceCalls metric, when the operator allows it (functions/job-ports.ts). */
  metricsWorkspace?: WorkspaceDimension | undefined;
}

const DEFAULT_USER_AGENT = 'flyte-databricks-lambda/0.1.0';

/** Jobs API runs/submit, runs/get and runs/cancel with retries, 401 refresh-once and no redirects. */
export class JobsClient {
  readonly baseUrl: string;
  readonly apiVersion: '2.1' | '2.2';
  private readonly auth: AuthStrategy;
  private readonly policy: RetryPolicy;
  private readonly fetchFn: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly userAgent: string;
  private readonly logger: JobsClientLogger | undefined;
  private readonly health: WorkspaceHealth | null | undefined;
  private readonly budget: WorkspaceCallBudget | null | undefined;
  private readonly metricsWorkspace: WorkspaceDimension | undefined;

  constructor(options: JobsClientOptions) {
    this.baseUrl = normalizeWorkspaceUrl(options.host, options.allowInsecureHttp ?? false);
    this.apiVersion = options.apiVersion ?? '2.2';
    this.auth = options.auth;
    this.policy = resolveRetryPolicy(options.retry);
    this.fetchFn = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.logger = options.logger;
    this.health = options.health;
    this.budget = options.budget;
    this.metricsWorkspace = options.metricsWorkspace;
  }

  /**
   * runs/submit is not idempotent by itself: it is retried (like runs/get and runs/cancel) only because the body
   * carries an idempotency_token (see buildSubmitRunBody), so Databricks answers a repeat with the run it already
   * created instead of starting a second one after an ambiguous failure (timeout, reset, 5xx).
   */
  async submitRun(body: SubmitRunBody): Promise<{ run_id: number }> {
    const res = await this.call('runs/submit', 'POST', '', JSON.stringify(body));
    const runId = toRunId(isRecord(res) ? res.run_id : undefined);
    if (runId === undefined) {
      throw new DatabricksApiError(formatApiErrorMessage('runs/submit', 200, undefined, 'response has no run_id'), {
        operation: 'runs/submit',
        status: 200,
        retryable: false,
      });
    }
    return { run_id: runId };
  }

  async getRun(runId: number | string): Promise<DatabricksRun> {
    const id = requireRunId(runId);
    const res = await this.call('runs/get', 'GET', `?run_id=${id}`, undefined);
    if (!isRecord(res)) {
      throw new DatabricksApiError(formatApiErrorMessage('runs/get', 200, undefined, 'response is not an object'), {
        operation: 'runs/get',
        status: 200,
        retryable: false,
      });
    }
    return res as DatabricksRun;
  }

  /**
   * What a task run reported (runs/get-output): `error` and `error_trace` once it has failed. Only task runs have an
   * output: the parent run of a `tasks` submission is refused (INVALID_PARAMETER_VALUE), so pass a `tasks[].run_id`.
   */
  async getRunOutput(taskRunId: number | string): Promise<DatabricksRunOutput> {
    const id = requireRunId(taskRunId);
    const res = await this.call('runs/get-output', 'GET', `?run_id=${id}`, undefined);
    if (!isRecord(res)) return {};
    return {
      ...(typeof res.error === 'string' ? { error: res.error } : {}),
      ...(typeof res.error_trace === 'string' ? { error_trace: res.error_trace } : {}),
    };
  }

  /** Cancellation is asynchronous on the Databricks side: poll getRun until the run is terminal. */
  async cancelRun(runId: number | string): Promise<void> {
    // Upstream sent run_id as a string; the API schema says int64.
    await this.call('runs/cancel', 'POST', '', JSON.stringify({ run_id: requireRunId(runId) }));
  }

  /**
   * One Jobs API call through the shared retry loop (DEFAULT_RETRY_POLICY unless overridden): transient answers (see
   * retry-policy.ts) and connection failures are retried with backoff, a stale credential is refreshed once without
   * counting an attempt, anything else fails at once.
   */
  private call(operation: DatabricksEndpoint, method: 'GET' | 'POST', query: string, body: string | undefined) {
    const url = `${this.baseUrl}/api/${this.apiVersion}/jobs/${operation}${query}`;
    let refreshed = false;
    const tokensSent: string[] = [];
    return runWithRetries<unknown, TransientFailure>(
      async ({ timeoutSignal, takeSlot }): Promise<AttemptResult<unknown, TransientFailure>> => {
        const token = await this.auth.getBearerToken();
        await takeSlot();
        tokensSent.push(token);
        const scrub = (text: string) => redactSecrets(text, tokensSent);
        let response: Response;
        let text: string;
        try {
          response = await this.send(operation, url, {
            method,
            headers: {
              Authorization: `Bearer ${token}`,
              'Content-Type': 'application/json',
              Accept: 'application/json',
              'User-Agent': this.userAgent,
            },
            body,
            // A token must never follow a redirect to another host.
            redirect: 'manual',
            signal: timeoutSignal(),
          });
          text = await readBoundedText(response);
        } catch (err) {
          const detail = scrub(describeError(err));
          if (!isRetryableNetworkError(err)) {
            throw new DatabricksApiError(formatApiErrorMessage(operation, undefined, undefined, detail), {
              operation,
              // No `cause`: some fetch errors (invalid header value) quote the header, i.e. the token.
              retryable: false,
            });
          }
          return { outcome: 'transient', failure: { detail, log: { error: detail } } };
        }

        const { status } = response;
        if (status >= 200 && status < 300) return { outcome: 'success', value: parseJson(text, operation, status) };

        if (response.type === 'opaqueredirect' || (status >= 300 && status < 400)) {
          const location = safeLocation(response.headers.get('location'));
          const detail = `workspace answered with a redirect${location ? ` to ${location}` : ''}; not followed so the token stays on the workspace host. Check databricksInstance`;
          throw new DatabricksApiError(formatApiErrorMessage(operation, status || undefined, undefined, detail), {
            operation,
            status: status || undefined,
            retryable: false,
          });
        }

        const parsed = parseErrorBody(scrub(text));
        const message = scrub(parsed.message);
        if (isStaleCredential(status, message) && !refreshed) {
          // The cached token may have been revoked, rotated or expired early: drop it and try once with a fresh one.
          refreshed = true;
          this.auth.invalidate();
          this.logger?.warn('Databricks rejected the token; refreshing it and retrying once', { operation, status });
          return { outcome: 'repeat' };
        }

        let detail = message;
        if (refreshed && isStaleCredential(status, message)) {
          detail += `; a freshly fetched token was also rejected (${this.auth.describe()})`;
        }
        const reason = transientReason({ status, errorCode: parsed.errorCode, message });
        if (reason === undefined) {
          throw new DatabricksApiError(formatApiErrorMessage(operation, status, parsed.errorCode, detail), {
            operation,
            status,
            errorCode: parsed.errorCode,
            retryable: false,
          });
        }
        return {
          outcome: 'transient',
          failure: { status, errorCode: parsed.errorCode, detail, log: { status, reason } },
          retryAfter: response.headers.get('retry-after'),
        };
      },
      {
        policy: this.policy,
        what: `Databricks ${operation}`,
        // baseUrl is the workspace origin (normalizeWorkspaceUrl).
        health: healthGate(this.health, this.baseUrl),
        budget: budgetGate(this.budget, this.baseUrl, operation),
        sleep: this.sleep,
        random: this.random,
        now: this.now,
        onRetry: ({ attempt, delayMs, failure }) =>
          this.logger?.warn(`Databricks ${operation} failed transiently; retrying`, {
            ...failure.log,
            attempt,
            delayMs,
          }),
        giveUp: (failure, attempts) =>
          new DatabricksApiError(
            formatApiErrorMessage(
              operation,
              failure.status,
              failure.errorCode,
              `${failure.detail} (gave up after ${attempts} attempts)`,
            ),
            { operation, status: failure.status, errorCode: failure.errorCode, retryable: true },
          ),
      },
    );
  }

  /** One HTTP request: counted as a Databricks call by the class of its answer (`network` when none came). */
  private async send(operation: DatabricksEndpoint, url: string, init: RequestInit): Promise<Response> {
    let response: Response | undefined;
    try {
      response = await this.fetchFn(url, init);
      return response;
    } finally {
      countDatabricksCall(operation, statusClassOf(response), this.metricsWorkspace);
    }
  }
}

/** The last transient failure of a call, as its give-up error and retry log describe it. */
interface TransientFailure {
  /** Undefined when no response arrived. */
  status?: number;
  errorCode?: string | undefined;
  /** Redacted message or connection error. */
  detail: string;
  log: object;
}

/**
 * A 401, or the 403 "Invalid access token." Databricks answers for a well-formed token it does not know (a revoked
 * or rotated PAT, databricks-sdk-go #873): both mean the credential we hold is stale, not that access is denied.
 */
function isStaleCredential(status: number, message: string): boolean {
  return status === 401 || (status === 403 && /invalid access token/i.test(message));
}

function parseJson(text: string, operation: DatabricksEndpoint, status: number): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    // Never quoted: whatever answered may not be Databricks, and the job's message is shown to the tenant.
    const detail = `response is not JSON (${Buffer.byteLength(text)} bytes)`;
    throw new DatabricksApiError(formatApiErrorMessage(operation, status, undefined, detail), {
      operation,
      status,
      retryable: false,
    });
  }
}

function requireRunId(runId: number | string): number {
  const id = toRunId(runId);
  if (id === undefined) throw new InvalidJobSpecError(`Invalid Databricks run id '${String(runId)}'`, 'runId');
  return id;
}

function toRunId(value: unknown): number | undefined {
  const id = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function errorCode(err: unknown): string | undefined {
  for (const candidate of [err, (err as { cause?: unknown } | null)?.cause]) {
    const code = (candidate as { code?: unknown } | null | undefined)?.code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** `TypeError: fetch failed (ECONNRESET)`; the caller redacts it. Never the request init or headers. */
function describeError(err: unknown): string {
  const code = errorCode(err);
  const base = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return code === undefined ? base : `${base} (${code})`;
}

/** Origin and path only: a query string could carry anything. */
function safeLocation(location: string | null): string | undefined {
  if (!location) return undefined;
  try {
    const url = new URL(location, 'https://placeholder.invalid');
    return url.origin === 'https://placeholder.invalid' ? url.pathname : `${url.origin}${url.pathname}`;
  } catch {
    return undefined;
  }
}
