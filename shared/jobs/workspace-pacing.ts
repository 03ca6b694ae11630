/**
 * Pacing: a workspace's polls are spread to fit its API budget (WORKSPACE_API_BUDGET_RPS), however many jobs it runs;
 * past that, every job is still polled, only less often. The budget itself is held by the call ledger every
 * Databricks call takes a slot in (shared/databricks/workspace-call-budget.ts); pacing is what keeps polls from
 * queueing there. Pure arithmetic, no I/O: the poll handler and the
 * bench (bench/simulate-pacing.ts) use the same functions.
 *
 * Polls may use a share u of the budget B (the rest is for submits, cancels and token requests): R = u·B a
 * second. With N live jobs on the workspace, polling each once per period P = N/R seconds fills it; when P exceeds
 * the shortest poll interval the workspace could be pushed past its budget, so pacing is on. The job of rank r in the
 * workspace's sorted list of live jobs owns the 1-second slot floor(r/R) of each period, and periods are aligned to
 * the epoch (slot k·P + floor(r/R)), so every container that knows the same list gives a job the same slot and no
 * second holds more than ceil(R) polls. A job's next poll is its first slot at or after the time the plain schedule
 * asks for, in a later period than the current one; the poll message carries that time (`notBefore`). A poll that
 * arrives early, or with no time or far too late (a backlog, an outage, a message from before pacing), is sent on
 * to its slot without calling Databricks, so even thousands of polls arriving at once spread out. A job the list does
 * not have yet (it started since the list was read) waits for the next list instead of taking a listed job's second.
 *
 * P is rounded up to 3 significant bits (…, 512, 640, 768, 896, 1024, …): containers whose lists differ by a few
 * jobs (read a second or two apart) then still agree on P, and so on every job's slot. When P does change, the new
 * layout starts where the old one's period ends (layoutStartMs), so that the two never share a second. P is also
 * capped so that pacing never stretches a job's polls so far apart that the sweeper would take it for lost; past
 * that many jobs (about 17,900 at the defaults) the budget gives way.
 */
import { MAX_SQS_DELAY_SECONDS } from './job-queues.js';

/**
 * The share of the budget polls may use, in percent (u = 0.6): the rest is for submits, cancels and token requests,
 * which take slots in the same budget (shared/databricks/workspace-call-budget.ts). Integers keep slot arithmetic
 * exact.
 */
export const POLL_SHARE_PERCENT = 60;
/** A poll that arrives this much before its time is taken as on time (clocks of containers differ slightly). */
export const EARLY_TOLERANCE_MS = 500;
/** A poll that arrives this much after its time is still on time: SQS and the Lambda poller add seconds. */
export const LATE_TOLERANCE_MS = 10_000;
/** Room between the longest paced gap and the sweeper's staleness, for delivery delays. */
const LIVENESS_SLACK_SECONDS = 60;

export interface PacingSettings {
  /** Jobs API requests a second the workspace may get (WORKSPACE_API_BUDGET_RPS, ≥ 1). */
  budgetRps: number;
  /** The shortest poll interval: pacing is on only when a period would be longer. */
  minIntervalSeconds: number;
  /** The longest period the sweeper tolerates (see pacingSettingsOf). */
  maxPeriodSeconds: number;
}

/** A paced workspace: `jobs` consecutive ranks share each `seconds` seconds of slots, in periods of `periodSeconds`. */
export interface Pace {
  periodSeconds: number;
  jobs: number;
  seconds: number;
}

/** A job's place in its paced workspace: the second `slotSecond` of every period, from `fromMs` on. */
export interface JobSlot {
  periodSeconds: number;
  slotSecond: number;
  /** When the period has just changed: the end of the last period of the old length, where the new layout starts. */
  fromMs?: number | undefined;
  /**
   * When the job is not in the snapshot its slot was computed from (it started since): when the next snapshot is
   * taken. The slot is then only its rank's guess, shared with a neighbour; the job waits for the snapshot instead.
   */
  unlistedUntilMs?: number | undefined;
}

/**
 * What a poll that has arrived does: poll now, or wait (an SQS send, no Jobs API call) until `untilMs`; with `place`,
 * to be placed by the snapshot then taken rather than polled at that time.
 */
export type Arrival = { poll: true } | { poll: false; untilMs: number; place?: true };

/** The next poll: an SQS delay, and the slot it aims at when paced. */
export interface NextPoll {
  delaySeconds: number;
  notBeforeMs?: number;
}

/**
 * The settings the configuration implies; undefined when pacing is off (WORKSPACE_API_BUDGET_RPS=0). A paced job
 * waits at most the schedule's longest wait plus a period between polls, or two periods when the period changes, and
 * a new job its poller's snapshot does not list yet one more (the wait for the next snapshot); a poll before a wait
 * that long writes the heartbeat (functions/poll/poll-job.ts), so the period is capped for the sweeper never to find
 * a healthy job's heartbeat older than STALE_AFTER_SECONDS.
 */
export function pacingSettingsOf(config: {
  WORKSPACE_API_BUDGET_RPS: number;
  POLL_INTERVAL_MIN_SECONDS: number;
  POLL_INTERVAL_MAX_SECONDS: number;
  STALE_AFTER_SECONDS: number;
}): PacingSettings | undefined {
  if (config.WORKSPACE_API_BUDGET_RPS <= 0) return undefined;
  const longestWait = config.STALE_AFTER_SECONDS - LIVENESS_SLACK_SECONDS;
  const maxPeriodSeconds = Math.floor((longestWait - config.POLL_INTERVAL_MAX_SECONDS) / 3);
  return {
    budgetRps: config.WORKSPACE_API_BUDGET_RPS,
    minIntervalSeconds: config.POLL_INTERVAL_MIN_SECONDS,
    maxPeriodSeconds: Math.max(1, maxPeriodSeconds),
  };
}

/** How `activeJobs` live jobs on one workspace are paced; undefined when polling them as scheduled fits the budget. */
export function paceFor(activeJobs: number, settings: PacingSettings): Pace | undefined {
  const jobs = settings.budgetRps * POLL_SHARE_PERCENT;
  const seconds = 100;
  const needed = Math.ceil((activeJobs * seconds) / jobs);
  // SQS delays are whole seconds: a period of 1 s is no pacing at all.
  if (needed <= Math.max(1, settings.minIntervalSeconds)) return undefined;
  const periodSeconds = roundUpToThreeBits(needed);
  if (periodSeconds <= settings.maxPeriodSeconds) return { periodSeconds, jobs, seconds };
  // More jobs than the budget can poll before the sweeper would take them for lost: liveness wins, the budget gives.
  const capped = Math.floor(settings.maxPeriodSeconds);
  if (capped <= Math.max(1, settings.minIntervalSeconds)) return undefined;
  return { periodSeconds: capped, jobs: activeJobs, seconds: capped };
}

/**
 * The slot of the job of `rank` (its index in the workspace's sorted list of live jobs). `fromMs` (see
 * layoutStartMs) keeps a new layout clear of the polls the old one still has in flight.
 */
export function jobSlot(rank: number, pace: Pace, fromMs?: number): JobSlot {
  const second = Math.floor((rank * pace.seconds) / pace.jobs);
  return { periodSeconds: pace.periodSeconds, slotSecond: second % pace.periodSeconds, fromMs };
}

/**
 * The job's slot from where its poller's list places it (shared/jobs/live-workspace-jobs.ts): its rank among the
 * list's jobs, and the list before it, whose period the new layout must not overlap; undefined when unpaced.
 */
export function placeJob(
  position: {
    rank: number;
    activeJobs: number;
    previousActiveJobs?: number | undefined;
    readAtMs: number;
    listed?: boolean;
    nextSnapshotMs?: number;
  },
  settings: PacingSettings,
): JobSlot | undefined {
  const pace = paceFor(position.activeJobs, settings);
  if (pace === undefined) return undefined;
  const previous =
    position.previousActiveJobs === undefined ? undefined : paceFor(position.previousActiveJobs, settings);
  const slot = jobSlot(position.rank, pace, layoutStartMs(previous, pace, position.readAtMs));
  if (position.listed === false && position.nextSnapshotMs !== undefined)
    slot.unlistedUntilMs = position.nextSnapshotMs;
  return slot;
}

/**
 * Where the layout of `pace` starts when the list read at `readAtMs` changed the period from `previous`'s: at the
 * end of the old period the read fell in, by when every poll placed in the old layout has been made. Before it,
 * new and old slots would overlap (and double a second's calls); undefined when the period did not change.
 */
export function layoutStartMs(previous: Pace | undefined, pace: Pace, readAtMs: number): number | undefined {
  if (previous === undefined || previous.periodSeconds === pace.periodSeconds) return undefined;
  return nextPeriodStartMs(previous, readAtMs);
}

/** The start (epoch ms) of the job's first slot that starts at or after `atOrAfterMs` (and its layout's start). */
export function nextSlotStartMs(slot: JobSlot, atOrAfterMs: number): number {
  const at = Math.ceil(Math.max(atOrAfterMs, slot.fromMs ?? 0) / 1000);
  const periodStart = at - mod(at, slot.periodSeconds);
  const start = periodStart + slot.slotSecond;
  return (start >= at ? start : start + slot.periodSeconds) * 1000;
}

/** Whether a message is still early for its `notBefore`: it waits on before anything is read. */
export function stillAhead(nowMs: number, notBeforeMs: number | undefined): notBeforeMs is number {
  return notBeforeMs !== undefined && nowMs < notBeforeMs - EARLY_TOLERANCE_MS;
}

/**
 * What an arriving poll does. On time for its `notBefore`, or unpaced: it polls. A job its poller's snapshot does not
 * list yet (it started since) waits for the next snapshot and is placed by it (`place`): polling in the slot its rank
 * would have shares a listed neighbour's second, and with jobs starting all the time those shared seconds pushed the
 * workspace past its budget. Without a time, or later than the tolerance, or arriving to be placed: it polls if this
 * second is its slot, else it waits for its next slot, unless pacing already sent it on (`redelayed`) other than to
 * be placed: then it polls however late, so that a backlog longer than the tolerance cannot starve it.
 */
export function arrival(options: {
  nowMs: number;
  notBeforeMs?: number | undefined;
  redelayed: boolean;
  slot: JobSlot | undefined;
  /** The message was held for a snapshot (Arrival's `place`). */
  place?: boolean | undefined;
}): Arrival {
  const { nowMs, notBeforeMs, slot, place } = options;
  if (stillAhead(nowMs, notBeforeMs)) return { poll: false, untilMs: notBeforeMs };
  if (!place && notBeforeMs !== undefined && nowMs <= notBeforeMs + LATE_TOLERANCE_MS) return { poll: true };
  if (slot === undefined) return { poll: true };
  // Held once: a job still missing (the index lags a moment behind a new job) takes its rank's slot after all.
  if (slot.unlistedUntilMs !== undefined && !place) return { poll: false, untilMs: slot.unlistedUntilMs, place: true };
  if (options.redelayed && !place) return { poll: true };
  const untilMs = nextSlotStartMs(slot, Math.floor(nowMs / 1000) * 1000);
  return untilMs <= nowMs ? { poll: true } : { poll: false, untilMs };
}

/**
 * The next poll: `delaySeconds` from now as the schedule asks, or, paced, at the job's first slot after that and
 * after the current period. So a job polls at most once a period, and every poll of a period was placed with the
 * lists of the period before it: one layout, never two overlapping (see shared/jobs/live-workspace-jobs.ts).
 */
export function nextPoll(nowMs: number, delaySeconds: number, slot: JobSlot | undefined): NextPoll {
  if (slot === undefined) return { delaySeconds };
  const notBeforeMs = nextSlotStartMs(slot, Math.max(nowMs + delaySeconds * 1000, nextPeriodStartMs(slot, nowMs)));
  return { delaySeconds: sqsDelaySeconds(nowMs, notBeforeMs), notBeforeMs };
}

/** The start (epoch ms) of the period after the one `nowMs` is in. */
export function nextPeriodStartMs(pace: { periodSeconds: number }, nowMs: number): number {
  return (Math.floor(nowMs / 1000 / pace.periodSeconds) + 1) * pace.periodSeconds * 1000;
}

/**
 * The SQS delay that delivers a message at or just after `untilMs` (in the second that starts there), at most SQS's
 * 900 s: a longer wait arrives early and is sent on with the rest.
 */
export function sqsDelaySeconds(nowMs: number, untilMs: number): number {
  return Math.min(MAX_SQS_DELAY_SECONDS, Math.max(0, Math.ceil((untilMs - nowMs) / 1000)));
}

/** Rounds up to a number with at most 3 significant bits (8, 10, 12, 14, 16, 20, 24, 28, 32, 40, …). */
export function roundUpToThreeBits(value: number): number {
  if (value <= 8) return Math.max(0, Math.ceil(value));
  const step = 2 ** (Math.floor(Math.log2(value)) - 2);
  return Math.ceil(value / step) * step;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
