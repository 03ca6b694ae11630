/**
 * Warm poll latency, ours beside the reference on the official Databricks SDK and the floor (bench/floor/), all three
 * timed alike: each runs in an execution environment of its own, started the way the local stack starts its
 * functions' (infra/local/lambda-runtime/function-environments.ts: a Node 22 process running aws-lambda-ric against a
 * Lambda Runtime API), with the poll function's runtime, memory, log format and environment from the template the
 * stack runs, and its role's keys and function-side endpoints (bench/bench-context.ts, functionEnvironmentFor).
 *
 * What is timed: one warm invocation, from the event being handed to the environment's Runtime API until the
 * function's response is back from it (InvokeOutcome.durationMs), i.e. what Lambda's Duration covers plus the local
 * Runtime API's two HTTP hops on the loopback. That is the handler's three calls (DynamoDB GetItem, Databricks
 * runs/get, SQS SendMessage), everything our handler does around them, and the runtime client's own per-invocation
 * work, which the floor and the reference pay just the same. Each invocation is one SQS record: an unchanged poll of
 * a RUNNING job. (Before the stack ran its functions in their own environments, the bench timed the handler call
 * inside a Node 22 child, without the runtime client: figures from then are not comparable with these.)
 *
 * Ours is the poll function's built asset from the stack's template (cdk.out), the code the stack's poll function
 * runs; the reference and the floor are bundled with the same esbuild options (bench/bench-bundles.ts). They run
 * beside the stack's own poll environment, not in it: LocalStack offers no way to invoke its environments directly,
 * and timing a poll through the queue would add the event source's receive and delete and the wait for the queue to
 * empty, which no floor could be timed with alike.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  type FunctionEnvironments,
  type InvokeOutcome,
  startFunctionEnvironments,
} from '../infra/local/lambda-runtime/function-environments.js';
import type { LocalStack } from '../infra/local/local-stack.js';
import { LOCAL_ACCOUNT_ID } from '../infra/local/template/local-context.js';
import { parseStackTemplate, type TemplateFunction } from '../infra/local/template/stack-template.js';
import type { Job } from '../shared/jobs/job.js';
import type { BenchBundles } from './bench-bundles.js';
import {
  BATCH_SIZE,
  type BenchOptions,
  expectDatabricksCalls,
  functionEnvironmentFor,
  withBundles,
} from './bench-context.js';
import { type EventSource, pollMessage, sqsEvent } from './bench-events.js';
import { readJobs, seedRunningJobs } from './bench-jobs.js';
import { percentile, round2 } from './bench-stats.js';

export const DEFAULT_WARM_POLLS = 200;
export const DEFAULT_WARM_BLOCK = 20;
/** The invocation timeout of the measured environments (the poll function's own is longer). */
const WARM_TIMEOUT_SECONDS = 30;
/** Lines of a measured environment's output kept for an error message. */
const KEPT_LOG_LINES = 40;

export interface LatencySummary {
  /** Median warm invocation time through the Runtime API (see above), in ms. */
  p50Ms: number;
  p90Ms: number;
  polls: number;
}

export interface WarmPollResult {
  ours: LatencySummary;
  reference: LatencySummary;
  floor: LatencySummary;
  /**
   * A handler that does nothing (answers no failures), timed alike: the part of each figure above that is the runtime
   * client and the Runtime API's hops, not the poll's.
   */
  runtimeOnly: LatencySummary;
}

export interface WarmPollOptions extends BenchOptions {
  /** Sequential single-record polls after the first (cold) batch. Default 200. */
  polls?: number;
  /** Polls a subject runs before the next subject's turn. Default 20. */
  blockSize?: number;
  /** RUNNING jobs detached from the stack's poll chain (seedRunningJobs); 10 are seeded when not given. */
  jobs?: readonly Job[];
}

type WarmSubject = 'poll' | 'reference' | 'floor' | 'runtime';

/** The `runtime` subject's whole code: no call, no work. */
const NOOP_HANDLER = 'export const handler = async () => ({ batchItemFailures: [] });\n';

/**
 * Warm poll latency of ours, the reference and the floor, and of a handler that does nothing (runtimeOnly): one
 * execution environment per subject serves a first batch of 10 polls (its cold start, not counted), then `polls`
 * single-record invocations, one after another. They take turns, a block of polls each (in a rotating order), so a
 * machine that gets busier or quieter meanwhile weighs on all of them alike. p50 and p90 of those polls.
 */
export async function measureWarmPolls(options: WarmPollOptions): Promise<WarmPollResult> {
  const { stack } = options;
  const polls = options.polls ?? DEFAULT_WARM_POLLS;
  const blockSize = Math.max(1, Math.min(polls, options.blockSize ?? DEFAULT_WARM_BLOCK));
  const log = options.log ?? (() => undefined);
  return withBundles(options, async (bundles) => {
    const pollFunction = templateFunction(stack, 'PollFunction');
    const jobs = await readJobs(stack, options.jobs ?? (await seedRunningJobs(stack, BATCH_SIZE, 'warm')));
    const source: EventSource = { region: stack.region };
    const first = sqsEvent(
      jobs.map((job) => pollMessage(job)),
      'flyte-databricks-poll',
      source,
    );
    const warm = Array.from({ length: polls }, (_, i) =>
      sqsEvent([pollMessage(jobs[i % jobs.length] as Job, i + 1)], 'flyte-databricks-poll', source),
    );
    const subjects: WarmSubject[] = ['poll', 'reference', 'floor', 'runtime'];
    const noopDir = mkdtempSync(join(tmpdir(), 'fdl-bench-noop-'));
    writeFileSync(join(noopDir, 'index.mjs'), NOOP_HANDLER);
    const calls = (subject: WarmSubject, runsGet: number): Record<string, number> =>
      subject === 'runtime' ? {} : { 'runs/get': runsGet };
    const environments = new Map<WarmSubject, MeasuredEnvironment>();
    try {
      // Started one at a time: their cold starts must not overlap either.
      for (const subject of subjects) {
        const codeDir = subject === 'runtime' ? noopDir : undefined;
        const measured = await startMeasured(stack, subject, pollFunction, bundles, options.env, codeDir);
        environments.set(subject, measured);
        const cold = await expectDatabricksCalls(stack, subject, calls(subject, jobs.length), () =>
          measured.invoke(first),
        );
        if (!cold.coldStart) throw new Error(`${subject}: the first invocation was not a cold start`);
      }
      const times = new Map<WarmSubject, number[]>(subjects.map((subject) => [subject, []]));
      let next = 0;
      for (let round = 0; round * blockSize < polls; round++) {
        const count = Math.min(blockSize, polls - round * blockSize);
        for (const subject of rotate(subjects, round)) {
          const measured = environments.get(subject) as MeasuredEnvironment;
          await expectDatabricksCalls(stack, subject, calls(subject, count), async () => {
            for (let i = 0; i < count; i++) {
              const outcome = await measured.invoke(warm[next + i]);
              if (outcome.coldStart) throw new Error(`${subject}: a warm poll found no warm environment`);
              times.get(subject)?.push(outcome.durationMs);
            }
          });
        }
        next += count;
      }
      const summaryOf = (subject: WarmSubject): LatencySummary => {
        const warmMs = times.get(subject) ?? [];
        const summary = {
          p50Ms: round2(percentile(warmMs, 50)),
          p90Ms: round2(percentile(warmMs, 90)),
          polls: warmMs.length,
        };
        log(`warm ${subject}: p50 ${summary.p50Ms} ms, p90 ${summary.p90Ms} ms (through the Runtime API)`);
        return summary;
      };
      return {
        ours: summaryOf('poll'),
        reference: summaryOf('reference'),
        floor: summaryOf('floor'),
        runtimeOnly: summaryOf('runtime'),
      };
    } finally {
      await Promise.all([...environments.values()].map((measured) => measured.stop()));
      rmSync(noopDir, { recursive: true, force: true });
    }
  });
}

interface MeasuredEnvironment {
  /** One invocation that must succeed (no batchItemFailures): its outcome, with durationMs. */
  invoke(event: unknown): Promise<Extract<InvokeOutcome, { status: 'ok' }>>;
  stop(): Promise<void>;
}

/** One execution environment (at most) for the subject, run as the stack runs its poll function. */
async function startMeasured(
  stack: LocalStack,
  subject: WarmSubject,
  pollFunction: TemplateFunction,
  bundles: BenchBundles,
  overlay: Record<string, string> | undefined,
  codeDirOverride?: string,
): Promise<MeasuredEnvironment> {
  const output: string[] = [];
  const pool: FunctionEnvironments = await startFunctionEnvironments(
    {
      functionName: `flyte-databricks-${subject}`,
      // Ours: the asset the stack's poll function runs. The others: an index.mjs exporting `handler`.
      handler: subject === 'poll' ? pollFunction.handler : 'index.handler',
      codeDir:
        codeDirOverride ??
        (subject === 'poll' || subject === 'runtime' ? pollFunction.codeDir : dirname(bundles[subject].entryFile)),
      runtime: pollFunction.runtime,
      memoryMb: pollFunction.memoryMb,
      timeoutSeconds: WARM_TIMEOUT_SECONDS,
      env: functionEnvironmentFor(stack, subject === 'runtime' ? 'poll' : subject, overlay),
      maxEnvironments: 1,
      region: stack.region,
      accountId: LOCAL_ACCOUNT_ID,
      ...(pollFunction.logFormat === 'JSON' || pollFunction.logFormat === 'Text'
        ? { logFormat: pollFunction.logFormat }
        : {}),
      ...(pollFunction.applicationLogLevel ? { applicationLogLevel: pollFunction.applicationLogLevel } : {}),
    },
    {
      // Kept for an error message only: the measured lines are the handlers' own logging, not ours to print.
      onLog: (line) => {
        output.push(line);
        if (output.length > KEPT_LOG_LINES) output.shift();
      },
    },
  );
  return {
    async invoke(event) {
      const outcome = await pool.invoke(event);
      const failures = (outcome.status === 'ok' ? outcome.payload : undefined) as
        | { batchItemFailures?: unknown[] }
        | undefined;
      if (outcome.status !== 'ok' || failures?.batchItemFailures?.length) {
        throw new Error(
          `${subject}: invocation failed: ${JSON.stringify(outcome)}\n${output.slice(-KEPT_LOG_LINES).join('\n')}`,
        );
      }
      return outcome;
    },
    stop: () => pool.stop(),
  };
}

/** A function of the template the stack runs (its cdk.out), by logical id. */
function templateFunction(stack: LocalStack, logicalId: string): TemplateFunction {
  const path = stack.describe.template;
  const template = parseStackTemplate(JSON.parse(readFileSync(path, 'utf8')), {
    path,
    cdkOut: dirname(path),
    stackName: basename(path, '.template.json'),
  });
  const found = template.functions.find((fn) => fn.logicalId === logicalId);
  if (!found) throw new Error(`no ${logicalId} in ${path}`);
  return found;
}

/** The list turned left by `by` places. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = ((by % items.length) + items.length) % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
