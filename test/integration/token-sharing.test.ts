/**
 * Shared tokens, counted at the Databricks emulator (the measurement `npm run bench` reports, smaller): polls of one
 * principal in a warm container share its token, refreshing once per token lifetime and once per batch at most.
 * A file of its own: one local stack per process, as the handlers read their configuration once.
 */
import { describe, expect, it } from 'vitest';
import { measureTokenSharing } from '../../bench/token-sharing.js';

describe('Token sharing at the wire', () => {
  it('polls of one principal share its token: no more requests than token lifetimes spanned', async () => {
    const tokens = await measureTokenSharing({ polls: 200, jobs: 10, tokenTtlSeconds: 2, spanSeconds: 3 });
    const requests = (tokens.requestsPer1000Polls * tokens.polls) / 1000;
    expect(tokens.tokenLifetimesSpanned).toBeGreaterThanOrEqual(3);
    expect(requests).toBeGreaterThanOrEqual(2);
    expect(requests).toBeLessThanOrEqual(tokens.tokenLifetimesSpanned);
    expect(tokens.maxRefreshesPerBatch).toBe(1);
  });
});
