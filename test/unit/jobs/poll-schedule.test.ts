/**
 * The poll schedule: the wait is a fraction of the run's elapsed time within the configured bounds, never shrinks as
 * the run goes on, and falls back to counting polls for a job without submittedAt.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POLL_SCHEDULE,
  elapsedAfterPolls,
  type PollSchedule,
  pollDelaySeconds,
  runElapsedSeconds,
} from '../../../shared/jobs/poll-schedule.js';

const schedule: PollSchedule = { minSeconds: 10, maxSeconds: 180, fraction: 0.15 };
const T0 = new Date('2026-03-01T00:00:00.000Z');

const anySchedule = fc
  .record({
    minSeconds: fc.integer({ min: 0, max: 900 }),
    span: fc.integer({ min: 0, max: 900 }),
    fraction: fc.double({ min: 0.001, max: 1, noNaN: true }),
  })
  .filter(({ minSeconds, span }) => minSeconds + span <= 900)
  .map(({ minSeconds, span, fraction }) => ({ minSeconds, maxSeconds: minSeconds + span, fraction }));

describe('Function: pollDelaySeconds()', () => {
  it('starts at the minimum, follows the fraction of elapsed time, and stops at the maximum', () => {
    expect(pollDelaySeconds(0, schedule)).toBe(10);
    expect(pollDelaySeconds(60, schedule)).toBe(10);
    expect(pollDelaySeconds(120, schedule)).toBe(18);
    expect(pollDelaySeconds(600, schedule)).toBe(90);
    expect(pollDelaySeconds(1200, schedule)).toBe(180);
    expect(pollDelaySeconds(86_400, schedule)).toBe(180);
  });

  it('stays within the bounds and never shrinks as the run goes on, whatever the schedule', () => {
    fc.assert(
      fc.property(
        anySchedule,
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (s, a, b) => {
          const [early, late] = a <= b ? [a, b] : [b, a];
          const first = pollDelaySeconds(early, s);
          const second = pollDelaySeconds(late, s);
          expect(first).toBeGreaterThanOrEqual(s.minSeconds);
          expect(second).toBeLessThanOrEqual(s.maxSeconds);
          expect(Number.isInteger(first)).toBe(true);
          expect(second).toBeGreaterThanOrEqual(first);
        },
      ),
    );
  });

  it('has defaults that start quick and settle at a few minutes', () => {
    expect(DEFAULT_POLL_SCHEDULE).toEqual({ minSeconds: 10, maxSeconds: 180, fraction: 0.15 });
  });
});

describe('Function: runElapsedSeconds()', () => {
  it('counts from submittedAt when the job has it, whatever the poll count', () => {
    const now = new Date(T0.getTime() + 754_000);
    expect(runElapsedSeconds({ submittedAt: T0.toISOString() }, 3, now, schedule)).toBe(754);
    expect(runElapsedSeconds({ submittedAt: T0.toISOString() }, 0, T0, schedule)).toBe(0);
  });

  it('falls back to the time the schedule takes for the polls made so far', () => {
    expect(runElapsedSeconds({}, 0, T0, schedule)).toBe(0);
    expect(runElapsedSeconds({}, 3, T0, schedule)).toBe(30);
    expect(runElapsedSeconds({ submittedAt: 'not a date' }, 3, T0, schedule)).toBe(30);
  });
});

describe('Function: elapsedAfterPolls()', () => {
  it('adds up the waits one poll at a time, and at the ceiling in one step', () => {
    fc.assert(
      fc.property(anySchedule, fc.integer({ min: 0, max: 300 }), (s, polls) => {
        let elapsed = 0;
        for (let i = 0; i < polls; i++) elapsed += pollDelaySeconds(elapsed, s);
        expect(elapsedAfterPolls(polls, s)).toBeCloseTo(elapsed, 6);
      }),
    );
  });

  it('gives the time of a chain of a million polls, most of them at the ceiling', () => {
    expect(elapsedAfterPolls(1_000_000, schedule)).toBeGreaterThan(179 * 1_000_000);
  });
});
