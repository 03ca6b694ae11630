/**
 * The pacing simulation (bench/simulate-pacing.ts) drives the production pacing, schedule and list-cache code on a
 * virtual clock: every job's poll delivered at once is spread into slots that never exceed the budget, and every job
 * is still polled. Counts only: nothing here waits or times anything.
 */
import { describe, expect, it } from 'vitest';
import { simulatePacing } from '../../../bench/simulate-pacing.js';

describe('Function: simulatePacing()', () => {
  // The layout alone first (no call ledger): what pacing does by itself, slot by slot.
  it('keeps 400 jobs on a 2 rps workspace within budget after they all arrive at once, and polls each', async () => {
    const result = await simulatePacing({ activeJobs: 400, budgetRps: 2, hours: 0.5, seed: 11, ledger: false });
    expect(result).toMatchObject({ activeJobs: 400, budgetRps: 2, everyJobPolled: true });
    expect(result.peakRps).toBeLessThanOrEqual(2);
    expect(result.peakRpsWhileSpreading).toBeLessThanOrEqual(2);
    // 400 jobs at 1.2 a second: a 384 s period (333 rounded up), so every job about once per period.
    expect(result.periodsS).toEqual([384]);
    expect(result.maxGapBetweenPollsS).toBeLessThanOrEqual(384);
    expect(result.reDelays).toBeGreaterThan(390);
  });

  it('does the same for 10,000 jobs at 20 rps: at most 12 calls a second, each job every 896 s', async () => {
    const result = await simulatePacing({ seed: 5, ledger: false });
    expect(result).toMatchObject({ activeJobs: 10_000, budgetRps: 20, everyJobPolled: true, periodsS: [896] });
    expect(result.peakRps).toBeLessThanOrEqual(12);
    expect(result.peakRpsWhileSpreading).toBeLessThanOrEqual(12);
    expect(result.maxGapBetweenPollsS).toBeLessThanOrEqual(896);
  });

  it('with jobs starting and ending, and their submits, keeps every call within the budget and polls every job', async () => {
    const result = await simulatePacing({ activeJobs: 400, budgetRps: 2, hours: 0.5, seed: 11, churn: true });
    expect(result.everyJobPolled).toBe(true);
    expect(result.jobsStarted).toBeGreaterThan(0);
    expect(result.submitCalls).toBe(result.jobsStarted);
    expect(result.jobsEnded).toBeGreaterThan(0);
    expect(result.peakRps).toBeLessThanOrEqual(2);
    // A new job waits for the snapshot that lists it, then for its slot: three periods at most, with the longest wait.
    const longest = Math.max(...result.periodsS);
    expect(result.maxGapBetweenPollsS).toBeLessThanOrEqual(3 * longest + 180);
  });

  it('without the ledger, the same churn pushes some second past the budget: the ledger is what holds it', async () => {
    const result = await simulatePacing({
      activeJobs: 400,
      budgetRps: 2,
      hours: 0.5,
      seed: 11,
      churn: true,
      ledger: false,
    });
    expect(result.peakRps).toBeGreaterThan(2);
  });
});
