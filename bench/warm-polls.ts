/**
 * Warm poll latency, ours beside the reference on the official Databricks SDK and the floor (bench/floor/): unchanged
 * polls of RUNNING jobs, one record per invocation, in a Node 22 process that has already served its cold start.
 */
import type { Job } from '../shared/jobs/job.js';
import {
  BATCH_SIZE,
  type BenchOptions,
  childEnvironment,
  childIdentity,
  expectDatabricksCalls,
  withBundles,
} from './bench-context.js';
import { type EventSource, pollMessage, sqsEvent } from './bench-events.js';
import { readJobs, seedRunningJobs } from './bench-jobs.js';
import { percentile, round2 } from './bench-stats.js';
import { Node22Child } from './node22-child.js';

export const DEFAULT_WARM_POLLS = 200;
export const DEFAULT_WARM_BLOCK = 20;

export interface LatencySummary {
  p50Ms: number;
  p90Ms: number;
  /** Median CPU time per poll: less disturbed by a busy machine than wall time, and free of waiting on I/O. */
  cpuP50Ms: number;
  polls: number;
}

export interface WarmPollResult {
  ours: LatencySummary;
  reference: LatencySummary;
  floor: LatencySummary;
}

export interface WarmPollOptions extends BenchOptions {
  /** Sequential single-record polls after the first (cold) batch. Default 200. */
  polls?: number;
  /** Polls a subject runs before the next subject's turn. Default 20. */
  blockSize?: number;
  /** RUNNING jobs detached from the stack's poll chain (seedRunningJobs); 10 are seeded when not given. */
  jobs?: readonly Job[];
}

type WarmSubject = 'poll' | 'reference' | 'floor';

/**
 * Warm poll latency of ours, the reference and the floor: one fresh Node 22 process per subject serves a first batch
 * of 10 polls (the cold start, not counted), then `polls` single-record invocations, each an unchanged poll of a
 * RUNNING job, one after another. The three processes take turns, a block of polls each (in a rotating order), so a
 * machine that gets busier or quieter meanwhile weighs on all three alike. p50 and p90 of those polls.
 */
export async function measureWarmPolls(options: WarmPollOptions): Promise<WarmPollResult> {
  const { stack, node22 } = options;
  const polls = options.polls ?? DEFAULT_WARM_POLLS;
  const blockSize = Math.max(1, Math.min(polls, options.blockSize ?? DEFAULT_WARM_BLOCK));
  const log = options.log ?? (() => undefined);
  return withBundles(options, async (bundles) => {
    const env = await childEnvironment(stack, options.env);
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
    const subjects: WarmSubject[] = ['poll', 'reference', 'floor'];
    const children = new Map<WarmSubject, Node22Child>();
    try {
      // Started one at a time: their cold starts must not overlap either.
      for (const subject of subjects) {
        const spec = {
          entry: bundles[subject].entryFile,
          ...childIdentity(subject),
          first,
          warm,
          blockSize,
        };
        const child = Node22Child.start(node22.node, spec, env);
        children.set(subject, child);
        await expectDatabricksCalls(stack, subject, { 'runs/get': jobs.length }, () => child.answer('benchReady'));
      }
      for (let round = 0; round * blockSize < polls; round++) {
        const count = Math.min(blockSize, polls - round * blockSize);
        for (const subject of rotate(subjects, round)) {
          const child = children.get(subject) as Node22Child;
          await expectDatabricksCalls(stack, subject, { 'runs/get': count }, () => child.next());
        }
      }
      const results = new Map<WarmSubject, LatencySummary>();
      for (const subject of subjects) {
        const result = await (children.get(subject) as Node22Child).finish();
        const summary = {
          p50Ms: round2(percentile(result.warmMs, 50)),
          p90Ms: round2(percentile(result.warmMs, 90)),
          cpuP50Ms: round2(percentile(result.warmCpuMs, 50)),
          polls: result.warmMs.length,
        };
        log(`warm ${subject}: p50 ${summary.p50Ms} ms, p90 ${summary.p90Ms} ms, CPU p50 ${summary.cpuP50Ms} ms`);
        results.set(subject, summary);
      }
      const summaryOf = (subject: WarmSubject) => results.get(subject) as LatencySummary;
      return { ours: summaryOf('poll'), reference: summaryOf('reference'), floor: summaryOf('floor') };
    } finally {
      for (const child of children.values()) child.kill();
    }
  });
}

/** The list turned left by `by` places. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = ((by % items.length) + items.length) % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
