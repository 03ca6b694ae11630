/**
 * Shared tokens: 1,000 polls of many jobs of one service principal in one warm poll execution environment of the
 * running stack, spread over several token lifetimes (the emulator issues short-lived tokens here), counting token
 * endpoint requests at the emulator: bench/poll-bench-stack.ts (measureTokenSharing), which the integration test
 * test/integration/token-sharing.test.ts shares. Each batch of ten polls is one invocation: at most one refresh per
 * batch.
 *
 * Run alone: `npx tsx bench/token-sharing.ts` prints the result as JSON. BENCH_TOKEN_POLLS (default 1000) and
 * BENCH_TOKEN_SPAN_SECONDS (default 12) shrink it for a quick run.
 */
import { fileURLToPath } from 'node:url';
import { positiveIntFromEnv } from './bench-env.js';
import { measureTokenSharing, type TokenSharing } from './poll-bench-stack.js';

export type { TokenSharing } from './poll-bench-stack.js';

export async function measureBenchTokenSharing(
  options: { polls?: number; jobs?: number; tokenTtlSeconds?: number; spanSeconds?: number } = {},
): Promise<TokenSharing> {
  return measureTokenSharing({
    polls: options.polls ?? 1000,
    jobs: options.jobs ?? 50,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 4,
    spanSeconds: options.spanSeconds ?? 12,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await measureBenchTokenSharing({
    polls: positiveIntFromEnv('BENCH_TOKEN_POLLS', 1000),
    spanSeconds: positiveIntFromEnv('BENCH_TOKEN_SPAN_SECONDS', 12),
  });
  // One line, last: bench/run-script.ts reads the last line of a part's output.
  console.log(JSON.stringify(result));
}
