/**
 * How long a job waits before its next poll: a fraction of the time its run has been going, within bounds. A run
 * that ends is then noticed within about that fraction of its length, whatever the length: quickly for short runs
 * (every 10 s in the first minute, about 18 s apart at 2 minutes), while a run of hours settles at the ceiling
 * (20 polls an hour at 180 s). Elapsed time is counted from the job's `submittedAt`, so a chain the sweeper restarts
 * keeps the cadence the run has earned; a job without it (never expected after submit) counts its polls instead.
 * bench/simulate-schedule.ts measures what the defaults cost and how late they notice, over a mix of run lengths.
 */

export interface PollSchedule {
  /** The shortest wait (POLL_INTERVAL_MIN_SECONDS), and the first one. */
  minSeconds: number;
  /** The longest wait (POLL_INTERVAL_MAX_SECONDS); at most SQS's 900 s delay. */
  maxSeconds: number;
  /** The wait as a fraction of the run's elapsed time (POLL_INTERVAL_FRACTION). */
  fraction: number;
}

/** The defaults of shared/config.ts: polls per job-hour about 44 and a 9 s median lag for short runs (the bench). */
export const DEFAULT_POLL_SCHEDULE: Readonly<PollSchedule> = { minSeconds: 10, maxSeconds: 180, fraction: 0.15 };

/** The schedule the configuration sets. */
export function pollScheduleOf(config: {
  POLL_INTERVAL_MIN_SECONDS: number;
  POLL_INTERVAL_MAX_SECONDS: number;
  POLL_INTERVAL_FRACTION: number;
}): PollSchedule {
  return {
    minSeconds: config.POLL_INTERVAL_MIN_SECONDS,
    maxSeconds: config.POLL_INTERVAL_MAX_SECONDS,
    fraction: config.POLL_INTERVAL_FRACTION,
  };
}

/** Whole seconds to wait before the next poll of a run that has been going `elapsedSeconds`; never decreasing. */
export function pollDelaySeconds(elapsedSeconds: number, schedule: PollSchedule): number {
  const wanted = schedule.fraction * Math.max(0, elapsedSeconds);
  return Math.round(Math.min(schedule.maxSeconds, Math.max(schedule.minSeconds, wanted)));
}

/**
 * How long the job's run has been going at `now`: since `submittedAt`, or, for a job without it, as long as the
 * schedule takes to make `pollsSoFar` polls.
 */
export function runElapsedSeconds(
  job: { submittedAt?: string | undefined },
  pollsSoFar: number,
  now: Date,
  schedule: PollSchedule,
): number {
  const submitted = job.submittedAt === undefined ? Number.NaN : Date.parse(job.submittedAt);
  if (!Number.isNaN(submitted)) return Math.max(0, (now.getTime() - submitted) / 1000);
  return elapsedAfterPolls(pollsSoFar, schedule);
}

/** The time the schedule takes for `polls` polls from the start of a run. */
export function elapsedAfterPolls(polls: number, schedule: PollSchedule): number {
  let elapsed = 0;
  for (let made = 0; made < polls; made++) {
    const delay = pollDelaySeconds(elapsed, schedule);
    // At the ceiling (or stuck at a zero wait) every further poll adds the same: no need to count them one by one.
    if (delay >= schedule.maxSeconds || delay === 0) return elapsed + (polls - made) * delay;
    elapsed += delay;
  }
  return elapsed;
}
