/**
 * What the poll schedule (shared/jobs/poll-schedule.ts) costs and how late it notices a run's end, over a seeded mix
 * of run lengths (bench/run-length-mix.ts), on a virtual clock: no waiting. Each run is polled as the poll function
 * polls it: the first poll one schedule delay after submit, each next one the delay the schedule gives for the run's
 * elapsed time, until a poll finds the run ended. Reported beside fixed 30 s polling (what Airflow's and Flyte's
 * Databricks integrations do), and with the heartbeat writes an unchanged poll costs (shared/jobs/liveness.ts).
 *
 *   npx tsx bench/simulate-schedule.ts [--seed N] [--jobs N]
 */
import { pathToFileURL } from 'node:url';
import { mulberry32 } from '../infra/local/faults/fault-plan.js';
import { type PollSchedule, pollDelaySeconds, pollScheduleOf } from '../shared/jobs/poll-schedule.js';
import { sampleRunLengthSeconds } from './run-length-mix.js';
import { defaultConfig } from './sim-config.js';

export interface ScheduleSimulationOptions {
  /** Runs drawn from the mix. Default 20,000. */
  jobs?: number;
  seed?: number;
  /** Default: the configuration's defaults. */
  schedule?: PollSchedule;
  /** Default: the configuration's HEARTBEAT_SECONDS. */
  heartbeatSeconds?: number;
  /** Also return every run's length and detection lag (the bench's detection lag chart). */
  trace?: boolean;
}

export interface ScheduleFigures {
  /** Polls over the hours the runs ran, all runs together. */
  pollsPerJobHour: number;
  /** Runs under 5 minutes: the median time from the run's end to the poll that finds it ended. */
  medianDetectionLagS: number;
}

export interface ScheduleSimulation extends ScheduleFigures {
  jobs: number;
  seed: number;
  schedule: PollSchedule;
  /** Runs under 5 minutes (those the median lag is over). */
  shortRuns: number;
  /** Polls that found nothing new, and the heartbeat writes among them: writes per unchanged poll. */
  writesPerUnchangedPoll: number;
  /** Fixed 30 s polling of the same runs. */
  fixed30s: ScheduleFigures;
  /** With `trace`: each run's length and the time from its end to the poll that found it ended (seconds). */
  detections?: Detection[];
}

export interface Detection {
  runSeconds: number;
  lagSeconds: number;
}

const SHORT_RUN_SECONDS = 300;
const FIXED_INTERVAL_SECONDS = 30;

export function simulateSchedule(options: ScheduleSimulationOptions = {}): ScheduleSimulation {
  const config = defaultConfig();
  const jobs = options.jobs ?? 20_000;
  const seed = options.seed ?? 20_260_301;
  const schedule = options.schedule ?? pollScheduleOf(config);
  const heartbeatSeconds = options.heartbeatSeconds ?? config.HEARTBEAT_SECONDS;
  const random = mulberry32(seed);
  const runs = Array.from({ length: jobs }, () => sampleRunLengthSeconds(random));

  const adaptive = pollRuns(runs, (elapsed) => pollDelaySeconds(elapsed, schedule), heartbeatSeconds);
  const fixed = pollRuns(runs, () => FIXED_INTERVAL_SECONDS, heartbeatSeconds);
  return {
    jobs,
    seed,
    schedule,
    shortRuns: runs.filter((length) => length < SHORT_RUN_SECONDS).length,
    pollsPerJobHour: adaptive.pollsPerJobHour,
    medianDetectionLagS: adaptive.medianDetectionLagS,
    writesPerUnchangedPoll: adaptive.writesPerUnchangedPoll,
    fixed30s: { pollsPerJobHour: fixed.pollsPerJobHour, medianDetectionLagS: fixed.medianDetectionLagS },
    ...(options.trace
      ? { detections: runs.map((runSeconds, i) => ({ runSeconds, lagSeconds: adaptive.lags[i] as number })) }
      : {}),
  };
}

function pollRuns(runs: readonly number[], delayAt: (elapsedSeconds: number) => number, heartbeatSeconds: number) {
  let polls = 0;
  let unchangedPolls = 0;
  let heartbeatWrites = 0;
  let runSeconds = 0;
  const shortLags: number[] = [];
  const lags: number[] = [];
  for (const length of runs) {
    // The first poll records the run as started (a change, written with the heartbeat); the last finds it ended.
    let at = delayAt(0);
    let heartbeatAt = at;
    polls++;
    while (at < length) {
      at += delayAt(at);
      polls++;
      if (at >= length) break;
      unchangedPolls++;
      if (at - heartbeatAt >= heartbeatSeconds) {
        heartbeatWrites++;
        heartbeatAt = at;
      }
    }
    runSeconds += length;
    lags.push(at - length);
    if (length < SHORT_RUN_SECONDS) shortLags.push(at - length);
  }
  return {
    pollsPerJobHour: polls / (runSeconds / 3600),
    medianDetectionLagS: median(shortLags),
    writesPerUnchangedPoll: unchangedPolls === 0 ? 0 : heartbeatWrites / unchangedPolls,
    lags,
  };
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function option(name: string): number | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : Number(process.argv[index + 1]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(simulateSchedule({ seed: option('seed'), jobs: option('jobs') })));
}
