/**
 * The pacing arithmetic: when a workspace is paced, which second of each period a job owns, where its next poll
 * goes, and what a poll that arrives does. Counts and epoch arithmetic only: no clock, no waiting.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  arrival,
  EARLY_TOLERANCE_MS,
  jobSlot,
  LATE_TOLERANCE_MS,
  layoutStartMs,
  nextPeriodStartMs,
  nextPoll,
  nextSlotStartMs,
  type PacingSettings,
  paceFor,
  pacingSettingsOf,
  placeJob,
  roundUpToThreeBits,
  sqsDelaySeconds,
  stillAhead,
} from '../../../shared/jobs/workspace-pacing.js';

const settings = (budgetRps: number, minIntervalSeconds = 10, maxPeriodSeconds = 1680): PacingSettings => ({
  budgetRps,
  minIntervalSeconds,
  maxPeriodSeconds,
});
/** A whole epoch second, as SQS delivers here. */
const T = Date.UTC(2026, 2, 1, 12, 0, 0);

/** Calls per second of a full period when every job of ranks 0..n-1 polls in its slot. */
function callsPerSecond(n: number, s: PacingSettings): number[] {
  const pace = paceFor(n, s);
  if (!pace) throw new Error('not paced');
  const seconds = new Array<number>(pace.periodSeconds).fill(0);
  for (let rank = 0; rank < n; rank++) {
    const { slotSecond } = jobSlot(rank, pace);
    seconds[slotSecond] = (seconds[slotSecond] ?? 0) + 1;
  }
  return seconds;
}

describe('Function: pacingSettingsOf()', () => {
  const config = {
    WORKSPACE_API_BUDGET_RPS: 20,
    POLL_INTERVAL_MIN_SECONDS: 10,
    POLL_INTERVAL_MAX_SECONDS: 180,
    STALE_AFTER_SECONDS: 3600,
  };

  it('is off with a budget of 0', () => {
    expect(pacingSettingsOf({ ...config, WORKSPACE_API_BUDGET_RPS: 0 })).toBeUndefined();
  });

  it('caps the period so that three periods and the longest wait stay a minute under STALE_AFTER_SECONDS', () => {
    expect(pacingSettingsOf(config)).toEqual({ budgetRps: 20, minIntervalSeconds: 10, maxPeriodSeconds: 1120 });
  });
});

describe('Function: paceFor()', () => {
  it('leaves a workspace unpaced while its jobs polled every shortest interval fit the budget', () => {
    // 12 polls a second (60 % of 20) for 10 s: 120 jobs.
    expect(paceFor(120, settings(20))).toBeUndefined();
    expect(paceFor(121, settings(20))).toEqual({ periodSeconds: 12, jobs: 1200, seconds: 100 });
  });

  it('stretches the period with the jobs, rounded up to 3 significant bits: 10,000 jobs at 20 rps every 896 s', () => {
    expect(paceFor(10_000, settings(20))?.periodSeconds).toBe(896);
    expect(paceFor(10_752, settings(20))?.periodSeconds).toBe(896);
    expect(paceFor(10_753, settings(20))?.periodSeconds).toBe(1024);
  });

  it('past the cap, keeps every job polled within it and lets the rate exceed the budget', () => {
    const pace = paceFor(40_000, settings(20));
    expect(pace).toEqual({ periodSeconds: 1680, jobs: 40_000, seconds: 1680 });
  });

  it('is never on with a period of a second or less (SQS delays are whole seconds)', () => {
    expect(paceFor(12, settings(20, 0))).toBeUndefined();
    expect(paceFor(13, settings(20, 0))?.periodSeconds).toBe(2);
  });
});

describe('Function: roundUpToThreeBits()', () => {
  it('rounds up to at most 3 significant bits', () => {
    expect([1, 7, 8, 9, 11, 13, 15, 17, 625, 641, 1000].map(roundUpToThreeBits)).toEqual([
      1, 7, 8, 10, 12, 14, 16, 20, 640, 768, 1024,
    ]);
  });
});

describe('Function: jobSlot()', () => {
  it('gives each rank its own second when the budget allows less than one poll a second', () => {
    const pace = paceFor(6, settings(1, 2));
    if (!pace) throw new Error('expected pacing');
    const seconds = [0, 1, 2, 3, 4, 5].map((rank) => jobSlot(rank, pace).slotSecond);
    expect(new Set(seconds).size).toBe(6);
    expect(seconds).toEqual([...seconds].sort((a, b) => a - b));
  });

  it('never gives a second of a full period more jobs than the budget, for any number of jobs and budget', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 30_000 }), (budget, jobs) => {
        const s = settings(budget, 1, 100_000);
        fc.pre(paceFor(jobs, s) !== undefined);
        const perSecond = callsPerSecond(jobs, s);
        expect(Math.max(...perSecond)).toBeLessThanOrEqual(budget);
        expect(Math.max(...perSecond)).toBeLessThanOrEqual(Math.ceil(0.6 * budget));
      }),
    );
  });

  it('fills 12 a second for 10,000 jobs at 20 rps, and every job has a slot', () => {
    const perSecond = callsPerSecond(10_000, settings(20));
    expect(Math.max(...perSecond)).toBe(12);
    expect(perSecond.reduce((a, b) => a + b, 0)).toBe(10_000);
  });
});

describe('Function: nextSlotStartMs()', () => {
  it('is the first start of the slot at or after the time, on the epoch-aligned period grid', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 2000 }),
        fc.integer({ min: 0, max: 1999 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        (periodSeconds, second, offsetMs) => {
          const slot = { periodSeconds, slotSecond: second % periodSeconds };
          const at = T + offsetMs;
          const start = nextSlotStartMs(slot, at);
          expect(start).toBeGreaterThanOrEqual(at);
          expect(start - at).toBeLessThan(periodSeconds * 1000 + 1000);
          expect(start % 1000).toBe(0);
          expect((start / 1000) % periodSeconds).toBe(slot.slotSecond);
        },
      ),
    );
  });

  it('starts no earlier than the layout does after a change of period', () => {
    const slot = { periodSeconds: 10, slotSecond: 3, fromMs: T + 25_000 };
    const start = nextSlotStartMs(slot, T);
    expect(start).toBe(nextSlotStartMs({ periodSeconds: 10, slotSecond: 3 }, T + 25_000));
    expect(start).toBeGreaterThanOrEqual(T + 25_000);
    expect(nextSlotStartMs(slot, T + 60_000)).toBe(nextSlotStartMs({ periodSeconds: 10, slotSecond: 3 }, T + 60_000));
  });
});

describe('Function: arrival()', () => {
  const pace = paceFor(1000, settings(20));
  if (!pace) throw new Error('expected pacing');
  const slot = jobSlot(500, pace);
  const slotStart = nextSlotStartMs(slot, T);

  it('polls a message on time for its notBefore, early or late within the tolerances', () => {
    for (const at of [slotStart - EARLY_TOLERANCE_MS, slotStart, slotStart + LATE_TOLERANCE_MS]) {
      expect(arrival({ nowMs: at, notBeforeMs: slotStart, redelayed: false, slot })).toEqual({ poll: true });
    }
  });

  it('sends on a message that arrived early, to its notBefore, reading nothing first', () => {
    const at = slotStart - 900_000;
    expect(stillAhead(at, slotStart)).toBe(true);
    expect(arrival({ nowMs: at, notBeforeMs: slotStart, redelayed: false, slot })).toEqual({
      poll: false,
      untilMs: slotStart,
    });
  });

  it('holds a job its snapshot does not list until the next snapshot, then places it in its slot', () => {
    const nextSnapshotMs = slotStart + 30_000;
    const unlisted = { ...slot, unlistedUntilMs: nextSnapshotMs };
    // Without a time (a new job's first poll), even in what would be its slot: held, to be placed.
    expect(arrival({ nowMs: slotStart + 400, redelayed: false, slot: unlisted })).toEqual({
      poll: false,
      untilMs: nextSnapshotMs,
      place: true,
    });
    // Arriving to be placed, now listed: its notBefore is not a slot; it goes to its slot, or polls in it.
    const placedLater = nextSnapshotMs + 500;
    expect(arrival({ nowMs: placedLater, notBeforeMs: nextSnapshotMs, redelayed: true, slot, place: true })).toEqual({
      poll: false,
      untilMs: nextSlotFrom(placedLater),
    });
    expect(arrival({ nowMs: slotStart + 400, notBeforeMs: slotStart, redelayed: true, slot, place: true })).toEqual({
      poll: true,
    });
    // Still missing after the hold (the index lags a moment): its rank's slot after all, never held twice.
    expect(
      arrival({ nowMs: placedLater, notBeforeMs: nextSnapshotMs, redelayed: true, slot: unlisted, place: true }),
    ).toEqual({ poll: false, untilMs: nextSlotFrom(placedLater) });
  });

  /** The job's next slot from the second `atMs` is in. */
  const nextSlotFrom = (atMs: number) => nextSlotStartMs(slot, Math.floor(atMs / 1000) * 1000);

  it('sends a message without a time, or far too late, on to its own slot unless this second is its slot', () => {
    expect(arrival({ nowMs: slotStart + 400, redelayed: false, slot })).toEqual({ poll: true });
    const later = slotStart + 2000;
    expect(arrival({ nowMs: later, redelayed: false, slot })).toEqual({
      poll: false,
      untilMs: slotStart + pace.periodSeconds * 1000,
    });
    const late = slotStart + LATE_TOLERANCE_MS + 1000;
    expect(arrival({ nowMs: late, notBeforeMs: slotStart, redelayed: false, slot })).toEqual({
      poll: false,
      untilMs: slotStart + pace.periodSeconds * 1000,
    });
  });

  it('polls a message pacing already sent on, however late, so a backlog cannot starve it', () => {
    const late = slotStart + 120_000;
    expect(arrival({ nowMs: late, notBeforeMs: slotStart, redelayed: true, slot })).toEqual({ poll: true });
  });

  it('polls at once when the workspace is not paced', () => {
    expect(arrival({ nowMs: T + 1234, redelayed: false, slot: undefined })).toEqual({ poll: true });
  });

  it('spreads 1,000 polls that all arrive in the same second into their slots, at most 16 polling now', () => {
    let now = 0;
    const waits = new Set<number>();
    for (let rank = 0; rank < 1000; rank++) {
      const decision = arrival({ nowMs: T, redelayed: false, slot: jobSlot(rank, pace) });
      if (decision.poll) now++;
      else waits.add(decision.untilMs);
    }
    expect(now).toBeLessThanOrEqual(16);
    expect(waits.size).toBeGreaterThanOrEqual(Math.floor(1000 / 16) - 1);
  });
});

describe('Function: nextPoll()', () => {
  it('keeps the plain schedule when the workspace is not paced', () => {
    expect(nextPoll(T + 300, 42, undefined)).toEqual({ delaySeconds: 42 });
  });

  it('goes to the slot in a later period, no sooner than the schedule asks, and says when', () => {
    const pace = paceFor(5000, settings(20));
    if (!pace) throw new Error('expected pacing');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4999 }),
        fc.integer({ min: 0, max: 5_000_000 }),
        fc.integer({ min: 0, max: 180 }),
        (rank, offsetMs, delay) => {
          const slot = jobSlot(rank, pace);
          const now = T + offsetMs;
          const next = nextPoll(now, delay, slot);
          const at = next.notBeforeMs as number;
          expect(at).toBeGreaterThanOrEqual(now + delay * 1000);
          expect(at).toBeGreaterThanOrEqual(nextPeriodStartMs(slot, now));
          expect((at / 1000) % pace.periodSeconds).toBe(slot.slotSecond);
          expect(at - now).toBeLessThanOrEqual((2 * pace.periodSeconds + delay) * 1000);
          expect(next.delaySeconds).toBe(Math.min(900, Math.ceil((at - now) / 1000)));
        },
      ),
    );
  });

  it('splits a wait longer than SQS allows: 900 s now, the rest when it arrives early', () => {
    const pace = paceFor(25_000, settings(20));
    if (!pace) throw new Error('expected pacing');
    const slot = jobSlot(24_000, pace);
    const next = nextPoll(T, 180, slot);
    const at = next.notBeforeMs as number;
    expect(at - T).toBeGreaterThan(900_000);
    expect(next.delaySeconds).toBe(900);
    const arrived = T + 900_000;
    expect(stillAhead(arrived, at)).toBe(true);
    expect(sqsDelaySeconds(arrived, at)).toBe(Math.min(900, Math.ceil((at - arrived) / 1000)));
    expect(arrived + sqsDelaySeconds(arrived, at) * 1000).toBeGreaterThanOrEqual(Math.min(at, arrived + 900_000));
  });
});

describe('Function: layoutStartMs() and placeJob()', () => {
  it('starts a new period length at the end of the old period the list was read in', () => {
    const old = paceFor(10_000, settings(20));
    const grown = paceFor(11_000, settings(20));
    if (!old || !grown) throw new Error('expected pacing');
    const readAt = T + 5_000;
    const end = nextPeriodStartMs(old, readAt);
    expect(layoutStartMs(old, grown, readAt)).toBe(end);
    expect(layoutStartMs(old, old, readAt)).toBeUndefined();
    expect(layoutStartMs(undefined, grown, readAt)).toBeUndefined();
    const slot = placeJob({ rank: 3, activeJobs: 11_000, previousActiveJobs: 10_000, readAtMs: readAt }, settings(20));
    expect(slot?.fromMs).toBe(end);
    expect(nextPoll(readAt, 10, slot).notBeforeMs).toBeGreaterThanOrEqual(end);
  });

  it('places nothing while the workspace is not paced', () => {
    expect(placeJob({ rank: 3, activeJobs: 100, readAtMs: T }, settings(20))).toBeUndefined();
  });
});
