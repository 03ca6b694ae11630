/**
 * The pacing simulation (bench/simulate-pacing.ts) drives the production pacing, schedule and list-cache code on a
 * virtual clock: every job's poll delivered at once is spread into slots that never exceed the budget, and every job
 * is still polled. Counts only: nothing here waits or times anything.
 */
import { describe, expect, it } from 'vitest';
import { simulatePacing } from '../../../bench/simulate-pacing.js';

describe('Function: simulatePacing()', () => {
  it('keeps 400 jobs on a 2 rps workspace within budget after they all arrive at once, and polls each', async () => {
    const result = await simulatePacing({ activeJobs: 400, budgetRps: 2, hours: 0.5, seed: 11 });
    expect(result).toMatchObject({ activeJobs: 400, budgetRps: 2, everyJobPolled: true });
    expect(result.peakRps).toBeLessThanOrEqual(2);
    expect(result.peakRpsWhileSpreading).toBeLessThanOrEqual(2);
    // 400 jobs at 1.6 a second: a 256 s period (250 rounded up), so every job about once per period.
    expect(result.periodsS).toEqual([256]);
    expect(result.maxGapBetweenPollsS).toBeLessThanOrEqual(256);
    expect(result.reDelays).toBeGreaterThan(390);
  });

  it('does the same for 10,000 jobs at 20 rps: at most 16 calls a second, each job every 640 s', async () => {
    const result = await simulatePacing({ seed: 5 });
    expect(result).toMatchObject({ activeJobs: 10_000, budgetRps: 20, everyJobPolled: true, periodsS: [640] });
    expect(result.peakRps).toBeLessThanOrEqual(16);
    expect(result.peakRpsWhileSpreading).toBeLessThanOrEqual(16);
    expect(result.maxGapBetweenPollsS).toBeLessThanOrEqual(640);
  });

  it('with jobs starting and ending, still polls every job, within two periods of each other', async () => {
    const result = await simulatePacing({ activeJobs: 400, budgetRps: 2, hours: 0.5, seed: 11, churn: true });
    expect(result.everyJobPolled).toBe(true);
    expect(result.jobsStarted).toBeGreaterThan(0);
    expect(result.jobsEnded).toBeGreaterThan(0);
    const longest = Math.max(...result.periodsS);
    expect(result.maxGapBetweenPollsS).toBeLessThanOrEqual(2 * longest + 180);
    // Newcomers share slots until the next snapshot lists them: the mean stays near the budget's 80 %.
    expect(result.meanRps).toBeLessThanOrEqual(2);
  });
});
