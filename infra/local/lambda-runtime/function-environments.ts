/**
 * A function's execution environments, run as Lambda runs them: each environment is its own Node process (the
 * runtime's Node, from node-runtime.ts) running aws-lambda-ric against its own Runtime API (runtime-api.ts), which
 * loads the function's built asset (`index.mjs` and its chunks, as `cdk synth` writes it) from LAMBDA_TASK_ROOT.
 *
 * As in Lambda: an idle environment is reused (a warm start); when all are busy a new one is started (a cold
 * start), up to `maxEnvironments` concurrent executions, after which invocations wait their turn. Module state
 * lives in one process, so it is kept across warm invocations and never shared between environments or
 * functions. The process gets the function's environment plus the variables Lambda sets, nothing of ours.
 * A timeout kills the environment (SIGKILL), so the next invocation is cold; init has Lambda's 10 s limit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { createInterface } from 'node:readline';
import { ensureNodeRuntime, type NodeRuntime } from './node-runtime.js';
import { type InitResult, type RuntimeApi, startRuntimeApi } from './runtime-api.js';

/** Lambda's limit on a synchronous invocation's request payload, in bytes. */
export const MAX_REQUEST_BYTES = 6_291_456;
/** Lambda's limit on an on-demand environment's init phase. */
export const INIT_TIMEOUT_MS = 10_000;

export interface FunctionSpec {
  /** e.g. 'flyte-databricks-submit' */
  functionName: string;
  /** From the template, e.g. 'index.handler'. */
  handler: string;
  /** The asset folder (LAMBDA_TASK_ROOT). */
  codeDir: string;
  /** e.g. 'nodejs22.x' */
  runtime: string;
  /** Sets the V8 heap limits as Lambda's Node bootstrap does, and AWS_LAMBDA_FUNCTION_MEMORY_SIZE. */
  memoryMb: number;
  timeoutSeconds: number;
  /** The function's environment (template env, credentials, endpoints); Lambda's own variables are added. */
  env: Record<string, string>;
  /** Concurrent executions at most (reserved concurrency). */
  maxEnvironments: number;
  region: string;
  accountId: string;
  /** The template's LoggingConfig: LogFormat JSON sets AWS_LAMBDA_LOG_FORMAT (and the level), as Lambda does. */
  logFormat?: 'Text' | 'JSON';
  /** ApplicationLogLevel (JSON format only), e.g. 'INFO'. */
  applicationLogLevel?: string;
  /** Default /aws/lambda/<functionName>. */
  logGroupName?: string;
}

export interface InvokeOptions {
  /** Chaos: SIGKILL the environment this long after the invocation reached it. */
  killAfterMs?: number;
  /** Default: a random UUID, as Lambda makes one. */
  requestId?: string;
  /** X-Ray trace header; default an unsampled one. */
  traceId?: string;
  /** The client context (Lambda-Runtime-Client-Context), JSON-serializable. */
  clientContext?: unknown;
}

export type InvokeOutcome =
  | { status: 'ok'; requestId: string; payload: unknown; coldStart: boolean; durationMs: number }
  /** The handler threw or rejected (or its response was refused: Function.ResponseSizeTooLarge). */
  | {
      status: 'error';
      requestId: string;
      errorType: string;
      errorMessage: string;
      stackTrace: string[];
      coldStart: boolean;
    }
  /** Init failed (Runtime.ImportModuleError, Runtime.HandlerNotFound, ..., Runtime.ExitError, Sandbox.Timedout). */
  | { status: 'initError'; requestId: string; errorType: string; errorMessage: string }
  /** Ended at the function timeout: the environment was killed. */
  | { status: 'timedOut'; requestId: string; timeoutSeconds: number }
  /** The process ended mid-invocation (out of memory, killAfterMs, a crash): Runtime.ExitError. */
  | { status: 'crashed'; requestId: string; errorType: string; errorMessage: string };

export interface EnvironmentStats {
  /** Invocations that started a new environment (including those whose init failed). */
  coldStarts: number;
  /** Invocations served by an environment that was already initialized. */
  warmStarts: number;
  timeouts: number;
  initErrors: number;
  crashes: number;
  /** Environments alive now (idle, busy or initializing). */
  environments: number;
}

export interface FunctionEnvironments {
  readonly functionName: string;
  invoke(event: unknown, options?: InvokeOptions): Promise<InvokeOutcome>;
  /**
   * Initializes up to `count` environments ahead of any invocation (as provisioned concurrency does), so the first
   * invocations are warm; resolves when they are ready. An init that fails is dropped (the next invoke reports it).
   */
  prewarm(count: number): Promise<void>;
  stats(): EnvironmentStats;
  /** Kills every process and closes every server; waiting invocations reject. Idempotent. */
  stop(): Promise<void>;
}

export interface FunctionEnvironmentsOptions {
  /** Each line a worker prints; default: the same line on this process's stdout or stderr, unchanged. */
  onLog?: (line: string, functionName: string, stream: 'stdout' | 'stderr') => void;
  /** Lambda's 10 s unless a test needs less. */
  initTimeoutMs?: number;
}

export class RequestTooLargeError extends Error {
  override readonly name = 'RequestTooLargeException';
  constructor(bytes: number) {
    super(
      `${bytes} byte payload is too large for the RequestResponse invocation type (limit ${MAX_REQUEST_BYTES} bytes)`,
    );
  }
}

/** Variables Lambda sets itself; a function may not set them (Lambda refuses such a configuration). */
const RESERVED = [
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_LAMBDA_LOG_FORMAT',
  'AWS_LAMBDA_LOG_LEVEL',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'TZ',
];

export async function startFunctionEnvironments(
  spec: FunctionSpec,
  options: FunctionEnvironmentsOptions = {},
): Promise<FunctionEnvironments> {
  validate(spec);
  const runtime = await ensureNodeRuntime(spec.runtime);
  const codeDir = resolvePath(spec.codeDir);
  const onLog = options.onLog ?? defaultLog;
  const initTimeoutMs = options.initTimeoutMs ?? INIT_TIMEOUT_MS;
  const functionArn = `arn:aws:lambda:${spec.region}:${spec.accountId}:function:${spec.functionName}`;

  const counts = { coldStarts: 0, warmStarts: 0, timeouts: 0, initErrors: 0, crashes: 0 };
  const live = new Set<Environment>();
  const idle: Environment[] = [];
  /** Cold starts granted whose environment is not in `live` yet: they hold a slot too. */
  let reserved = 0;
  const waiters: Array<{ grant: (lease: Lease) => void; refuse: (error: Error) => void }> = [];
  let stopping: Promise<void> | undefined;

  const acquire = (): Promise<Lease> => {
    const warm = idle.pop();
    if (warm) return Promise.resolve({ env: warm });
    if (live.size + reserved < spec.maxEnvironments) {
      reserved++;
      return Promise.resolve({ cold: true });
    }
    return new Promise<Lease>((grant, refuse) => waiters.push({ grant, refuse }));
  };
  /** An environment is free again: the longest-waiting invocation gets it, else it idles. */
  const release = (env: Environment) => {
    const waiter = waiters.shift();
    if (waiter) waiter.grant({ env });
    else idle.push(env);
  };
  /** A slot is free again (an environment ended, or never started): a waiting invocation starts a new one. */
  const freeSlot = () => {
    const waiter = waiters.shift();
    if (!waiter) return;
    reserved++;
    waiter.grant({ cold: true });
  };
  const retire = async (env: Environment) => {
    env.kill();
    await env.exited;
    await env.api.close();
    if (live.delete(env)) freeSlot();
  };

  const coldStart = async (): Promise<Environment | Extract<InvokeOutcome, { status: 'initError' }>> => {
    let env: Environment;
    try {
      env = await Environment.start(spec, runtime, codeDir, onLog);
    } catch (error) {
      reserved--;
      freeSlot();
      throw error;
    }
    reserved--;
    live.add(env);
    if (stopping) {
      await retire(env);
      throw stoppedError(spec.functionName);
    }
    let timer: NodeJS.Timeout | undefined;
    const init = await Promise.race<InitResult | { kind: 'exit'; how: string } | { kind: 'timeout' }>([
      env.api.init,
      env.exited.then((how) => ({ kind: 'exit' as const, how })),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'timeout' }), initTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (init.kind === 'ready') {
      // An idle environment whose process ends (work left running after a response crashed it) is dropped.
      void env.exited.then(() => {
        const at = idle.indexOf(env);
        if (at >= 0) {
          idle.splice(at, 1);
          void retire(env);
        }
      });
      return env;
    }
    await retire(env);
    counts.initErrors++;
    const requestId = '';
    if (init.kind === 'initError') return { status: 'initError', requestId, ...pick(init) };
    if (init.kind === 'exit') {
      return { status: 'initError', requestId, errorType: 'Runtime.ExitError', errorMessage: exitMessage(init.how) };
    }
    return {
      status: 'initError',
      requestId,
      errorType: 'Sandbox.Timedout',
      errorMessage: `Init timed out after ${(initTimeoutMs / 1000).toFixed(2)} seconds`,
    };
  };

  const run = async (
    env: Environment,
    payload: string,
    requestId: string,
    coldStarted: boolean,
    invoke: InvokeOptions,
  ) => {
    const timeoutMs = spec.timeoutSeconds * 1000;
    const started = performance.now();
    const timers: NodeJS.Timeout[] = [];
    const after = <T>(ms: number, value: T) =>
      new Promise<T>((resolve) => {
        timers.push(setTimeout(() => resolve(value), ms));
      });
    if (invoke.killAfterMs !== undefined) timers.push(setTimeout(() => env.kill(), invoke.killAfterMs));
    const settled = await Promise.race([
      env.api
        .invoke({
          requestId,
          payload,
          // The timeout counts from the invocation reaching the environment, init excluded, as in Lambda.
          deadlineMs: Date.now() + timeoutMs,
          invokedFunctionArn: functionArn,
          ...(invoke.traceId === undefined ? {} : { traceId: invoke.traceId }),
          ...(invoke.clientContext === undefined ? {} : { clientContext: JSON.stringify(invoke.clientContext) }),
        })
        .then(
          (result) => ({ kind: 'result' as const, result }),
          () => ({ kind: 'exit' as const, how: 'the environments were stopped' }),
        ),
      env.exited.then((how) => ({ kind: 'exit' as const, how })),
      after(timeoutMs, { kind: 'timeout' as const }),
    ]);
    for (const timer of timers) clearTimeout(timer);
    if (settled.kind === 'result') {
      if (stopping) await retire(env);
      else release(env);
      const { result } = settled;
      if (result.kind === 'error')
        return { status: 'error' as const, requestId, coldStart: coldStarted, ...pick(result) };
      return {
        status: 'ok' as const,
        requestId,
        payload: parseJson(result.body),
        coldStart: coldStarted,
        durationMs: performance.now() - started,
      };
    }
    await retire(env);
    if (settled.kind === 'timeout') {
      counts.timeouts++;
      return { status: 'timedOut' as const, requestId, timeoutSeconds: spec.timeoutSeconds };
    }
    counts.crashes++;
    return {
      status: 'crashed' as const,
      requestId,
      errorType: 'Runtime.ExitError',
      errorMessage: exitMessage(settled.how),
    };
  };

  return {
    functionName: spec.functionName,
    async invoke(event, invoke = {}) {
      if (stopping) throw stoppedError(spec.functionName);
      const payload = JSON.stringify(event === undefined ? null : event);
      const bytes = Buffer.byteLength(payload);
      if (bytes > MAX_REQUEST_BYTES) throw new RequestTooLargeError(bytes);
      const requestId = invoke.requestId ?? randomUUID();
      const lease = await acquire();
      if ('env' in lease) {
        counts.warmStarts++;
        return run(lease.env, payload, requestId, false, invoke);
      }
      counts.coldStarts++;
      const started = await coldStart();
      if (!(started instanceof Environment)) return { ...started, requestId };
      return run(started, payload, requestId, true, invoke);
    },
    async prewarm(count) {
      const starting: Array<Promise<unknown>> = [];
      for (let i = 0; i < count && live.size + reserved < spec.maxEnvironments && !stopping; i++) {
        reserved++;
        starting.push(
          coldStart().then(
            (started) => {
              if (started instanceof Environment) release(started);
            },
            () => undefined,
          ),
        );
      }
      await Promise.all(starting);
    },
    stats: () => ({ ...counts, environments: live.size }),
    stop() {
      stopping ??= (async () => {
        for (const waiter of waiters.splice(0)) waiter.refuse(stoppedError(spec.functionName));
        idle.length = 0;
        await Promise.all([...live].map((env) => retire(env)));
      })();
      return stopping;
    },
  };
}

type Lease = { env: Environment } | { cold: true };

/** One execution environment: a runtime process and the Runtime API it polls. */
class Environment {
  /** Resolves when the process has ended, with how it ended ('exit status 1', 'signal: killed'). */
  readonly exited: Promise<string>;

  private constructor(
    readonly api: RuntimeApi,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve(describeExit(code, signal)));
      child.once('error', (error) => resolve(`failed to start: ${error.message}`));
    });
  }

  static async start(
    spec: FunctionSpec,
    runtime: NodeRuntime,
    codeDir: string,
    onLog: NonNullable<FunctionEnvironmentsOptions['onLog']>,
  ): Promise<Environment> {
    const api = await startRuntimeApi();
    const child = spawn(runtime.node, [...nodeArgs(spec.memoryMb), runtime.ricEntry], {
      cwd: codeDir,
      env: processEnvironment(spec, runtime, codeDir, api.address),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (source)
        createInterface({ input: source, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
          onLog(line, spec.functionName, stream);
        });
    }
    return new Environment(api, child);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** The process environment: the function's variables, Lambda's own, and nothing inherited from this process. */
export function processEnvironment(
  spec: FunctionSpec,
  runtime: Pick<NodeRuntime, 'binDir' | 'ricDir'>,
  codeDir: string,
  runtimeApi: string,
): Record<string, string> {
  const logging: Record<string, string> =
    spec.logFormat === 'JSON'
      ? { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: spec.applicationLogLevel ?? 'INFO' }
      : {};
  return {
    // Lambda's defaults a function may override (unreserved): /var/lang/bin is the runtime's Node, here ours.
    PATH: `${runtime.binDir}:/usr/local/bin:/usr/bin/:/bin:/opt/bin`,
    LANG: 'en_US.UTF-8',
    NODE_PATH: codeDir,
    ...spec.env,
    _HANDLER: spec.handler,
    LAMBDA_TASK_ROOT: codeDir,
    LAMBDA_RUNTIME_DIR: runtime.ricDir,
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: spec.logGroupName ?? `/aws/lambda/${spec.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_REGION: spec.region,
    AWS_DEFAULT_REGION: spec.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
    TZ: ':UTC',
    ...logging,
  };
}

/**
 * Lambda's Node bootstrap: a tenth of the memory for the young generation (half of it per semi-space), the rest
 * for the old generation, so the heap, not the sandbox, runs out first.
 */
export function nodeArgs(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [
    '--expose-gc',
    '--max-http-header-size=81920',
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memoryMb - newSpace}`,
  ];
}

function validate(spec: FunctionSpec): void {
  const reserved = Object.keys(spec.env).filter((key) => RESERVED.includes(key));
  if (reserved.length > 0) {
    throw new Error(`${spec.functionName}: the environment sets variables Lambda reserves: ${reserved.join(', ')}`);
  }
  if (!(spec.maxEnvironments >= 1)) throw new Error(`${spec.functionName}: maxEnvironments must be at least 1`);
  if (!(spec.timeoutSeconds > 0)) throw new Error(`${spec.functionName}: timeoutSeconds must be positive`);
  if (!(spec.memoryMb >= 128)) throw new Error(`${spec.functionName}: memoryMb must be at least 128`);
  if (!statSync(spec.codeDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`${spec.functionName}: the code folder ${spec.codeDir} does not exist`);
  }
}

/** `2025/01/31/[$LATEST]<32 hex>`: one stream per environment, as Lambda names them. */
function logStreamName(): string {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

const SIGNAL_WORDS: Record<string, string> = {
  SIGKILL: 'killed',
  SIGABRT: 'aborted (core dumped)',
  SIGSEGV: 'segmentation fault (core dumped)',
  SIGTERM: 'terminated',
};

/** How the process ended, in the words Lambda's "Runtime exited with error: ..." uses. */
function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal: ${SIGNAL_WORDS[signal] ?? signal}`;
  return `exit status ${code ?? 'unknown'}`;
}

function exitMessage(how: string): string {
  return `Runtime exited with error: ${how}`;
}

function pick(error: { errorType: string; errorMessage: string; stackTrace?: string[] }) {
  return { errorType: error.errorType, errorMessage: error.errorMessage, stackTrace: error.stackTrace ?? [] };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

function stoppedError(functionName: string): Error {
  return new Error(`${functionName}: the function's environments were stopped`);
}

function defaultLog(line: string, _fn: string, stream: 'stdout' | 'stderr'): void {
  (stream === 'stderr' ? process.stderr : process.stdout).write(`${line}\n`);
}
