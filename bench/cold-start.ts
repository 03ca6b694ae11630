/**
 * Cold starts and memory: every measurement is a fresh Node 22 process (bench/node22.ts) that imports one bundle
 * (bench/bench-bundles.ts: the deployed esbuild options) with bench/child/invoke-bundle.mjs, timing the import (the
 * function's init) and its first invocation in the process itself, and serves real invocations against the local
 * stack: batches of 10 SQS records of real jobs for submit, poll and cancel, one GET /v1/jobs/{id} for api, one
 * scheduled event for sweep. Beside ours: the reference poll handler on the official Databricks SDK and the floor
 * (the same three calls with nothing around them). The children are not the stack's execution environments (no
 * Lambda Runtime API: the import is timed on its own), but each acts as its function: the function's environment as
 * the stack runs it, its function-side AWS endpoints and its role's keys, authorized by the stack's IAM gateways
 * (bench/bench-context.ts, functionEnvironmentFor; the reference and the floor act as the poll function).
 *
 * Requirements: a LocalStack started with benchStackOptions() (bench/bench-jobs.ts) merged into its options.
 *
 * Then the warm polls (bench/warm-polls.ts, re-exported here), which are timed through the Lambda Runtime API.
 * `npx tsx bench/cold-start.ts` starts a local stack, runs everything and prints the results as JSON;
 * BENCH_COLD_RUNS (default 7) and BENCH_WARM_POLLS (default 200; 0 skips them) shrink it for a quick run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUNCTION_ENTRIES, type FunctionBundle, type FunctionName } from '../infra/bundling/function-bundle.js';
import { type LocalStack, startLocalStack } from '../infra/local/local-stack.js';
import type { Job } from '../shared/jobs/job.js';
import { bundleAll } from './bench-bundles.js';
import {
  BATCH_SIZE,
  type BenchOptions,
  childEnvironment,
  childIdentity,
  expectDatabricksCalls,
  type Subject,
  withBundles,
} from './bench-context.js';
import { countFromEnv, positiveIntFromEnv } from './bench-env.js';
import {
  cancelMessage,
  type EventSource,
  getJobEvent,
  pollMessage,
  sqsEvent,
  submitMessage,
  sweepEvent,
} from './bench-events.js';
import { acceptFreshJobs, benchStackOptions, readJobs, rearmCancel, seedRunningJobs } from './bench-jobs.js';
import { max, median, round2 } from './bench-stats.js';
import { ensureNode22, type Node22 } from './node22.js';
import { type ChildResult, runChild } from './node22-child.js';
import { DEFAULT_WARM_POLLS, measureWarmPolls, type WarmPollResult } from './warm-polls.js';

export type { BenchOptions } from './bench-context.js';
export { benchStackOptions } from './bench-jobs.js';
export { type LatencySummary, measureWarmPolls, type WarmPollOptions, type WarmPollResult } from './warm-polls.js';

export const DEFAULT_RUNS = 7;

export interface ColdStartOptions extends BenchOptions {
  /** Fresh processes per function; medians are over these. Default 7. */
  runs?: number;
  /** Warm polls per subject for sdkReference.pollP50Ms and `warmPolls` (measureWarmPolls); 0 skips them. */
  warmPolls?: number;
}

export interface FunctionColdStart {
  /** The initial closure: entry plus the chunks it imports statically. */
  bundleBytes: number;
  /** Chunks loaded only on first use (dynamic imports). */
  lazyBytes: number;
  /** Median of `await import(entry)`, with the function's environment as deployed (tracing on by default). */
  initMs: number;
  /** The same with POWERTOOLS_TRACE_ENABLED=false (`-c tracing=false`): the X-Ray SDK's share of the import. */
  untracedInitMs?: number;
  /** Median of the first (cold) invocation. */
  firstInvokeMs: number;
  /** Highest peak RSS over the runs, read after the first invocation. */
  peakRssMb: number;
  /** Median Node 22 boot before the import (the same for every bundle; Lambda's runtime boot is not ours). */
  nodeStartupMs: number;
  runs: number;
}

export interface ColdStartResult {
  functions: Record<FunctionName, FunctionColdStart>;
  sdkReference: FunctionColdStart & { pollP50Ms: number | null };
  floor: FunctionColdStart;
  warmPolls: WarmPollResult | null;
}

/** What a run of a subject must have asked Databricks, per route (all answered 200). */
const EXPECTED_DATABRICKS_CALLS: Record<Subject, Record<string, number>> = {
  api: {},
  submit: { 'runs/submit': BATCH_SIZE },
  poll: { 'runs/get': BATCH_SIZE },
  cancel: { 'runs/cancel': BATCH_SIZE },
  sweep: {},
  reference: { 'runs/get': BATCH_SIZE },
  floor: { 'runs/get': BATCH_SIZE },
};

/** Cold starts of every function, the reference and the floor; medians over `runs` fresh processes each. */
export async function measureColdStarts(options: ColdStartOptions): Promise<ColdStartResult> {
  const { stack, node22 } = options;
  const runs = options.runs ?? DEFAULT_RUNS;
  const log = options.log ?? (() => undefined);
  return withBundles(options, async (bundles) => {
    const seeded = await seedRunningJobs(stack, 2 * BATCH_SIZE, 'cold');
    const pollJobs = seeded.slice(0, BATCH_SIZE);
    const cancelJobs = seeded.slice(BATCH_SIZE);
    const source: EventSource = { region: stack.region };
    // A poll of each job's current chain (the generation is read afresh: a stale one would be dropped unpolled).
    const pollBatch = async () =>
      sqsEvent(
        (await readJobs(stack, pollJobs)).map((job) => pollMessage(job)),
        'flyte-databricks-poll',
        source,
      );
    const eventFor: Record<Subject, (run: number) => Promise<unknown>> = {
      api: async (run) =>
        getJobEvent(
          (pollJobs[run % BATCH_SIZE] as Job).jobId,
          { accessKey: stack.callerCredentials.accessKeyId, userArn: stack.callerArn },
          source,
        ),
      submit: async (run) =>
        sqsEvent(
          (await acceptFreshJobs(stack, BATCH_SIZE, `submit-${run}`)).map(submitMessage),
          'flyte-databricks-submit',
          source,
        ),
      poll: pollBatch,
      cancel: async () => {
        await rearmCancel(stack, cancelJobs);
        return sqsEvent(cancelJobs.map(cancelMessage), 'flyte-databricks-cancel', source);
      },
      sweep: async () => sweepEvent('flyte-databricks-sweep-schedule', source),
      reference: pollBatch,
      floor: pollBatch,
    };
    const subjects: Subject[] = [...(Object.keys(FUNCTION_ENTRIES) as FunctionName[]), 'reference', 'floor'];
    const results = Object.fromEntries(subjects.map((subject) => [subject, [] as ChildResult[]])) as Record<
      Subject,
      ChildResult[]
    >;
    // Each function also without tracing (the stack's `tracing` switch off): what the X-Ray SDK adds to a cold start.
    const untraced = Object.fromEntries(subjects.map((subject) => [subject, [] as ChildResult[]])) as Record<
      Subject,
      ChildResult[]
    >;
    const untracedEnv = { ...options.env, POWERTOOLS_TRACE_ENABLED: 'false' };
    // Run by run rather than subject by subject, so drift on a busy machine spreads over every subject alike.
    for (let run = 0; run < runs; run++) {
      for (const subject of subjects) {
        // A fresh child acting as `subject` with `overlay` on its environment, through its events.
        const child = async (overlay: Record<string, string> | undefined) =>
          checkedChild(
            stack,
            node22,
            childEnvironment(stack, subject, overlay),
            bundles[subject],
            subject,
            await eventFor[subject](run),
            EXPECTED_DATABRICKS_CALLS[subject],
          );
        const result = await child(options.env);
        results[subject].push(result);
        log(
          `cold ${subject} #${run + 1}: import ${round2(result.importMs)} ms, first ${round2(result.firstInvokeMs)} ms`,
        );
        if (subject === 'reference' || subject === 'floor') continue;
        const plain = await child(untracedEnv);
        untraced[subject].push(plain);
        log(`cold ${subject} #${run + 1}, tracing off: import ${round2(plain.importMs)} ms`);
      }
    }
    const summary = (subject: Subject) => ({
      ...summarizeColdStarts(bundles[subject], results[subject]),
      ...(untraced[subject].length > 0
        ? { untracedInitMs: round2(median(untraced[subject].map((r) => r.importMs))) }
        : {}),
    });
    const warmPolls =
      (options.warmPolls ?? DEFAULT_WARM_POLLS) > 0
        ? await measureWarmPolls({
            ...options,
            bundles,
            polls: options.warmPolls ?? DEFAULT_WARM_POLLS,
            jobs: pollJobs,
          })
        : null;
    return {
      functions: Object.fromEntries(
        (Object.keys(FUNCTION_ENTRIES) as FunctionName[]).map((name) => [name, summary(name)]),
      ) as Record<FunctionName, FunctionColdStart>,
      sdkReference: { ...summary('reference'), pollP50Ms: warmPolls?.reference.p50Ms ?? null },
      floor: summary('floor'),
      warmPolls,
    };
  });
}

function summarizeColdStarts(bundle: FunctionBundle, results: readonly ChildResult[]): FunctionColdStart {
  return {
    bundleBytes: bundle.initialBytes,
    lazyBytes: bundle.lazyBytes,
    initMs: round2(median(results.map((r) => r.importMs))),
    firstInvokeMs: round2(median(results.map((r) => r.firstInvokeMs))),
    peakRssMb: round2(max(results.map((r) => r.maxRssMb))),
    nodeStartupMs: round2(median(results.map((r) => r.startupMs))),
    runs: results.length,
  };
}

/**
 * Runs one child through all its events and makes sure it did the work it was timed for (see expectDatabricksCalls).
 */
function checkedChild(
  stack: LocalStack,
  node22: Node22,
  env: Record<string, string>,
  bundle: FunctionBundle,
  subject: Subject,
  first: unknown,
  expected: Record<string, number>,
): Promise<ChildResult> {
  const spec = { entry: bundle.entryFile, ...childIdentity(subject), first };
  return expectDatabricksCalls(stack, subject, expected, () => runChild(node22.node, spec, env));
}

async function main(): Promise<void> {
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const node22 = await ensureNode22();
  log(`node 22 at ${node22.node} (${Math.round(performance.now() - started)} ms)`);
  const stack = await startLocalStack({
    ...benchStackOptions(),
    // The stack's own functions' lines on stderr: stdout carries the result line only.
    onFunctionLog: (line) => process.stderr.write(`${line}\n`),
  });
  const dir = mkdtempSync(join(tmpdir(), 'fdl-bench-bundles-'));
  try {
    const bundled = performance.now();
    const bundles = await bundleAll(dir, node22.nodeModules);
    log(`bundled in ${Math.round(performance.now() - bundled)} ms`);
    const result = await measureColdStarts({
      stack,
      node22,
      bundles,
      log,
      runs: positiveIntFromEnv('BENCH_COLD_RUNS', DEFAULT_RUNS),
      warmPolls: countFromEnv('BENCH_WARM_POLLS', DEFAULT_WARM_POLLS),
    });
    // One line, last: bench/run-script.ts reads the last line of a part's output.
    process.stdout.write(`${JSON.stringify({ ...result, totalMs: Math.round(performance.now() - started) })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await stack.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
