/**
 * Databricks workspace emulator: Jobs API `runs/submit`, `runs/get` and `runs/cancel` under /api/2.1 and /api/2.2,
 * with PAT or OAuth auth, idempotency tokens, a clock-driven run life cycle and injectable faults, plus the workspace
 * OAuth endpoints (`/oidc/.well-known/oauth-authorization-server`, `POST /oidc/v1/token`: M2M and workload identity
 * federation, see databricks-oidc.ts). For reliability scenarios it also has per-endpoint rate limits (token buckets on
 * the workspace's clock, databricks-rate-limit.ts), latency faults (slow headers, slow body, a hang) and outage windows.
 * Binds 127.0.0.1 only; HTTP, request log and faults come from emulator-server.ts.
 *
 * Verified against public sources:
 * - No / non-Bearer credentials: HTTP 401 `{"error_code":401,"message":"Credential was not sent or was of an
 *   unsupported type for this API. [ReqId: ...]"}` (PipedreamHQ/pipedream #20701). A well-formed but unknown token:
 *   HTTP **403** `{"error_code":403,"message":"Invalid access token."}` with `X-Databricks-Reason-Phrase`
 *   (databricks/databricks-sdk-go #873 and #917; note `error_code` is a number in both auth errors).
 * - An expired OAuth access token is refused with HTTP **403**, not 401 (n8n-io/n8n #34147: an M2M token one hour
 *   old; n8n PR #34325 changed its Databricks default "token expired" status to 403 for that reason).
 * - Unknown run on runs/get: HTTP 400 INVALID_PARAMETER_VALUE "Run <id> does not exist." (Azure/azure-databricks-operator
 *   PR #158 tested it; the Java SDK's generated ErrorOverrides map exactly this 400 on /api/2.x/jobs/runs/get to
 *   ResourceDoesNotExist). Airflow's durable-retry code also expects a 404 for expired runs; we do not emulate that.
 * - Unknown path or method: HTTP 404 `{"error_code":"ENDPOINT_NOT_FOUND","message":"No API found for 'GET /repos'"}`,
 *   the path quoted without its /api/<version> prefix (databricks/databricks-cli #383; terraform-provider-databricks
 *   #3134 shows the same error for an unsupported method on an existing path).
 * - Error body `{error_code, message}`; run ids and job ids are large integers; cancel is asynchronous.
 * - Rate limits: a throttled request is answered HTTP **429**. Both SDKs map 429 to TooManyRequests and the error code
 *   `REQUEST_LIMIT_EXCEEDED` to RequestLimitExceeded, a subclass of it (databricks/databricks-sdk-go
 *   `apierr/error_mapping.go`, databricks/databricks-sdk-py `databricks/sdk/errors/mapping.py`). `Retry-After` is a
 *   whole number of seconds: the Python SDK parses it only as an integer "as this is what Databricks platform returns"
 *   and assumes 1 s when it is missing (databricks-sdk-py `databricks/sdk/errors/customizer.py`). Real throttling
 *   bodies carry `error_code: "REQUEST_LIMIT_EXCEEDED"`: "GetUserPermissionsRequest RPC token bucket limit has been
 *   exceeded." (databricks/databricks-sdk-py #274), and a serving endpoint's 429 `{"error_code":
 *   "REQUEST_LIMIT_EXCEEDED","message":"REQUEST_LIMIT_EXCEEDED: Exceeded workspace QPS rate limit for ..."}` (n8n-io/n8n
 *   PR #38642). Limits are per workspace and per endpoint, runs/submit's lower than runs/get's (Databricks "resource
 *   limits" page, as summarised by apis.io; the exact numbers are not used here, tests set their own).
 * - A 503 body in the same shape: `{"error_code":"TEMPORARILY_UNAVAILABLE","message":"Authentication is temporarily
 *   unavailable. Please try again later."}` (microsoft/azdo-databricks #31).
 *
 * Assumed (not verified): the body of that 403 is the PAT path's `{"error_code":403,"message":"Invalid access
 * token."}` (our client refreshes once on it); a revoked or unknown OAuth token reads the same; `creator_user_name` is
 * the PAT owner's user name or the SP application id; runs/cancel of an unknown run answers like runs/get; cancelling
 * a finished run returns 200 `{}`; malformed JSON gives 400 MALFORMED_REQUEST; an empty POST body reads as `{}`; a
 * missing or non-numeric run_id gives 400 INVALID_PARAMETER_VALUE (the real service may instead say "Run 0 does not
 * exist."); auth is checked before routing (the /oidc endpoints take no Bearer token); /api/2.0 is not served here
 * although the real service still answers it. Throttling: the exact body of a Jobs API 429 (we answer
 * `{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"Exceeded workspace rate limit for /jobs/runs/submit."}`, no
 * verified Jobs API body was found; one 2020 report shows a 429 with an empty body, databricks/terraform-provider-
 * databricks #192); that the limit is checked before auth and routing, and that a throttled request has no side
 * effect; that the token endpoint is throttled with the same body (not an OAuth `{"error": ...}` one); that Retry-After
 * is sent on every throttled request. Outages: the default body of an outage window's status (429: the throttling
 * body with Retry-After until the window ends; any other: TEMPORARILY_UNAVAILABLE "The service at <path> is
 * temporarily unavailable. Please try again later."); a real outage may as well answer a gateway's HTML page.
 *
 * Test infrastructure, not the API: `requests` records every request that arrives, whatever its path or outcome
 * (Jobs API, /oidc endpoints incl. the token endpoint, unknown routes, requests refused for auth, faults), with the
 * raw Authorization header and body (up to 64 KiB) as received, so a test can prove which credentials reached this
 * workspace (e.g. none reached an attacker's second workspace). Those two fields hold credentials: they are
 * non-enumerable, so JSON.stringify, console.log and test diffs leave them out; read them, never print them. Latency
 * faults and hangs wait on real timers (wall clock), whereas rate limits and outage windows follow `clock`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  DatabricksOidc,
  DISCOVERY_PATHS,
  type ServicePrincipal,
  TOKEN_PATH,
  type TokenRequestRecord,
} from './databricks-oidc.js';
import { type RateLimitedRoute, RateLimiter, type RateLimits } from './databricks-rate-limit.js';
import {
  DEFAULT_RUN_TIMING,
  type EmulatedRun,
  type RunOutcome,
  type RunSnapshot,
  type RunTiming,
  requestCancel,
  snapshotRun,
  taskKeysOf,
  validateSubmitRun,
} from './databricks-run.js';
import { type EmulatorFault, type EmulatorReply, FaultQueue, startEmulatorServer } from './emulator-server.js';

export type { FederationPolicy, ServicePrincipal, TokenRequestRecord } from './databricks-oidc.js';
export type { RateLimit, RateLimitedRoute, RateLimits } from './databricks-rate-limit.js';
export type { ResultState, RunOutcome, RunTiming } from './databricks-run.js';

/** Owner of PATs given as `tokens` or added without an owner. */
export const DEFAULT_PAT_OWNER = 'user@example.com';

export interface DatabricksWorkspaceOptions {
  port?: number;
  host?: '127.0.0.1';
  /** Valid personal access tokens, owned by {@link DEFAULT_PAT_OWNER}. */
  tokens?: string[];
  /** Valid personal access tokens mapped to their owner's user name. */
  pats?: Record<string, string>;
  /** OAuth clients: secrets for M2M, federation policies for token exchange. */
  servicePrincipals?: ServicePrincipal[];
  /** Default audience of federation policies. Defaults to a random UUID. */
  accountId?: string;
  /** Lifetime of issued OAuth access tokens (default 3600); exchanged tokens also end with their subject JWT. */
  oauthTokenTtlSeconds?: number;
  /** Answer 401 invalid_client to client_secret_basic, as an endpoint accepting only client_secret_post would. */
  rejectBasicAuth?: boolean;
  /** Milliseconds since the epoch; defaults to Date.now. Drives runs and OAuth token expiry. */
  clock?: () => number;
  timing?: Partial<RunTiming>;
  /** Decides, at submit time, how the run will end unless cancelled. Defaults to SUCCESS. */
  outcome?: (body: Record<string, unknown>) => RunOutcome;
  workspaceId?: string;
  /**
   * Per-endpoint limits of this workspace, a token bucket each on `clock` (e.g. `{ submit: { perSecond: 2 }, get:
   * { perSecond: 20 } }`). Over the limit a request is answered 429 REQUEST_LIMIT_EXCEEDED with `Retry-After` (whole
   * seconds until a token is available, at least 1), before auth and without side effect. Default: no limits.
   */
  rateLimits?: RateLimits;
}

/** `'token'` is `POST /oidc/v1/token`; `'any'` is the next Jobs API request, whatever its route. */
export type FaultRoute = 'submit' | 'get' | 'get-output' | 'cancel' | 'token' | 'any';
/**
 * One request's fate (emulator-server.ts): `{ status, body?, headers? }` answered instead of the handler (a string body
 * as text, an object as JSON), `'reset'`, `'reset-after'` (e.g. the run is created, the answer lost), `{ delayMs }`,
 * `{ slowBodyMs }` (handled at once, answered late, wall clock) or `'hang'`.
 */
export type Fault = EmulatorFault;

/**
 * How every request arriving in an outage window is treated: `'hang'` (never answered), `'reset'` (socket destroyed)
 * or an HTTP status. A status's default body is TEMPORARILY_UNAVAILABLE, or for 429 the throttling body with
 * `Retry-After` until the window ends; `body` and `headers` replace the default body and add headers.
 */
export type OutageMode =
  | 'hang'
  | 'reset'
  | { status: number; body?: object | string; headers?: Record<string, string> };

/** A span of the workspace's clock, `fromMs` included, `toMs` excluded (ms since the epoch, like `clock()`). */
export interface OutageWindow {
  fromMs: number;
  toMs: number;
  mode: OutageMode;
}

/** `status` is 0 when no answer was sent: the socket was destroyed, or the request hung. */
export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  /** When it arrived, by the workspace's clock (ms since the epoch). */
  at: number;
  /**
   * The Authorization header exactly as received (`Bearer <token>`, `Basic <base64>`...), undefined if none. HOLDS A
   * CREDENTIAL: non-enumerable (left out of JSON.stringify, console.log and test diffs); never print or log it.
   */
  readonly authorization?: string;
  /**
   * The request body as received (UTF-8), its first {@link MAX_RECORDED_BODY_BYTES} bytes; undefined if it could not
   * be read. MAY HOLD CREDENTIALS (a token request's client_secret or subject_token): non-enumerable like
   * `authorization`; never print or log it.
   */
  readonly body?: string;
  /** Present (true) when `body` is only the first MAX_RECORDED_BODY_BYTES bytes of a longer body. */
  bodyTruncated?: true;
  /**
   * The query string as received (`?run_id=...`, or '' for none), to tell which run a runs/get was for. Non-enumerable,
   * so comparisons of whole recorded requests stay as they were.
   */
  readonly query?: string;
}

/** How much of each request body `requests` keeps. */
export const MAX_RECORDED_BODY_BYTES = 64 * 1024;

export interface SubmittedRun {
  runId: number;
  jobId: number;
  runName: string;
  body: Record<string, unknown>;
  idempotencyToken: string | undefined;
  cancelRequested: boolean;
  submittedAt: number;
  /** The SP application id, or `user:<owner>` for a PAT. */
  principal: string;
}

export interface DatabricksWorkspace {
  readonly url: string;
  readonly workspaceId: string;
  readonly accountId: string;
  addToken(token: string, owner?: string): void;
  removeToken(token: string): void;
  addServicePrincipal(sp: ServicePrincipal): void;
  /** Makes every OAuth access token issued so far invalid (the Jobs API then answers 403). */
  revokeOAuthTokens(): void;
  /** Token endpoint calls, without secrets or subject tokens. */
  readonly tokenRequests: readonly TokenRequestRecord[];
  /** Every OAuth access token issued (test infrastructure: for leak scans of logs and tables). */
  readonly issuedAccessTokens: readonly string[];
  runs(): SubmittedRun[];
  readonly runsCreated: number;
  readonly requests: readonly RecordedRequest[];
  injectFaults(route: FaultRoute, faults: Fault[]): void;
  /** Replaces the rate limits (see {@link DatabricksWorkspaceOptions.rateLimits}); routes named start with a full bucket. */
  setRateLimits(limits: RateLimits): void;
  /**
   * Every request arriving (by `clock`) in the window, whatever its path (Jobs API, token endpoint, discovery), gets
   * the window's treatment, before rate limits, auth and faults. Windows add up; the first one added that matches wins.
   */
  outage(window: OutageWindow): void;
  clearOutages(): void;
  /** Stops the server; also ends hung requests and drops delayed answers, so it returns promptly. */
  close(): Promise<void>;
}

type Reply = { status: number; body: unknown; headers?: Record<string, string> };

const ROUTE = /^\/api\/(2\.1|2\.2)\/jobs\/runs\/(submit|get-output|get|cancel)$/;
const METHODS: Record<string, string> = { submit: 'POST', get: 'GET', 'get-output': 'GET', cancel: 'POST' };

const error = (
  status: number,
  errorCode: string | number,
  message: string,
  headers?: Record<string, string>,
): Reply => ({
  status,
  body: { error_code: errorCode, message },
  ...(headers ? { headers } : {}),
});
const invalid = (message: string): Reply => error(400, 'INVALID_PARAMETER_VALUE', message);

/** What a throttled request gets (see the note at the top: 429 and Retry-After verified, the message assumed). */
const throttled = (pathname: string, retryAfterSeconds: number): Reply =>
  error(
    429,
    'REQUEST_LIMIT_EXCEEDED',
    `Exceeded workspace rate limit for ${pathname.replace(/^\/api\/\d+\.\d+/, '')}.`,
    { 'Retry-After': String(retryAfterSeconds) },
  );

/** The limited or faulted endpoint a path belongs to, whatever the method (a wrong method still counts). */
function routeOf(pathname: string): RateLimitedRoute | undefined {
  if (pathname === TOKEN_PATH) return 'token';
  return ROUTE.exec(pathname)?.[2] as RateLimitedRoute | undefined;
}

/** Databricks reads an empty body as `{}` and answers malformed JSON with MALFORMED_REQUEST. */
class MalformedJson {
  readonly reply = error(
    400,
    'MALFORMED_REQUEST',
    'Invalid JSON given in the body of the request - failed to parse given JSON',
  );
}

function parseJson(raw: string): unknown {
  try {
    return raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    return new MalformedJson();
  }
}

/** A Reply as sent: a string body as text, anything else as JSON. */
function render(reply: Reply): EmulatorReply {
  const text = typeof reply.body === 'string';
  return {
    status: reply.status,
    headers: {
      'Content-Type': text ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
      ...reply.headers,
    },
    body: text ? (reply.body as string) : JSON.stringify(reply.body),
  };
}

/** A RecordedRequest whose credential-bearing fields are non-enumerable (see RecordedRequest.authorization). */
function recordedRequest(
  fields: { method: string; path: string; status: number; at: number },
  authorization: string | undefined,
  body: Buffer | undefined,
  query = '',
): RecordedRequest {
  const entry: RecordedRequest = { ...fields };
  if (body !== undefined && body.length > MAX_RECORDED_BODY_BYTES) entry.bodyTruncated = true;
  Object.defineProperties(entry, {
    authorization: { value: authorization, enumerable: false },
    body: { value: body?.subarray(0, MAX_RECORDED_BODY_BYTES).toString('utf8'), enumerable: false },
    query: { value: query, enumerable: false },
  });
  return entry;
}

/** Accepts a JSON number or a numeric string (flytekit sends `{"run_id": "<id>"}`). */
function parseRunId(value: unknown): number | Reply {
  if (value === undefined || value === null || value === '') return invalid('Missing required field: run_id');
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,18}$/.test(text))
    return invalid(`Invalid value for run_id: ${String(value)}`);
  return Number(text);
}

function stateJson(snapshot: RunSnapshot): Record<string, unknown> {
  return {
    life_cycle_state: snapshot.lifeCycleState,
    ...(snapshot.resultState ? { result_state: snapshot.resultState } : {}),
    state_message: snapshot.stateMessage,
    user_cancelled_or_timedout: snapshot.userCancelledOrTimedout,
  };
}

function statusJson(snapshot: RunSnapshot): Record<string, unknown> {
  return {
    state: snapshot.statusState,
    ...(snapshot.terminationDetails ? { termination_details: snapshot.terminationDetails } : {}),
  };
}

/**
 * Starts a workspace on a free 127.0.0.1 port. It needs no options, so a second workspace beside the first (another
 * tenant's, an attacker's, or a slow one) is one line:
 *
 * ```ts
 * const healthy = await startDatabricksWorkspace({ tokens: ['dapi-a'] });
 * const slow = await startDatabricksWorkspace({ tokens: ['dapi-b'], rateLimits: { submit: { perSecond: 1 } } });
 * slow.injectFaults('get', ['hang']);
 * // ... point each tenant at its workspace's url; each has its own runs, buckets, faults and outages ...
 * await Promise.all([healthy.close(), slow.close()]);
 * ```
 */
export async function startDatabricksWorkspace(options: DatabricksWorkspaceOptions = {}): Promise<DatabricksWorkspace> {
  const pats = new Map<string, string>([
    ...(options.tokens ?? []).map((token): [string, string] => [token, DEFAULT_PAT_OWNER]),
    ...Object.entries(options.pats ?? {}),
  ]);
  const clock = options.clock ?? Date.now;
  const accountId = options.accountId ?? randomUUID();
  const oidc = new DatabricksOidc({
    accountId,
    ttlSeconds: options.oauthTokenTtlSeconds ?? 3600,
    clock,
    rejectBasicAuth: options.rejectBasicAuth ?? false,
    servicePrincipals: options.servicePrincipals ?? [],
  });
  const timing: RunTiming = { ...DEFAULT_RUN_TIMING, ...options.timing };
  const outcomeOf = options.outcome ?? ((): RunOutcome => ({ resultState: 'SUCCESS' }));
  const workspaceId = options.workspaceId ?? '1234567890123456';
  const runs = new Map<number, EmulatedRun>();
  const byToken = new Map<string, EmulatedRun>();
  const faults = new FaultQueue<Exclude<FaultRoute, 'any'>>();
  const limiter = new RateLimiter(clock, options.rateLimits);
  const outages: OutageWindow[] = [];
  let nextId = 100_000_000_001;
  let url = '';

  function submit(raw: string, principal: string): Reply {
    const body = parseJson(raw);
    if (body instanceof MalformedJson) return body.reply;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return error(400, 'MALFORMED_REQUEST', 'Invalid JSON given in the body of the request - expected a map');
    }
    const submitBody = body as Record<string, unknown>;
    const problem = validateSubmitRun(submitBody);
    if (problem) return invalid(problem);
    const token = submitBody.idempotency_token as string | undefined;
    const existing = token === undefined ? undefined : byToken.get(token);
    if (existing) return { status: 200, body: { run_id: existing.runId } };

    const runName = (submitBody.run_name as string | undefined) ?? 'Untitled';
    const runId = nextId++;
    const run: EmulatedRun = {
      runId,
      jobId: nextId++,
      runName,
      body: structuredClone(submitBody),
      idempotencyToken: token,
      submittedAt: clock(),
      outcome: outcomeOf(submitBody),
      tasks: taskKeysOf(submitBody, runName).map((taskKey) => ({ taskKey, runId: nextId++ })),
      cancelRequested: false,
      canceledAt: undefined,
      principal,
    };
    runs.set(runId, run);
    if (token !== undefined) byToken.set(token, run);
    return { status: 200, body: { run_id: runId } };
  }

  function renderRun(run: EmulatedRun, version: string): Record<string, unknown> {
    const snapshot = snapshotRun(run, clock(), timing);
    const v22 = version === '2.2';
    const times = {
      start_time: snapshot.startTime,
      setup_duration: snapshot.durations?.setup ?? 0,
      execution_duration: snapshot.durations?.execution ?? 0,
      cleanup_duration: snapshot.durations?.cleanup ?? 0,
      end_time: snapshot.endTime,
    };
    return {
      job_id: run.jobId,
      run_id: run.runId,
      creator_user_name: run.principal.startsWith('user:') ? run.principal.slice('user:'.length) : run.principal,
      number_in_job: run.runId,
      original_attempt_run_id: run.runId,
      state: stateJson(snapshot),
      ...(v22 ? { status: statusJson(snapshot) } : {}),
      ...times,
      run_duration: snapshot.endTime ? snapshot.endTime - snapshot.startTime : 0,
      run_name: run.runName,
      run_page_url: `${url}/?o=${workspaceId}#job/${run.jobId}/run/${run.runId}`,
      run_type: 'SUBMIT_RUN',
      tasks: run.tasks.map((task) => ({
        run_id: task.runId,
        task_key: task.taskKey,
        state: stateJson(snapshot),
        ...(v22 ? { status: statusJson(snapshot) } : {}),
        ...times,
        attempt_number: 0,
      })),
      attempt_number: 0,
      format: 'MULTI_TASK',
    };
  }

  /**
   * runs/get-output: a task run's output (`metadata`, and `error` / `error_trace` once a failed run has ended). The
   * parent run of a `tasks` submission has no output of its own: Databricks answers 400 INVALID_PARAMETER_VALUE with
   * this message even for a single task (databricks-sdk-py #997, Airflow PR #25427).
   */
  function output(value: unknown, version: string): Reply {
    const runId = parseRunId(value);
    if (typeof runId !== 'number') return runId;
    if (runs.has(runId)) {
      return invalid(
        'Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of each ' +
          'individual task run instead.',
      );
    }
    const run = [...runs.values()].find((candidate) => candidate.tasks.some((task) => task.runId === runId));
    if (!run) return invalid(`Run ${runId} does not exist.`);
    const rendered = renderRun(run, version);
    const task = (rendered.tasks as Array<Record<string, unknown>>).find((t) => t.run_id === runId);
    const snapshot = snapshotRun(run, clock(), timing);
    const failed = snapshot.endTime > 0 && snapshot.resultState !== 'SUCCESS' && snapshot.resultState !== 'CANCELED';
    return {
      status: 200,
      body: {
        metadata: { ...task, job_id: run.jobId, run_name: run.runName, run_page_url: rendered.run_page_url },
        ...(failed && run.outcome.error !== undefined ? { error: run.outcome.error } : {}),
        ...(failed && run.outcome.errorTrace !== undefined ? { error_trace: run.outcome.errorTrace } : {}),
      },
    };
  }

  function lookup(value: unknown): EmulatedRun | Reply {
    const runId = parseRunId(value);
    if (typeof runId !== 'number') return runId;
    return runs.get(runId) ?? invalid(`Run ${runId} does not exist.`);
  }

  function cancel(raw: string): Reply {
    const body = parseJson(raw);
    if (body instanceof MalformedJson) return body.reply;
    const run = lookup((body as { run_id?: unknown } | null)?.run_id);
    if (!('runId' in run)) return run;
    requestCancel(run, clock(), timing);
    return { status: 200, body: {} };
  }

  /** The caller's principal (`user:<owner>` for a PAT, the SP application id for OAuth), or the auth error. */
  function authenticate(req: IncomingMessage): Reply | string {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!match) {
      const reqId = randomUUID();
      return error(401, 401, `Credential was not sent or was of an unsupported type for this API. [ReqId: ${reqId}]`);
    }
    const token = match[1] as string;
    const owner = pats.get(token);
    if (owner !== undefined) return `user:${owner}`;
    // Unknown, revoked and expired OAuth tokens all read as an invalid token (403).
    return (
      oidc.principalOf(token) ??
      error(403, 403, 'Invalid access token.', { 'X-Databricks-Reason-Phrase': 'Invalid access token.' })
    );
  }

  const notFound = (method: string, shown: string): Reply =>
    error(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${shown}'`);

  /** The unauthenticated OAuth endpoints. */
  function handleOidc(method: string, pathname: string, raw: string, req: IncomingMessage): Reply | Promise<Reply> {
    if (DISCOVERY_PATHS.includes(pathname) && method === 'GET') return { status: 200, body: oidc.discovery(url) };
    if (pathname === TOKEN_PATH && method === 'POST') return oidc.token(req.headers, raw);
    return notFound(method, pathname);
  }

  function handle(method: string, parsed: URL, raw: string, req: IncomingMessage): Reply | Promise<Reply> {
    if (parsed.pathname.startsWith('/oidc/')) return handleOidc(method, parsed.pathname, raw, req);
    const principal = authenticate(req);
    if (typeof principal !== 'string') return principal;
    const route = ROUTE.exec(parsed.pathname);
    const [, version, name] = route ?? [];
    if (!version || !name || METHODS[name] !== method) {
      return notFound(method, parsed.pathname.replace(/^\/api\/\d+\.\d+/, ''));
    }
    if (name === 'submit') return submit(raw, principal);
    if (name === 'cancel') return cancel(raw);
    if (name === 'get-output') return output(parsed.searchParams.get('run_id') ?? undefined, version);
    const run = lookup(parsed.searchParams.get('run_id') ?? undefined);
    return 'runId' in run ? { status: 200, body: renderRun(run, version) } : run;
  }

  /** The 429 for a request over its endpoint's limit, or undefined (a token taken) when it may pass. */
  function rateLimited(pathname: string, at: number): Reply | undefined {
    const route = routeOf(pathname);
    const retryAfter = route === undefined ? undefined : limiter.take(route, at);
    return retryAfter === undefined ? undefined : throttled(pathname, retryAfter);
  }

  function outageReply(window: OutageWindow, pathname: string, at: number): Reply | 'hang' | 'reset' {
    const { mode } = window;
    if (mode === 'hang' || mode === 'reset') return mode;
    const fallback =
      mode.status === 429
        ? throttled(pathname, Math.max(1, Math.ceil((window.toMs - at) / 1000)))
        : error(
            mode.status,
            'TEMPORARILY_UNAVAILABLE',
            `The service at ${pathname} is temporarily unavailable. Please try again later.`,
          );
    return {
      status: mode.status,
      body: mode.body ?? fallback.body,
      headers: { ...fallback.headers, ...mode.headers },
    };
  }

  const server = await startEmulatorServer<RecordedRequest>({
    port: options.port,
    maxBodyBytes: Number.POSITIVE_INFINITY,
    clock,
    // Outages first, then rate limits (no side effect), then queued faults. 'any' is for the Jobs API: an OAuth
    // client's token fetch must not consume a fault meant for its next call.
    fault: ({ url: { pathname }, at }) => {
      const window = outages.find((w) => at >= w.fromMs && at < w.toMs);
      const early = window ? outageReply(window, pathname, at) : rateLimited(pathname, at);
      return (early as Fault | undefined) ?? faults.take(routeOf(pathname), !pathname.startsWith('/oidc/'));
    },
    faultReply: (fault) => render({ status: fault.status, body: fault.body ?? '', headers: fault.headers }),
    handle: async (x) => render(await handle(x.method, x.url, x.text(), x.req)),
    internalError: () => 'reset',
    // A body that could not be read is recorded as undefined.
    record: (x, status) =>
      recordedRequest(
        { method: x.method, path: x.url.pathname, status, at: x.at },
        x.req.headers.authorization,
        x.req.complete ? x.body : undefined,
        x.url.search,
      ),
  });
  url = server.url;

  return {
    url,
    workspaceId,
    accountId,
    addToken: (token, owner = DEFAULT_PAT_OWNER) => void pats.set(token, owner),
    removeToken: (token) => void pats.delete(token),
    addServicePrincipal: (sp) => oidc.addServicePrincipal(sp),
    revokeOAuthTokens: () => oidc.revokeAccessTokens(),
    tokenRequests: oidc.tokenRequests,
    issuedAccessTokens: oidc.issuedAccessTokens,
    runs: () =>
      [...runs.values()].map((run) => ({
        runId: run.runId,
        jobId: run.jobId,
        runName: run.runName,
        body: structuredClone(run.body),
        idempotencyToken: run.idempotencyToken,
        cancelRequested: run.cancelRequested,
        submittedAt: run.submittedAt,
        principal: run.principal,
      })),
    get runsCreated() {
      return runs.size;
    },
    requests: server.requests,
    injectFaults: (route, list) => faults.inject(route, list),
    setRateLimits: (limits) => limiter.set(limits),
    outage: (window) => {
      if (!(Number.isFinite(window.fromMs) && Number.isFinite(window.toMs) && window.fromMs < window.toMs)) {
        throw new Error(`outage window must have finite fromMs < toMs, got ${window.fromMs}..${window.toMs}`);
      }
      outages.push({ ...window });
    },
    clearOutages: () => void outages.splice(0),
    close: () => server.close(),
  };
}
