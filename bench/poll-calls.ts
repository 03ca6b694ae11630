/**
 * What one unchanged poll costs in calls, counted at the wire, with the poll run by the running stack's own poll
 * function (its bundle, its Node 22 execution environment, its role): bench/poll-bench-stack.ts, which the
 * integration test test/integration/poll-cost.test.ts shares.
 *
 * Run alone: `npx tsx bench/poll-calls.ts` prints the result as JSON. BENCH_POLL_JOBS (default 50) and
 * BENCH_POLL_ROUNDS (default 20) shrink it for a quick run.
 */
import { fileURLToPath } from 'node:url';
import { positiveIntFromEnv } from './bench-env.js';
import { measurePollCalls, type PollCalls } from './poll-bench-stack.js';

export type { PollCalls } from './poll-bench-stack.js';

export const DEFAULT_POLL_JOBS = 50;
export const DEFAULT_POLL_ROUNDS = 20;

export function measureBenchPollCalls(options: { jobs?: number; rounds?: number } = {}): Promise<PollCalls> {
  return measurePollCalls({ jobs: options.jobs ?? DEFAULT_POLL_JOBS, rounds: options.rounds ?? DEFAULT_POLL_ROUNDS });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await measureBenchPollCalls({
    jobs: positiveIntFromEnv('BENCH_POLL_JOBS', DEFAULT_POLL_JOBS),
    rounds: positiveIntFromEnv('BENCH_POLL_ROUNDS', DEFAULT_POLL_ROUNDS),
  });
  // One line, last: bench/run-script.ts reads the last line of a part's output.
  console.log(JSON.stringify(result));
}
