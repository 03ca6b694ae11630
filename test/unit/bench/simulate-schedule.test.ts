/**
 * The schedule simulation (bench/simulate-schedule.ts) with the configuration's defaults meets its targets over the
 * documented run-length mix: polls per job-hour at most 60 (fixed 30 s polling makes 120), a median of at most 15 s
 * between a short run's end and the poll that finds it, and at most one heartbeat write in ten unchanged polls.
 * Counts on a virtual clock: nothing here waits or times anything.
 */
import { describe, expect, it } from 'vitest';
import { simulateSchedule } from '../../../bench/simulate-schedule.js';

describe('Function: simulateSchedule()', () => {
  const result = simulateSchedule({ jobs: 5000, seed: 7 });

  it('polls at most 60 times per job-hour, half what fixed 30 s polling does', () => {
    expect(result.pollsPerJobHour).toBeLessThanOrEqual(60);
    expect(result.fixed30s.pollsPerJobHour).toBeGreaterThan(115);
  });

  it('notices a run under 5 minutes within 15 s of its end, in the median', () => {
    expect(result.shortRuns).toBeGreaterThan(1000);
    expect(result.medianDetectionLagS).toBeLessThanOrEqual(15);
  });

  it('writes a heartbeat on at most one unchanged poll in ten', () => {
    expect(result.writesPerUnchangedPoll).toBeLessThanOrEqual(0.1);
  });

  it('is the same for the same seed', () => {
    expect(simulateSchedule({ jobs: 500, seed: 3 })).toEqual(simulateSchedule({ jobs: 500, seed: 3 }));
  });
});
