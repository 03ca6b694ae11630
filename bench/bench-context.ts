/**
 * What the cold-start and warm-poll measurements share: their options, the environment of a process acting as one of
 * the stack's functions, the check that a measured process did the work it was timed for, and the bundles (built
 * once, or on the spot).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionName } from '../infra/bundling/function-bundle.js';
import { FUNCTION_MEMORY_MB } from '../infra/function-memory.js';
import type { LocalStack } from '../infra/local/local-stack.js';
import { type BenchBundles, bundleAll } from './bench-bundles.js';
import { assertBenchStack } from './bench-jobs.js';
import type { Node22 } from './node22.js';

/** Records per SQS invocation: the event source mapping's batch size. */
export const BATCH_SIZE = 10;

/** What the benchmark runs: the functions, and the reference and floor it reads our poll against. */
export type Subject = FunctionName | 'reference' | 'floor';

/** The child's name and memory: the reference and the floor get the poll function's. */
export function childIdentity(subject: Subject): { functionName: string; memoryMb: number } {
  return { functionName: `flyte-databricks-${subject}`, memoryMb: FUNCTION_MEMORY_MB[functionOf(subject)] };
}

export interface BenchOptions {
  /** Started with benchStackOptions() merged in. */
  stack: LocalStack;
  node22: Node22;
  /** Overrides over every measured process's environment (functionEnvironmentFor). */
  env?: Record<string, string>;
  /** Bundles from bundleAll(); built into a temporary folder (removed afterwards) when not given. */
  bundles?: BenchBundles;
  /** Progress lines; default none. */
  log?: (line: string) => void;
}

/**
 * SQS's longest delay, as POLL_INTERVAL_MIN_SECONDS and POLL_INTERVAL_MAX_SECONDS of every measured process: what it
 * sends to the poll queue (a submit's first poll, a poll's next one) comes back after the benchmark has ended.
 */
export const PARKED_POLL_SECONDS = 900;

/** Variables Lambda sets itself (function-environments.ts refuses a function environment that sets them). */
const LAMBDA_RESERVED =
  /^(_HANDLER|_X_AMZN_TRACE_ID|AWS_REGION|AWS_DEFAULT_REGION|AWS_EXECUTION_ENV|AWS_LAMBDA_.*|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR|TZ)$/;

/** The stack function a subject acts as: the reference and the floor are poll handlers, so they act as poll. */
export function functionOf(subject: Subject): FunctionName {
  return subject === 'reference' || subject === 'floor' ? 'poll' : subject;
}

/**
 * The environment of a process acting as `subject`'s function (the reference and the floor as the poll function), as
 * the stack runs that function: its own environment (stack.functionEnvironment: the function-side AWS endpoints, its
 * queue URLs, its settings, the bench's OAuth M2M client from benchStackOptions), its role session's keys
 * (stack.credentialsOf, which the IAM gateways authorize against the role's policies from the template), then
 * `overlay`. Without the variables Lambda sets itself (the caller adds them: node22-child.ts, function-environments).
 *
 * One difference from the stack's function, on purpose: the poll schedule is parked at PARKED_POLL_SECONDS. A
 * function's role may send only to the stack's own queues (the template grants no other), so what a measured process
 * sends goes to the queues the stack's own functions consume; parked, none of it comes back while the benchmark runs,
 * and the stack's functions never race the measured process for its jobs. At the benchmark's load, 900 s leaves
 * workspace pacing off as the template's 10 s does (shared/jobs/workspace-pacing.ts: pacing is on only when a period
 * would exceed the shortest interval), so every measured poll calls Databricks (expectDatabricksCalls checks it).
 */
export function functionEnvironmentFor(
  stack: LocalStack,
  subject: Subject,
  overlay: Record<string, string> = {},
): Record<string, string> {
  assertBenchStack(stack);
  const fn = functionOf(subject);
  const own = Object.fromEntries(
    Object.entries(stack.functionEnvironment(fn)).filter(([name]) => !LAMBDA_RESERVED.test(name)),
  );
  const keys = stack.credentialsOf(fn);
  return {
    ...own,
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    ...(keys.sessionToken ? { AWS_SESSION_TOKEN: keys.sessionToken } : {}),
    ...(own.POLL_INTERVAL_MIN_SECONDS === undefined
      ? {}
      : {
          POLL_INTERVAL_MIN_SECONDS: String(PARKED_POLL_SECONDS),
          POLL_INTERVAL_MAX_SECONDS: String(PARKED_POLL_SECONDS),
        }),
    ...overlay,
  };
}

/**
 * A Node 22 child's environment (bench/node22-child.ts, which adds Lambda's function variables): the function's
 * (functionEnvironmentFor) and the region, which Lambda sets.
 */
export function childEnvironment(
  stack: LocalStack,
  subject: Subject,
  overlay: Record<string, string> = {},
): Record<string, string> {
  return {
    ...functionEnvironmentFor(stack, subject, overlay),
    AWS_REGION: stack.region,
    AWS_DEFAULT_REGION: stack.region,
  };
}

/**
 * Runs `step` (the only thing talking to Databricks meanwhile) and checks that the emulator answered exactly the
 * expected calls, each with 200; the child itself checks that every invocation succeeded. So a poll dropped as
 * stale, say, never passes for a fast poll.
 */
export async function expectDatabricksCalls<T>(
  stack: LocalStack,
  subject: string,
  expected: Record<string, number>,
  step: () => Promise<T>,
): Promise<T> {
  const before = stack.databricks.requests.length;
  const result = await step();
  const calls: Record<string, number> = {};
  for (const request of stack.databricks.requests.slice(before)) {
    const route = /\/jobs\/(runs\/\w+)$/.exec(request.path)?.[1];
    if (!route) continue;
    const key = request.status === 200 ? route : `${route} ${request.status}`;
    calls[key] = (calls[key] ?? 0) + 1;
  }
  if (JSON.stringify(sortKeys(calls)) !== JSON.stringify(sortKeys(expected))) {
    throw new Error(`${subject}: expected Databricks calls ${JSON.stringify(expected)}, saw ${JSON.stringify(calls)}`);
  }
  return result;
}

const sortKeys = (record: Record<string, number>) => Object.fromEntries(Object.entries(record).sort());

export async function withBundles<T>(options: BenchOptions, use: (bundles: BenchBundles) => Promise<T>): Promise<T> {
  if (options.bundles) return use(options.bundles);
  const dir = mkdtempSync(join(tmpdir(), 'fdl-bench-bundles-'));
  try {
    return await use(await bundleAll(dir, options.node22.nodeModules));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
