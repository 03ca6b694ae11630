/**
 * Shared tokens, counted at the Databricks emulator (the measurement `npm run bench` reports, smaller): polls of one
 * principal in a warm container share its token, refreshing once per token lifetime and once per batch at most.
 * The polls run in the stack's own poll function, fed poll messages the test sends as the poll role
 * (bench/poll-bench-stack.ts, which `npm run bench` uses too). Each poll execution environment has a token cache of
 * its own, as separate Lambda environments do: the measurement runs one (eventSourceConcurrency: 1), so the bound
 * below is that environment's.
 */
import { describe, expect, it } from 'vitest';
import { measureTokenSharing } from '../../bench/poll-bench-stack.js';

describe('Token sharing at the wire', () => {
  it('polls of one principal share its token: no more requests than token lifetimes spanned', {
    timeout: 90_000,
  }, async () => {
    const tokens = await measureTokenSharing({ polls: 200, jobs: 10, tokenTtlSeconds: 2, spanSeconds: 3 });
    expect(tokens.polls).toBe(200);
    expect(tokens.tokenLifetimesSpanned).toBeGreaterThanOrEqual(3);
    expect(tokens.tokenRequests).toBeGreaterThanOrEqual(2);
    expect(tokens.tokenRequests).toBeLessThanOrEqual(tokens.tokenLifetimesSpanned);
    expect(tokens.maxRefreshesPerBatch).toBe(1);
  });
});
