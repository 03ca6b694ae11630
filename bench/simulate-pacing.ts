/**
 * Workspace pacing on a virtual clock (no waiting): many live jobs on one workspace, their polls driven by the
 * production code — the schedule (shared/jobs/poll-schedule.ts), the pacing arithmetic and arrival decisions
 * (shared/jobs/workspace-pacing.ts) and the containers' cached live-job lists (shared/jobs/live-workspace-jobs.ts,
 * one LiveWorkspaceJobs per simulated container, reading the simulated index). SQS delivers at whole-second delays;
 * each delivered poll goes to a random container and either calls the Jobs API (counted in its 1-second bucket) or
 * is sent on (a re-delay: an SQS send, no API call).
 *
 * The worst case first: every job's poll is delivered at t=0 at once, carrying no slot (after an outage, or from
 * before the workspace's size was known). With `churn`, jobs also start (Poisson, from the run-length mix of
 * bench/run-length-mix.ts), each with its runs/submit, and end (when a poll finds the run over) during the hour, and
 * each container's list is as old as its last read: a snapshot per pacing period, or per minute while unpaced.
 *
 * Every call takes a slot in the workspace's call ledger (shared/databricks/workspace-call-budget.ts, in memory on
 * the virtual clock: the DynamoDB ledger gives the same slots, atomically across containers) and is counted in the
 * second of its slot; a call the ledger cannot place within MAX_WAIT_MS is deferred (an SQS delay). `ledger: false`
 * shows what pacing does alone: with churn (some 13,000 jobs starting in the hour, 3.7 a second, each a runs/submit),
 * the busiest second went past 40 calls against 20 before the ledger, because submits were in no layout and a job
 * started since the last snapshot shared a listed neighbour's second. Now polls use 60 % of the budget, a job not
 * listed yet waits for the next snapshot (shared/jobs/workspace-pacing.ts), and the ledger holds the rest to the
 * budget exactly; `budgetWaits`, `maxBudgetWaitS` and `budgetDeferrals` say what it cost the calls.
 *
 *   npx tsx bench/simulate-pacing.ts [--jobs N] [--budget RPS] [--hours H] [--seed N] [--churn] [--growth F] [--no-ledger]
 */
import { pathToFileURL } from 'node:url';
import { mulberry32 } from '../infra/local/faults/fault-plan.js';
import { callCostUs, InMemoryCallLedger, MAX_WAIT_MS } from '../shared/databricks/workspace-call-budget.js';
import type { LiveJobIndex } from '../shared/jobs/job-store.js';
import { LiveWorkspaceJobs, rankIn } from '../shared/jobs/live-workspace-jobs.js';
import { pollDelaySeconds, pollScheduleOf, runElapsedSeconds } from '../shared/jobs/poll-schedule.js';
import {
  arrival,
  nextPoll,
  pacingSettingsOf,
  placeJob,
  sqsDelaySeconds,
  stillAhead,
} from '../shared/jobs/workspace-pacing.js';
import { LONGEST_RUN_SECONDS, meanRunLengthSeconds, sampleRunLengthSeconds } from './run-length-mix.js';
import { defaultConfig } from './sim-config.js';

export interface PacingSimulationOptions {
  /** Live jobs on the workspace at t=0. Default 10,000. */
  activeJobs?: number;
  /** WORKSPACE_API_BUDGET_RPS. Default 20. */
  budgetRps?: number;
  /** Default 1. */
  hours?: number;
  seed?: number;
  /** Jobs start and end during the run; otherwise every job runs throughout. Default false. */
  churn?: boolean;
  /** With churn: job starts per second relative to the steady state (1: the count stays about level). Default 1. */
  growth?: number;
  /** Poll function containers, each with its own cached list. Default 10. */
  containers?: number;
  /** Also return the calls of every second. */
  trace?: boolean;
  /**
   * Every call (the jobs' submits too, with churn) takes a slot in the workspace's call budget
   * (shared/databricks/workspace-call-budget.ts), waiting up to its MAX_WAIT_MS or being deferred. Default true.
   */
  ledger?: boolean;
}

export interface PacingSimulation {
  activeJobs: number;
  budgetRps: number;
  /** The busiest second's Jobs API calls, once every job live at t=0 has been polled once. */
  peakRps: number;
  /** The busiest 10 seconds over the same window, in calls per second: what a rate limiter with some burst sees. */
  peakRps10s: number;
  /** The busiest second before that (the polls delivered at t=0 being spread into their slots). */
  peakRpsWhileSpreading: number;
  /** Calls per second, averaged over the same window as peakRps. */
  meanRps: number;
  /** Every job live for longer than the longest period plus the schedule's longest wait was polled at least once. */
  everyJobPolled: boolean;
  /** The longest time a live job went without a call (between calls, from its start, or until the end). */
  maxGapBetweenPollsS: number;
  /** Polls sent on without calling Databricks (to their slot, or the rest of a wait longer than 900 s). */
  reDelays: number;
  apiCalls: number;
  /** When every job live at t=0 had been polled once (seconds). */
  allPolledByS: number;
  /** The periods pacing used, in seconds. */
  periodsS: number[];
  /** Keys-only Queries of the live-job index, all containers together. */
  listQueries: number;
  jobsStarted: number;
  jobsEnded: number;
  activeJobsAtEnd: number;
  /** runs/submit calls (one per job started during the run), in the counts above. */
  submitCalls: number;
  /** Calls the budget made wait for their slot, and the longest such wait (s). */
  budgetWaits: number;
  maxBudgetWaitS: number;
  /** Calls the budget deferred (booked further ahead than a call may wait): sent back, no Jobs API call. */
  budgetDeferrals: number;
  /** With `trace`: the Jobs API calls of each second. */
  callsPerSecond?: number[];
}

interface SimJob {
  id: string;
  startedS: number;
  /** Undefined: runs past the end. */
  endsS: number | undefined;
  submittedAt: string;
  calls: number;
  firstCallS: number | undefined;
  lastCallS: number | undefined;
  maxGapS: number;
  ended: boolean;
}

interface Delivery {
  job: SimJob;
  attempt: number;
  notBefore?: number | undefined;
  redelays: number;
  place?: true | undefined;
}

const HOST = 'https://dbc-simulated.cloud.databricks.com';
/** Virtual epoch of t=0: a whole second, like SQS deliveries here. */
const EPOCH_MS = Date.UTC(2026, 2, 1);

export async function simulatePacing(options: PacingSimulationOptions = {}): Promise<PacingSimulation> {
  const activeJobs = options.activeJobs ?? 10_000;
  const budgetRps = options.budgetRps ?? 20;
  const seconds = Math.round((options.hours ?? 1) * 3600);
  const churn = options.churn ?? false;
  const random = mulberry32(options.seed ?? 20_260_301);
  const config = defaultConfig({ WORKSPACE_API_BUDGET_RPS: String(budgetRps) });
  const schedule = pollScheduleOf(config);
  const settings = pacingSettingsOf(config);
  if (!settings) throw new Error('pacing is off: budgetRps must be at least 1');

  let clockMs = EPOCH_MS;
  // The index the containers read: the live jobs' ids, kept sorted (as DynamoDB returns a partition's keys).
  const live: string[] = [];
  let listQueries = 0;
  const index: LiveJobIndex = {
    listLiveJobIds: async () => {
      listQueries++;
      return [...live];
    },
  };
  const containers = Array.from(
    { length: options.containers ?? 10 },
    () => new LiveWorkspaceJobs(index, settings, () => clockMs),
  );

  // The workspace's call ledger, on the virtual clock: each call's slot decides the second it is counted in.
  const useLedger = options.ledger ?? true;
  const ledger = new InMemoryCallLedger(() => clockMs * 1000);
  let budgetWaits = 0;
  let maxBudgetWaitS = 0;
  let budgetDeferrals = 0;
  let submitCalls = 0;
  /** The second a call is made in, or the whole seconds it is deferred by (an SQS delay). */
  const callAt = (endpoint: 'runs/submit' | 'runs/get'): { atS: number } | { deferS: number } => {
    if (!useLedger) return { atS: clockMs / 1000 - EPOCH_MS / 1000 };
    const reservation = ledger.reserveNow(HOST, {
      costUs: callCostUs({ budgetRps }, endpoint),
      maxWaitUs: MAX_WAIT_MS * 1000,
    });
    if ('bookedUntilUs' in reservation) {
      budgetDeferrals++;
      return { deferS: Math.max(1, Math.ceil((reservation.bookedUntilUs / 1000 - clockMs) / 1000)) };
    }
    const waitS = (reservation.slotUs / 1000 - clockMs) / 1000;
    if (waitS > 0) {
      budgetWaits++;
      maxBudgetWaitS = Math.max(maxBudgetWaitS, waitS);
    }
    return { atS: Math.floor((reservation.slotUs / 1000 - EPOCH_MS) / 1000) };
  };
  const submitQueue: SimJob[][] = Array.from({ length: seconds + 1 }, () => []);

  const queue: Delivery[][] = Array.from({ length: seconds + 1 }, () => []);
  const deliver = (atS: number, delivery: Delivery) => {
    if (atS <= seconds) queue[atS]?.push(delivery);
  };
  const jobs: SimJob[] = [];
  const startJob = (startedS: number, ageS: number, runS: number | undefined): SimJob => {
    const job: SimJob = {
      id: `fdl-${Array.from({ length: 5 }, () => hex32(random)).join('')}`,
      startedS,
      endsS: runS === undefined ? undefined : startedS - ageS + runS,
      submittedAt: new Date(EPOCH_MS + (startedS - ageS) * 1000).toISOString(),
      calls: 0,
      firstCallS: undefined,
      lastCallS: undefined,
      maxGapS: 0,
      ended: false,
    };
    live.splice(rankIn(live, job.id).rank, 0, job.id);
    jobs.push(job);
    return job;
  };

  // t=0: every live job's poll arrives at once, with no slot.
  for (let i = 0; i < activeJobs; i++) {
    const runS = churn ? lengthBiasedRunSeconds(random) : undefined;
    const ageS = runS === undefined ? random() * 7200 : random() * runS;
    deliver(0, { job: startJob(0, ageS, runS), attempt: 0, redelays: 0 });
  }
  const initialJobs = jobs.slice();
  // Starts that keep the count level: arrivals = ends = N / mean run length, scaled by `growth`.
  const startsPerSecond = churn ? ((options.growth ?? 1) * activeJobs) / meanRunLengthSeconds() : 0;

  const perSecond = new Array<number>(seconds + 1).fill(0);
  const periods = new Set<number>();
  let reDelays = 0;
  let apiCalls = 0;
  let jobsStarted = 0;
  let jobsEnded = 0;

  for (let s = 0; s <= seconds; s++) {
    clockMs = EPOCH_MS + s * 1000;
    for (let n = poisson(random, startsPerSecond); n > 0; n--) {
      submitQueue[s]?.push(startJob(s, 0, sampleRunLengthSeconds(random)));
      jobsStarted++;
    }
    const submits = submitQueue[s] ?? [];
    submitQueue[s] = [];
    for (const job of submits) {
      // The job's runs/submit, within the budget like every call; deferred, its message comes back later.
      const call = callAt('runs/submit');
      if ('deferS' in call) {
        if (s + call.deferS <= seconds) submitQueue[s + call.deferS]?.push(job);
        continue;
      }
      apiCalls++;
      submitCalls++;
      if (call.atS <= seconds) perSecond[call.atS] = (perSecond[call.atS] ?? 0) + 1;
      // As start-poll-chain sends it: the schedule's first wait, no slot.
      deliver(call.atS + pollDelaySeconds(0, schedule), { job, attempt: 0, redelays: 0 });
    }
    const arrivals = queue[s] ?? [];
    queue[s] = [];
    for (const delivery of arrivals) {
      const { job } = delivery;
      if (stillAhead(clockMs, delivery.notBefore)) {
        reDelays++;
        deliver(s + sqsDelaySeconds(clockMs, delivery.notBefore), delivery);
        continue;
      }
      const container = containers[Math.floor(random() * containers.length)] as LiveWorkspaceJobs;
      const position = await container.position(HOST, job.id);
      const slot = position && placeJob(position, settings);
      if (slot) periods.add(slot.periodSeconds);
      const decision = arrival({
        nowMs: clockMs,
        notBeforeMs: delivery.notBefore,
        redelayed: delivery.redelays > 0,
        slot,
        place: delivery.place,
      });
      if (!decision.poll) {
        reDelays++;
        deliver(s + sqsDelaySeconds(clockMs, decision.untilMs), {
          ...delivery,
          notBefore: decision.untilMs,
          redelays: delivery.redelays + 1,
          place: decision.place,
        });
        continue;
      }
      // The Jobs API call, in its slot of the workspace's budget; deferred, the poll comes back as it was.
      const call = callAt('runs/get');
      if ('deferS' in call) {
        deliver(s + call.deferS, delivery);
        continue;
      }
      const atS = call.atS;
      apiCalls++;
      if (atS <= seconds) perSecond[atS] = (perSecond[atS] ?? 0) + 1;
      job.maxGapS = Math.max(job.maxGapS, atS - (job.lastCallS ?? job.startedS));
      job.firstCallS ??= atS;
      job.lastCallS = atS;
      job.calls++;
      if (job.endsS !== undefined && job.endsS <= atS) {
        // The run is over: the job ends and leaves the index; its chain stops.
        job.ended = true;
        jobsEnded++;
        live.splice(rankIn(live, job.id).rank, 1);
        continue;
      }
      const wait = pollDelaySeconds(
        runElapsedSeconds(job, delivery.attempt + 1, new Date(clockMs), schedule),
        schedule,
      );
      const next = nextPoll(EPOCH_MS + atS * 1000, wait, slot);
      deliver(atS + next.delaySeconds, {
        job,
        attempt: delivery.attempt + 1,
        notBefore: next.notBeforeMs,
        redelays: 0,
      });
    }
  }

  const allPolledByS = Math.max(...initialJobs.map((job) => job.firstCallS ?? seconds));
  const after = perSecond.slice(allPolledByS);
  // A job must have been polled once it was live for three periods (the longest seen: one waiting for the snapshot
  // that lists it, one for its slot, one more when the period changes; the bound pacingSettingsOf caps the period
  // by) plus the schedule's longest wait.
  const pollBoundS = 3 * Math.max(0, ...periods) + schedule.maxSeconds;
  const liveForS = (job: SimJob) => (job.ended ? (job.lastCallS as number) : seconds) - job.startedS;
  return {
    activeJobs,
    budgetRps,
    peakRps: Math.max(0, ...after),
    peakRps10s: peakWindowRate(after, 10),
    peakRpsWhileSpreading: Math.max(0, ...perSecond.slice(0, allPolledByS)),
    meanRps: after.reduce((sum, calls) => sum + calls, 0) / Math.max(1, after.length),
    everyJobPolled: jobs.every((job) => job.calls > 0 || liveForS(job) <= pollBoundS),
    maxGapBetweenPollsS: Math.max(
      ...jobs.map((job) => Math.max(job.maxGapS, job.ended ? 0 : seconds - (job.lastCallS ?? job.startedS))),
    ),
    reDelays,
    apiCalls,
    allPolledByS,
    periodsS: [...periods].sort((a, b) => a - b),
    listQueries,
    jobsStarted,
    jobsEnded,
    activeJobsAtEnd: live.length,
    submitCalls,
    budgetWaits,
    maxBudgetWaitS,
    budgetDeferrals,
    ...(options.trace ? { callsPerSecond: perSecond } : {}),
  };
}

/** The highest mean rate over `width` consecutive seconds. */
function peakWindowRate(calls: readonly number[], width: number): number {
  let sum = 0;
  let peak = 0;
  calls.forEach((count, i) => {
    sum += count - (i >= width ? (calls[i - width] as number) : 0);
    if (i >= width - 1) peak = Math.max(peak, sum / width);
  });
  return peak;
}

/** A run length as found among jobs live at some instant: long runs are more likely to be caught running. */
function lengthBiasedRunSeconds(random: () => number): number {
  for (;;) {
    const length = sampleRunLengthSeconds(random);
    if (random() * LONGEST_RUN_SECONDS < length) return length;
  }
}

function poisson(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  const limit = Math.exp(-mean);
  let count = 0;
  for (let product = random(); product > limit; product *= random()) count++;
  return count;
}

function hex32(random: () => number): string {
  return Math.floor(random() * 2 ** 32)
    .toString(16)
    .padStart(8, '0');
}

function option(name: string): number | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : Number(process.argv[index + 1]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await simulatePacing({
    activeJobs: option('jobs'),
    budgetRps: option('budget'),
    hours: option('hours'),
    seed: option('seed'),
    churn: process.argv.includes('--churn'),
    growth: option('growth'),
    ledger: !process.argv.includes('--no-ledger'),
  });
  console.log(JSON.stringify(result));
}
