/**
 * A typed client for the front door, used by the CLI, the local scripts and the tests. Every request is signed
 * with SigV4 for `execute-api` (the deployed API takes IAM authorization on every method; see sigv4-signing.ts).
 * Typed calls answer `{ok, status, body}`: the body is the API's value when ok, else always the API's one error
 * shape `{error: {code, message, field?}}`, API Gateway's own `{"message"}` errors (a refused signature, say)
 * included. `call()` stays raw for tests of malformed input.
 */
import type { JobList } from '../api/schemas.js';
import type { JobView } from '../jobs/job.js';
import { isTerminalPhase } from '../jobs/phase.js';
import {
  type ApiCredentials,
  type CredentialsProvider,
  defaultCredentialsProvider,
  resolveRegion,
  signRequest,
} from './sigv4-signing.js';

export type { JobList } from '../api/schemas.js';
export type { JobView } from '../jobs/job.js';

export interface ApiResponse<T> {
  status: number;
  body: T;
  headers?: Headers;
}

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

export type ApiResult<T> = { ok: true; status: number; body: T } | { ok: false; status: number; body: ApiErrorBody };

/** A failed call, as thrown by watch() and unwrap(). */
export class JobsApiError extends Error {
  override readonly name = 'JobsApiError';
  readonly code: string;
  readonly field: string | undefined;
  constructor(
    readonly status: number,
    body: ApiErrorBody,
  ) {
    super(body.error.message);
    this.code = body.error.code;
    this.field = body.error.field;
  }
}

export interface JobsApiClientOptions {
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Signing region; default: from an execute-api URL, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1. */
  region?: string;
  /** Default: the AWS SDK's default credential chain (environment, profile, SSO, IRSA, container, instance). */
  credentials?: ApiCredentials | CredentialsProvider;
  /** A shared-config profile for the default chain (like AWS_PROFILE). */
  profile?: string;
  /** false sends requests unsigned (a front door without IAM authorization). Default true. */
  sign?: boolean;
  /** The signing clock; default now. */
  clock?: () => Date;
  /** Sent with every request (a User-Agent, say). */
  headers?: Record<string, string>;
}

export interface ListOptions {
  /** 1 to 100; the API's default is 20. */
  limit?: number;
  nextToken?: string | null;
}

export interface WatchOptions {
  /** First wait between polls (default 1000 ms); it grows by `backoff` (default 1.5) up to `maxIntervalMs`. */
  intervalMs?: number;
  /** Default 15000 ms. */
  maxIntervalMs?: number;
  backoff?: number;
  /** Called with every view polled, the first one included. */
  onUpdate?: (view: JobView) => void;
  /** Give up (JobsApiError code WatchTimeout) after this long; default never. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Network errors, 429 and 5xx in a row tolerated before watch() gives up (default 3). */
  maxConsecutiveErrors?: number;
  /** For tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class JobsApiClient {
  readonly baseUrl: string;
  readonly region: string;
  private readonly fetchFn: typeof fetch;
  private readonly credentials: ApiCredentials | CredentialsProvider;
  private readonly sign: boolean;
  private readonly clock: () => Date;
  private readonly headers: Record<string, string>;

  /**
   * `baseUrl` is the API's invoke URL, stage included (https://abc.execute-api.us-east-1.amazonaws.com/prod).
   * A fetch function as second argument is the old form of `{fetch}`.
   */
  constructor(baseUrl: string, options: JobsApiClientOptions | typeof fetch = {}) {
    const opts = typeof options === 'function' ? { fetch: options } : options;
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.region = resolveRegion(this.baseUrl, opts.region);
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.credentials =
      opts.credentials ??
      defaultCredentialsProvider({ region: this.region, ...(opts.profile ? { profile: opts.profile } : {}) });
    this.sign = opts.sign ?? true;
    this.clock = opts.clock ?? (() => new Date());
    this.headers = opts.headers ?? {};
  }

  submit(request: unknown): Promise<ApiResult<JobView>> {
    return this.typed('POST', '/v1/jobs', JSON.stringify(request));
  }

  get(jobId: string): Promise<ApiResult<JobView>> {
    return this.typed('GET', `/v1/jobs/${encodeURIComponent(jobId)}`);
  }

  cancel(jobId: string): Promise<ApiResult<JobView>> {
    return this.typed('DELETE', `/v1/jobs/${encodeURIComponent(jobId)}`);
  }

  list(namespace: string, options: ListOptions = {}): Promise<ApiResult<JobList>> {
    const query = new URLSearchParams({ namespace });
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.nextToken) query.set('nextToken', options.nextToken);
    return this.typed('GET', `/v1/jobs?${query}`);
  }

  /** The API's OpenAPI 3.1 document. */
  openApi(): Promise<ApiResult<Record<string, unknown>>> {
    return this.typed('GET', '/v1/openapi.json');
  }

  /**
   * Polls the job until it reaches a terminal phase and returns that view. Waits `intervalMs`, growing by
   * `backoff` up to `maxIntervalMs`, and back to `intervalMs` whenever the phase changes. An API error (the job
   * does not exist, the signature is refused) throws JobsApiError at once; network errors, 429 and 5xx are
   * retried `maxConsecutiveErrors` times in a row first.
   */
  async watch(jobId: string, options: WatchOptions = {}): Promise<JobView> {
    const initial = options.intervalMs ?? 1000;
    const max = Math.max(initial, options.maxIntervalMs ?? 15_000);
    const backoff = options.backoff ?? 1.5;
    const maxErrors = options.maxConsecutiveErrors ?? 3;
    const sleep = options.sleep ?? abortableSleep;
    const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    let interval = initial;
    let errors = 0;
    let lastPhase: string | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      let result: ApiResult<JobView> | undefined;
      try {
        result = await this.get(jobId);
      } catch (error) {
        if (options.signal?.aborted || ++errors > maxErrors) throw error;
      }
      if (result?.ok) {
        errors = 0;
        options.onUpdate?.(result.body);
        if (isTerminalPhase(result.body.phase)) return result.body;
        if (result.body.phase !== lastPhase) interval = initial;
        lastPhase = result.body.phase;
      } else if (result) {
        const transient = result.status === 429 || result.status >= 500;
        if (!transient || ++errors > maxErrors) throw new JobsApiError(result.status, result.body);
      }
      if (Date.now() + interval > deadline) {
        throw new JobsApiError(0, {
          error: { code: 'WatchTimeout', message: `Job ${jobId} did not end within ${options.timeoutMs} ms` },
        });
      }
      await sleep(interval, options.signal);
      interval = Math.min(max, interval * backoff);
    }
  }

  /** Raw call: the body as parsed JSON (or text when it is not JSON), whatever the status. Signed like the rest. */
  async call<T>(method: string, path: string, body?: string): Promise<ApiResponse<T>> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = {
      ...this.headers,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    const signed = this.sign
      ? await signRequest(
          { method, url, headers, ...(body === undefined ? {} : { body }) },
          { region: this.region, credentials: this.credentials, signingDate: this.clock() },
        )
      : headers;
    const response = await this.fetchFn(url, {
      method,
      headers: signed,
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Leave non-JSON bodies (an HTML error page from a proxy, say) as text.
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  private async typed<T>(method: string, path: string, body?: string): Promise<ApiResult<T>> {
    const response = await this.call<unknown>(method, path, body);
    if (response.status >= 200 && response.status < 300) {
      return { ok: true, status: response.status, body: response.body as T };
    }
    return { ok: false, status: response.status, body: toErrorBody(response) };
  }
}

/** The body of an ok result, or a JobsApiError. */
export function unwrap<T>(result: ApiResult<T>): T {
  if (!result.ok) throw new JobsApiError(result.status, result.body);
  return result.body;
}

export function isApiError(body: unknown): body is ApiErrorBody {
  return (
    typeof body === 'object' &&
    body !== null &&
    'error' in body &&
    typeof (body as { error: unknown }).error === 'object' &&
    (body as { error: unknown }).error !== null
  );
}

/**
 * Any failed answer in the one error shape: the function's own, or API Gateway's `{"message"}` (code from the
 * x-amzn-ErrorType header, e.g. MissingAuthenticationTokenException), or whatever a proxy sent.
 */
function toErrorBody(response: ApiResponse<unknown>): ApiErrorBody {
  if (isApiError(response.body)) return response.body;
  const errorType = response.headers?.get('x-amzn-errortype')?.split(':')[0];
  const body = response.body as { message?: unknown; Message?: unknown } | string | undefined;
  const message =
    typeof body === 'object' && body !== null
      ? String(body.message ?? body.Message ?? JSON.stringify(body))
      : typeof body === 'string' && body.length > 0
        ? body.slice(0, 500)
        : `HTTP ${response.status}`;
  return { error: { code: errorType || `Http${response.status}`, message } };
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
