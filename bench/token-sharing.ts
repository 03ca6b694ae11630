/**
 * Shared tokens: 1,000 polls of many jobs of one service principal in one warm container, spread over several
 * token lifetimes (the emulator issues short-lived tokens here), counting token endpoint requests at the emulator.
 * The container's token cache starts empty when the window opens. A token is used from the moment it is fetched
 * until the cache's refresh margin before its expiry (min(60 s, half its lifetime): shared/auth/token-cache.ts), so
 * the polls span floor(span / (ttl - margin)) + 1 token lifetimes: that many requests is the floor, and the most a
 * correct cache may make. Each batch of ten records polls concurrently: at most one refresh per batch.
 *
 * Run alone: `npx tsx bench/token-sharing.ts` prints the result as JSON.
 */
import { fileURLToPath } from 'node:url';
import { MAX_REFRESH_MARGIN_MS, sharedTokenCache } from '../shared/auth/token-cache.js';
import { databricksCounts, startPollBenchStack } from './poll-bench-stack.js';

export interface TokenSharing {
  polls: number;
  tokenTtlSeconds: number;
  spanSeconds: number;
  requestsPer1000Polls: number;
  tokenLifetimesSpanned: number;
  /** The most token requests any one batch (ten concurrent polls) made. */
  maxRefreshesPerBatch: number;
}

export async function measureTokenSharing(
  options: { polls?: number; jobs?: number; tokenTtlSeconds?: number; spanSeconds?: number } = {},
): Promise<TokenSharing> {
  const polls = options.polls ?? 1000;
  const jobs = options.jobs ?? 50;
  const ttlSeconds = options.tokenTtlSeconds ?? 4;
  const targetSpanMs = (options.spanSeconds ?? 12) * 1000;
  const bench = await startPollBenchStack({ jobs, oauthTokenTtlSeconds: ttlSeconds });
  try {
    await bench.pollAll();
    sharedTokenCache.clear();
    const batches = Math.ceil(polls / 10);
    const pauseMs = targetSpanMs / batches;
    const before = databricksCounts(bench.stack).token;
    let maxRefreshesPerBatch = 0;
    const started = Date.now();
    let lastBatchAt = started;
    for (let b = 0; b < batches; b++) {
      lastBatchAt = Date.now();
      const ids = Array.from({ length: 10 }, (_, i) => bench.jobIds[(b * 10 + i) % bench.jobIds.length] as string);
      const batchStart = databricksCounts(bench.stack).token;
      await bench.pollBatch(ids);
      maxRefreshesPerBatch = Math.max(maxRefreshesPerBatch, databricksCounts(bench.stack).token - batchStart);
      const due = started + (b + 1) * pauseMs;
      if (Date.now() < due) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
    // From the first poll to the last one's start: the token that last poll needed is the last one counted.
    const spanMs = lastBatchAt - started;
    const requests = databricksCounts(bench.stack).token - before;
    const usableMs = ttlSeconds * 1000 - Math.min(MAX_REFRESH_MARGIN_MS, (ttlSeconds * 1000) / 2);
    return {
      polls: batches * 10,
      tokenTtlSeconds: ttlSeconds,
      spanSeconds: spanMs / 1000,
      requestsPer1000Polls: (requests * 1000) / (batches * 10),
      tokenLifetimesSpanned: Math.floor(spanMs / usableMs) + 1,
      maxRefreshesPerBatch,
    };
  } finally {
    await bench.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await measureTokenSharing()));
}
