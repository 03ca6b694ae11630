/**
 * The template's functions, running: each from its built asset in execution environments of its own
 * (lambda-runtime/function-environments.ts), with its template environment plus the local overrides
 * (template/local-overrides.ts) and its role session's credentials; fed by the template's SQS event source mappings
 * (batch size, batching window, maximum concurrency, ReportBatchItemFailures), its schedule (the sweeper) and its
 * API methods (the front door, IAM-authorized as AWS_IAM methods are: SigV4 and execute-api:Invoke).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { FaultPlan } from './faults/fault-plan.js';
import type { PolicyDocument } from './iam/iam-policy-evaluation.js';
import type { IamPrincipals } from './iam/iam-principals.js';
import { startFrontDoor } from './lambda-runtime/api-gateway-front-door.js';
import { scheduledEvent } from './lambda-runtime/event-shapes.js';
import { iamAuthorization } from './lambda-runtime/front-door-iam.js';
import {
  type FunctionEnvironments,
  type InvokeOutcome,
  startFunctionEnvironments,
} from './lambda-runtime/function-environments.js';
import { type InvocationOutcome, type Invoker, LambdaTimeoutError } from './lambda-runtime/invocation.js';
import type { QueueActivity } from './lambda-runtime/queue-activity.js';
import { type SqsEventSource, startSqsEventSource } from './lambda-runtime/sqs-event-source.js';
import type { FrontDoorCall } from './local-stack.js';
import type { FunctionPrincipal } from './stack-principals.js';
import { checkFunctionEnvironments } from './template/check-function-environments.js';
import { type IntrinsicScope, resolveString } from './template/intrinsics.js';
import { type LocalEnvironmentOverrides, overrideEnvironment } from './template/local-overrides.js';
import type { StackTemplate, TemplateFunction } from './template/stack-template.js';
import { viaEndpoint } from './template/template-resources.js';

/** How many front door requests `frontDoorCalls` keeps (the most recent). */
const MAX_RECORDED_CALLS = 1000;
/** Lambda's SQS event source scales to this many concurrent batches when the mapping sets no maximum (local cap). */
const DEFAULT_EVENT_SOURCE_CONCURRENCY = 5;
/** Concurrent executions of the API function (API Gateway invokes it once per request). */
const API_CONCURRENCY = 10;

export interface StackFunctionsOptions {
  template: StackTemplate;
  /** Resolves the functions' environments (queue URLs included). */
  scope: IntrinsicScope;
  functions: readonly FunctionPrincipal[];
  principals: IamPrincipals;
  region: string;
  accountId: string;
  apiId: string;
  overrides: LocalEnvironmentOverrides;
  functionTimeoutSeconds?: number;
  /** Where the event sources (AWS's side) reach SQS, signing as each function's role as Lambda does. */
  eventSourceSqsUrl: string;
  eventSourceConcurrency?: number;
  /** Replaces every mapping's batching window. */
  batchingWindowSeconds?: number;
  /** Sends announced by the SQS gateways: the event sources never wait out a long poll. */
  queueActivity?: QueueActivity;
  /** The work queues' visibility timeout when overridden (checked against the function timeouts). */
  visibilityTimeoutSeconds?: number;
  sweepIntervalMs?: number;
  faultPlan?: FaultPlan;
  sigv4: boolean;
  port: number;
  /** Initialize one environment per function at start (provisioned concurrency of 1): first invocations warm. */
  prewarm?: boolean;
  apiPolicy?: PolicyDocument;
  onLog?: (line: string, functionName: string, stream: 'stdout' | 'stderr') => void;
}

export interface StackFunctions {
  /** Each function's environment as it runs (without its credentials), by logical id. */
  environments: Record<string, Record<string, string>>;
  /** How each function's environment differs from the template's, by logical id. */
  differences: Record<string, string[]>;
  frontDoorUrl: string;
  frontDoorCalls: FrontDoorCall[];
  timeouts(): Record<string, number>;
  starts(): Record<string, { cold: number; warm: number; initErrors: number; crashes: number }>;
  drain(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

type Closer = () => Promise<void>;

export async function startStackFunctions(options: StackFunctionsOptions): Promise<StackFunctions> {
  const closers: Closer[] = [];
  try {
    return await start(options, closers);
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw error;
  }
}

async function start(options: StackFunctionsOptions, closers: Closer[]): Promise<StackFunctions> {
  const { template, scope, region, accountId } = options;
  const environments: Record<string, Record<string, string>> = {};
  const differences: Record<string, string[]> = {};
  for (const { fn } of options.functions) {
    const templateEnv = Object.fromEntries(
      Object.entries(fn.environment).map(([name, value]) => [
        name,
        resolveString(value, scope, `${fn.logicalId}.Environment.Variables.${name}`),
      ]),
    );
    const overridden = overrideEnvironment(templateEnv, options.overrides);
    environments[fn.logicalId] = overridden.env;
    differences[fn.logicalId] = overridden.differences;
  }
  // Overrides of the event sources and timeouts are differences too. AWS refuses a mapping whose queue's visibility
  // timeout is below the function timeout; tests that redeliver in seconds knowingly run such a one: said here.
  for (const mapping of template.eventSources) {
    const fn = template.functions.find((f) => f.logicalId === mapping.functionLogicalId);
    const list = differences[mapping.functionLogicalId];
    if (!fn || !list) continue;
    if (
      options.batchingWindowSeconds !== undefined &&
      options.batchingWindowSeconds !== mapping.batchingWindowSeconds
    ) {
      list.push(
        `event source batching window: ${mapping.batchingWindowSeconds} s -> ${options.batchingWindowSeconds} s`,
      );
    }
    if (options.eventSourceConcurrency !== undefined) {
      list.push(`event source maximum concurrency: at most ${options.eventSourceConcurrency}`);
    }
    const timeout = options.functionTimeoutSeconds ?? fn.timeoutSeconds;
    if (options.visibilityTimeoutSeconds !== undefined && options.visibilityTimeoutSeconds < timeout) {
      list.push(
        `queue visibility timeout ${options.visibilityTimeoutSeconds} s is below the function timeout ${timeout} s ` +
          '(AWS refuses such an event source mapping; a test redelivering quickly)',
      );
    }
  }
  for (const { fn } of options.functions) {
    if (options.functionTimeoutSeconds !== undefined && options.functionTimeoutSeconds !== fn.timeoutSeconds) {
      differences[fn.logicalId]?.push(`timeout: ${fn.timeoutSeconds} s -> ${options.functionTimeoutSeconds} s`);
    }
  }
  // A variable the template forgot fails here, naming the function, before anything runs.
  checkFunctionEnvironments(
    options.functions.map(({ fn }) => ({ name: fn.logicalId, env: environments[fn.logicalId] ?? {} })),
  );

  const concurrencyOf = (fn: TemplateFunction): number => {
    const mapping = template.eventSources.find((e) => e.functionLogicalId === fn.logicalId);
    if (!mapping)
      return template.apis.some((a) => a.methods.some((m) => m.functionLogicalId === fn.logicalId))
        ? API_CONCURRENCY
        : 1;
    return eventSourceConcurrency(mapping.maxConcurrency, options.eventSourceConcurrency);
  };
  const timeoutSecondsOf = (fn: TemplateFunction) => options.functionTimeoutSeconds ?? fn.timeoutSeconds;

  const pools = new Map<string, FunctionEnvironments>();
  const names = new Map<string, string>();
  await Promise.all(
    options.functions.map(async ({ fn, functionName, keys }) => {
      const logLevel = options.overrides.logLevel ?? fn.applicationLogLevel;
      const pool = await startFunctionEnvironments(
        {
          functionName,
          handler: fn.handler,
          codeDir: fn.codeDir,
          runtime: fn.runtime,
          memoryMb: fn.memoryMb,
          timeoutSeconds: timeoutSecondsOf(fn),
          env: {
            ...withoutLambdaReserved(environments[fn.logicalId] ?? {}),
            // Lambda hands each environment its role session's credentials.
            AWS_ACCESS_KEY_ID: keys.accessKeyId,
            AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
            ...(keys.sessionToken ? { AWS_SESSION_TOKEN: keys.sessionToken } : {}),
          },
          maxEnvironments: concurrencyOf(fn),
          region,
          accountId,
          ...(fn.logFormat === 'JSON' || fn.logFormat === 'Text' ? { logFormat: fn.logFormat } : {}),
          ...(logLevel ? { applicationLogLevel: logLevel } : {}),
        },
        options.onLog ? { onLog: options.onLog } : {},
      );
      pools.set(fn.logicalId, pool);
      names.set(fn.logicalId, functionName);
      closers.push(() => pool.stop());
      if (options.prewarm) await pool.prewarm(1);
    }),
  );
  const poolOf = (logicalId: string): FunctionEnvironments => {
    const pool = pools.get(logicalId);
    if (!pool) throw new Error(`no function ${logicalId} in the template`);
    return pool;
  };
  const invokerOf = (logicalId: string): Invoker => {
    const pool = poolOf(logicalId);
    const fn = template.functions.find((f) => f.logicalId === logicalId) as TemplateFunction;
    const functionTimeoutMs = timeoutSecondsOf(fn) * 1000;
    return async (event, { timeoutMs }) =>
      outcomeOf(await pool.invoke(event, timeoutMs < functionTimeoutMs ? { killAfterMs: timeoutMs } : {}), timeoutMs);
  };

  // The SQS event source mappings, polling as the function's role (Lambda's event source uses the execution role).
  const sources: SqsEventSource[] = [];
  for (const mapping of template.eventSources.filter((m) => m.enabled)) {
    const principal = options.functions.find((f) => f.fn.logicalId === mapping.functionLogicalId);
    const fn = principal?.fn;
    if (!principal || !fn) throw new Error(`${mapping.logicalId}: no function ${mapping.functionLogicalId}`);
    const queueUrl = viaEndpoint(scope.resources.get(mapping.queueLogicalId)?.ref ?? '', options.eventSourceSqsUrl);
    const sqs = new SQSClient({ region, endpoint: options.eventSourceSqsUrl, credentials: principal.keys });
    closers.push(async () => sqs.destroy());
    const plan = options.faultPlan;
    const source = startSqsEventSource({
      sqs,
      queueUrl,
      region,
      invoke: invokerOf(fn.logicalId),
      functionName: principal.functionName,
      batchSize: mapping.batchSize,
      maximumBatchingWindowMs: (options.batchingWindowSeconds ?? mapping.batchingWindowSeconds) * 1000,
      ...(options.queueActivity ? { activity: options.queueActivity } : {}),
      functionTimeoutMs: timeoutSecondsOf(fn) * 1000,
      reportBatchItemFailures: mapping.reportBatchItemFailures,
      concurrency: eventSourceConcurrency(mapping.maxConcurrency, options.eventSourceConcurrency),
      ...(plan ? { killAfterMs: () => plan.killAfterMs() } : {}),
      onError: reportRuntimeError,
    });
    sources.push(source);
    closers.push(() => source.stop());
  }
  // In flow order (submit feeds poll, nothing feeds submit), so a queue seen empty stays empty.
  const flowOrder = ['Submit', 'Poll', 'Cancel'];
  const orderedSources = sources
    .map((source, index) => ({ source, mapping: template.eventSources.filter((m) => m.enabled)[index] }))
    .sort(
      (a, b) =>
        flowOrder.findIndex((p) => a.mapping?.functionLogicalId.startsWith(p)) -
        flowOrder.findIndex((p) => b.mapping?.functionLogicalId.startsWith(p)),
    )
    .map(({ source }) => source);

  // The schedules (the sweeper): one run at a time, the next scheduled when one ends.
  for (const schedule of template.schedules.filter((s) => s.enabled)) {
    const invoke = invokerOf(schedule.functionLogicalId);
    const fn = template.functions.find((f) => f.logicalId === schedule.functionLogicalId) as TemplateFunction;
    const ruleName = scope.resources.get(schedule.logicalId)?.ref ?? schedule.logicalId;
    closers.push(
      startSchedule(options.sweepIntervalMs ?? schedule.intervalMs, () =>
        invoke(scheduledEvent({ ruleName, region, accountId }), { timeoutMs: timeoutSecondsOf(fn) * 1000 }),
      ),
    );
  }

  // The API: its methods, integrated with their function, authorized as the template says.
  const frontDoorCalls: FrontDoorCall[] = [];
  const api = template.apis[0];
  let frontDoorUrl = '';
  if (api) {
    const fnLogicalIds = [...new Set(api.methods.map((m) => m.functionLogicalId))];
    if (fnLogicalIds.length !== 1) throw new Error(`${api.logicalId}: the local front door serves one function`);
    const fnLogicalId = fnLogicalIds[0] as string;
    const fn = template.functions.find((f) => f.logicalId === fnLogicalId) as TemplateFunction;
    const invoke = invokerOf(fnLogicalId);
    const iamMethods = new Set(api.methods.filter((m) => m.authorizationType === 'AWS_IAM').map((m) => m.httpMethod));
    const frontDoor = await startFrontDoor({
      port: options.port,
      host: '127.0.0.1',
      accountId,
      apiId: options.apiId,
      stage: api.stageName,
      functionName: names.get(fnLogicalId) ?? fnLogicalId,
      functionTimeoutMs: timeoutSecondsOf(fn) * 1000,
      resolveResource: api.methods.map((m) => `${m.httpMethod} ${m.path}`),
      invoke: (event, invocation) => {
        const proxy = event as APIGatewayProxyEvent;
        frontDoorCalls.push({
          method: proxy.httpMethod,
          path: proxy.path,
          resource: proxy.resource,
          identity: proxy.requestContext.identity,
        });
        if (frontDoorCalls.length > MAX_RECORDED_CALLS) frontDoorCalls.shift();
        return invoke(event, invocation);
      },
      ...(options.sigv4 && iamMethods.size > 0
        ? {
            identity: iamAuthorization({
              principals: options.principals,
              region,
              accountId,
              apiId: options.apiId,
              stage: api.stageName,
              ...(options.apiPolicy ? { apiPolicy: options.apiPolicy } : {}),
            }),
          }
        : {}),
      onError: (error) => reportRuntimeError(error, 'invoke'),
    });
    closers.push(() => frontDoor.close());
    frontDoorUrl = frontDoor.url;
  }

  return {
    environments,
    differences,
    frontDoorUrl,
    frontDoorCalls,
    timeouts: () =>
      Object.fromEntries(
        [...pools].map(([logicalId, pool]) => [names.get(logicalId) ?? logicalId, pool.stats().timeouts]),
      ),
    starts: () =>
      Object.fromEntries(
        [...pools].map(([logicalId, pool]) => {
          const stats = pool.stats();
          const counts = {
            cold: stats.coldStarts,
            warm: stats.warmStarts,
            initErrors: stats.initErrors,
            crashes: stats.crashes,
          };
          return [names.get(logicalId) ?? logicalId, counts];
        }),
      ),
    drain: async (timeoutMs) => {
      for (const source of orderedSources) await source.drain({ timeoutMs });
    },
    stop: async () => {
      for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    },
  };
}

function eventSourceConcurrency(maxConcurrency: number | undefined, cap: number | undefined): number {
  return Math.min(maxConcurrency ?? DEFAULT_EVENT_SOURCE_CONCURRENCY, cap ?? Number.POSITIVE_INFINITY);
}

/** The pool's outcome as the event sources and the front door read it. */
function outcomeOf(outcome: InvokeOutcome, timeoutMs: number): InvocationOutcome {
  switch (outcome.status) {
    case 'ok':
      return { status: 'succeeded', result: outcome.payload };
    case 'timedOut':
      return { status: 'timedOut', error: new LambdaTimeoutError(outcome.timeoutSeconds * 1000) };
    case 'crashed':
      // An injected kill (killAfterMs) ends the invocation early, as a timeout would.
      return { status: 'timedOut', error: new LambdaTimeoutError(timeoutMs) };
    default: {
      const error = new Error(`${outcome.errorType}: ${outcome.errorMessage}`);
      error.name = outcome.errorType;
      return { status: 'failed', error };
    }
  }
}

/** Variables Lambda sets itself; the template cannot set them, and the runtime adds its own. */
function withoutLambdaReserved(env: Record<string, string>): Record<string, string> {
  const reserved = /^(AWS_LAMBDA_LOG_LEVEL|AWS_LAMBDA_LOG_FORMAT)$/;
  return Object.fromEntries(Object.entries(env).filter(([name]) => !reserved.test(name)));
}

function startSchedule(intervalMs: number, run: () => Promise<unknown>): Closer {
  let stopped = false;
  let running: Promise<unknown> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(() => {
      // A failed run has logged why; the next one tries again, as on AWS.
      running = run()
        .catch(() => undefined)
        .finally(() => {
          running = undefined;
          if (!stopped) schedule();
        });
    }, intervalMs);
  };
  schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}

/**
 * Failures of the emulated Lambda service. A function's own failures are in its structured logs, and records come
 * back through the queue as on AWS; what is worth a line here is the event source failing to talk to the queue.
 */
function reportRuntimeError(error: unknown, phase: string): void {
  if (phase === 'invoke' || phase === 'response') return;
  console.error(`[local-stack] ${phase}: ${error instanceof Error ? error.message : String(error)}`);
}
