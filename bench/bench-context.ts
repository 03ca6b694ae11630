/**
 * What the cold-start and warm-poll measurements share: their options, the children's environment, the check that a
 * child did the work it was timed for, and the bundles (built once, or on the spot).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionName } from '../infra/bundling/function-bundle.js';
import { FUNCTION_MEMORY_MB } from '../infra/function-memory.js';
import type { LocalStack } from '../infra/local/local-stack.js';
import { type BenchBundles, bundleAll } from './bench-bundles.js';
import { assertBenchStack, createSinkQueues } from './bench-jobs.js';
import type { Node22 } from './node22.js';

/** Records per SQS invocation: the event source mapping's batch size. */
export const BATCH_SIZE = 10;

/** What the benchmark runs: the functions, and the reference and floor it reads our poll against. */
export type Subject = FunctionName | 'reference' | 'floor';

/** The child's name and memory: the reference and the floor get the poll function's. */
export function childIdentity(subject: Subject): { functionName: string; memoryMb: number } {
  const memoryOf: FunctionName = subject === 'reference' || subject === 'floor' ? 'poll' : subject;
  return { functionName: `flyte-databricks-${subject}`, memoryMb: FUNCTION_MEMORY_MB[memoryOf] };
}

export interface BenchOptions {
  /** Started with benchStackOptions() merged in. */
  stack: LocalStack;
  node22: Node22;
  /** Overrides over `stack.env` for every child (AWS endpoints through counting proxies, say). */
  env?: Record<string, string>;
  /** Bundles from bundleAll(); built into a temporary folder (removed afterwards) when not given. */
  bundles?: BenchBundles;
  /** Progress lines; default none. */
  log?: (line: string) => void;
}

/** The local stack's own poll schedule (1-2 s, so its demos finish quickly), which the children do not take. */
const LOCAL_ONLY_VARIABLES = ['POLL_INTERVAL_MIN_SECONDS', 'POLL_INTERVAL_MAX_SECONDS'];

/**
 * Every child's environment: the stack's, less its quick poll schedule (the children poll on the deployed defaults,
 * as a deployed function does: with 1 s polls, workspace pacing would send polls on without calling Databricks), the
 * caller's overrides, and sink queues of the children's own.
 */
export async function childEnvironment(
  stack: LocalStack,
  overlay: Record<string, string> = {},
): Promise<Record<string, string>> {
  assertBenchStack(stack);
  const stackEnv = Object.fromEntries(
    Object.entries(stack.env).filter(([name]) => !LOCAL_ONLY_VARIABLES.includes(name)),
  );
  const env = { ...stackEnv, ...overlay };
  const sqsEndpoint = env.AWS_ENDPOINT_URL_SQS;
  if (!sqsEndpoint) throw new Error('The children need AWS_ENDPOINT_URL_SQS (stack.env has it)');
  return { ...env, ...(await createSinkQueues(stack, sqsEndpoint)) };
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
