/**
 * One poll of a job's Databricks run: rebuild the auth strategy from the job's stored context (so long runs keep
 * getting fresh tokens), read the run, record what changed, and schedule the next poll unless the run has ended.
 * An unchanged poll writes nothing to the table, except the job's heartbeat once it is HEARTBEAT_SECONDS old (the
 * sweeper's sign of life, shared/jobs/liveness.ts). A DELETE that came in before the run existed is acted on here.
 *
 * The next poll waits as the schedule says (shared/jobs/poll-schedule.ts), unless the workspace has more live jobs
 * than its API budget can poll that often: then each poll goes to the job's time slot
 * (shared/jobs/workspace-pacing.ts), and a poll that arrives outside its slot is sent on to it without calling
 * Databricks. Costs of an unchanged poll, paced or not: one GetItem, one runs/get, one SQS send, no write (the
 * heartbeat aside), plus the workspace's live-job list, one Query per container per snapshot (a pacing period, or a
 * minute; shared/jobs/live-workspace-jobs.ts). A poll sent on to its slot: one GetItem and one SQS send; one sent on
 * because its wait was longer than SQS's 900 s: one SQS send.
 */
import { failedTaskRunId, failureDetail } from '../../shared/databricks/run-failure-detail.js';
import { safeRunPageUrl } from '../../shared/databricks/run-page-url.js';
import type { DatabricksRun } from '../../shared/databricks/types.js';
import type { Job } from '../../shared/jobs/job.js';
import type { JobPatch } from '../../shared/jobs/job-store.js';
import { heartbeat, heartbeatOlderThan, missingLiveKeys } from '../../shared/jobs/liveness.js';
import type { PollMessage } from '../../shared/jobs/messages.js';
import { mutateJob } from '../../shared/jobs/mutate-job.js';
import { isTerminalPhase, type Phase } from '../../shared/jobs/phase.js';
import { pollDelaySeconds, pollScheduleOf, runElapsedSeconds } from '../../shared/jobs/poll-schedule.js';
import { mapRunState } from '../../shared/jobs/run-state-mapping.js';
import {
  arrival,
  type JobSlot,
  type NextPoll,
  nextPoll,
  pacingSettingsOf,
  placeJob,
  sqsDelaySeconds,
  stillAhead,
} from '../../shared/jobs/workspace-pacing.js';
import { countPollPaced, recordDetectionLag } from '../../shared/metrics/metrics.js';
import { annotateJob } from '../../shared/tracing/tracing.js';
import { describeError, settleFailure } from '../job-failure.js';
import type { DatabricksJobs } from '../job-ports.js';
import type { RecordContext } from '../sqs-batch.js';
import type { PollPorts } from './poll-ports.js';

export async function pollJob(message: PollMessage, ports: PollPorts, record: RecordContext): Promise<void> {
  const { jobId, generation } = message;
  const attempt = message.attempt ?? 0;
  const arrivedAtMs = ports.now().getTime();
  // A wait longer than SQS's 900 s delay arrives early: send it on with the rest, reading nothing.
  if (stillAhead(arrivedAtMs, message.notBefore)) {
    countPollPaced();
    return sendOn(message, message.notBefore, arrivedAtMs, ports);
  }
  const job = await ports.store.get(jobId);
  if (!job) return record.log.warn('Poll message names no job; dropping it');
  annotateJob(job);
  if (job.pollGeneration !== generation) {
    return record.log.info('Stale poll chain; dropping it', { generation, current: job.pollGeneration });
  }
  if (isTerminalPhase(job.phase)) return;
  if (job.runId === undefined) return record.log.warn('Poll for a job without a run; dropping it');
  const slot = await workspaceSlot(job, ports, record);
  const redelays = message.redelays ?? 0;
  const decision = arrival({
    nowMs: arrivedAtMs,
    notBeforeMs: message.notBefore,
    redelayed: redelays > 0,
    slot,
    place: message.place,
  });
  if (!decision.poll) {
    const { place: _arrivedToBePlaced, ...rest } = message;
    const held = { ...rest, redelays: redelays + 1, ...(decision.place ? { place: true as const } : {}) };
    countPollPaced();
    return sendOn(held, decision.untilMs, arrivedAtMs, ports);
  }
  const schedule = pollScheduleOf(ports.config);
  const wait = pollDelaySeconds(runElapsedSeconds(job, attempt + 1, new Date(arrivedAtMs), schedule), schedule);
  const next = nextPoll(arrivedAtMs, wait, slot);
  try {
    const ended = await pollRun(job, job.runId, ports, record, heartbeatMaxAgeSeconds(ports, arrivedAtMs, next));
    if (ended) return;
    const following = { jobId, generation, attempt: attempt + 1 };
    if (next.notBeforeMs === undefined) return await ports.queues.sendPoll(following, next.delaySeconds);
    await sendOn(following, next.notBeforeMs, ports.now().getTime(), ports);
  } catch (error) {
    await settleFailure(error, {
      store: ports.store,
      jobId,
      step: 'Polling the Databricks run',
      isLastAttempt: record.isLastAttempt,
      now: ports.now(),
    });
  }
}

/**
 * How old the heartbeat may be before an unchanged poll writes it: HEARTBEAT_SECONDS, less what a paced wait adds
 * beyond the longest scheduled one. So a healthy job's heartbeat is never older than HEARTBEAT_SECONDS plus the
 * longest wait (the bound STALE_AFTER_SECONDS is checked against) or one paced wait, which pacing keeps within
 * STALE_AFTER_SECONDS (shared/jobs/workspace-pacing.ts, pacingSettingsOf).
 */
function heartbeatMaxAgeSeconds(ports: PollPorts, nowMs: number, next: NextPoll): number {
  const { HEARTBEAT_SECONDS, POLL_INTERVAL_MAX_SECONDS } = ports.config;
  const waitSeconds = next.notBeforeMs === undefined ? next.delaySeconds : (next.notBeforeMs - nowMs) / 1000;
  return Math.max(0, HEARTBEAT_SECONDS - Math.max(0, waitSeconds - POLL_INTERVAL_MAX_SECONDS));
}

/** Sends the poll on, unchanged but for what the caller set, to arrive at `untilMs` (or SQS's longest delay). */
function sendOn(message: PollMessage, untilMs: number, nowMs: number, ports: PollPorts): Promise<void> {
  return ports.queues.sendPoll({ ...message, notBefore: untilMs }, sqsDelaySeconds(nowMs, untilMs));
}

/**
 * The job's pacing slot, or undefined when its workspace is not paced. A list that cannot be read leaves this poll
 * unpaced rather than failing it: pacing protects the workspace, it must not stop the job.
 */
async function workspaceSlot(job: Job, ports: PollPorts, record: RecordContext): Promise<JobSlot | undefined> {
  const settings = pacingSettingsOf(ports.config);
  if (!settings || !ports.liveJobs) return undefined;
  try {
    const position = await ports.liveJobs.position(job.databricksHost, job.jobId);
    return position && placeJob(position, settings);
  } catch (error) {
    record.log.warn("Could not read the workspace's live jobs; polling unpaced", { error: describeError(error) });
    return undefined;
  }
}

/** Returns true when the job has ended (or this chain was retired meanwhile) and no further poll is due. */
async function pollRun(
  job: Job,
  runId: number,
  ports: PollPorts,
  record: RecordContext,
  heartbeatMaxAge: number,
): Promise<boolean> {
  const client = ports.databricks(job.databricksHost, ports.auth(job));
  const run = await client.getRun(runId);
  const observed = await withFailureDetail(observe(run, job.databricksHost, record), run, job, client, record);
  let cancelSentAt: string | undefined;
  if (job.cancelRequested && job.cancelSentAt === undefined && !isTerminalPhase(observed.phase)) {
    await client.cancelRun(runId);
    cancelSentAt = ports.now().toISOString();
  }
  // When this poll's write ended the job (the last decision is the one written).
  let endedAt: Date | undefined;
  const saved = await mutateJob(
    ports.store,
    job.jobId,
    (current) => {
      endedAt = undefined;
      if (current.pollGeneration !== job.pollGeneration || isTerminalPhase(current.phase)) return undefined;
      const now = ports.now();
      const patch = changes(current, withCancel(observed, current.cancelRequested), cancelSentAt, now);
      if (patch?.phase !== undefined && isTerminalPhase(patch.phase)) endedAt = now;
      return withHeartbeat(current, patch, now, heartbeatMaxAge);
    },
    job,
  );
  if (endedAt) recordDetectionLag(run.end_time, endedAt);
  return saved.pollGeneration !== job.pollGeneration || isTerminalPhase(saved.phase);
}

interface Observation {
  phase: Phase;
  lifeCycleState?: string | undefined;
  resultState?: string | undefined;
  message: string;
  runPageUrl?: string | undefined;
}

function observe(run: DatabricksRun, workspaceOrigin: string, record: RecordContext): Observation {
  const mapped = mapRunState(run);
  // Shown to Flyte users as a log link: only a link back to the job's own workspace is kept.
  const runPageUrl = safeRunPageUrl(run.run_page_url, workspaceOrigin);
  if (runPageUrl === undefined && run.run_page_url) {
    record.log.warn("Databricks reported a run page URL that is no link into the job's workspace; not recording it", {
      runPageUrl: String(run.run_page_url).slice(0, 200),
    });
  }
  if (mapped.unknown) {
    record.log.warn('Databricks reported a run state this release does not know', {
      lifeCycleState: mapped.lifeCycleState,
      resultState: mapped.resultState,
      assumedPhase: mapped.phase,
    });
  }
  return {
    phase: mapped.phase,
    lifeCycleState: mapped.lifeCycleState,
    resultState: mapped.resultState,
    // Databricks often leaves state_message empty (on success, notably); say where the run is instead.
    message: mapped.message || describeState(mapped.lifeCycleState, mapped.resultState),
    runPageUrl,
  };
}

/**
 * A run seen failed for the first time: its failed task's error and trace (runs/get-output) join the message. A
 * diagnostic must never hold the job up: whatever stops it (an error, the budget deferring the call) leaves the
 * message as Databricks' state gave it.
 */
async function withFailureDetail(
  seen: Observation,
  run: DatabricksRun,
  job: Job,
  client: DatabricksJobs,
  record: RecordContext,
): Promise<Observation> {
  if ((seen.phase !== 'FAILED' && seen.phase !== 'RETRYABLE_FAILED') || isTerminalPhase(job.phase)) return seen;
  const taskRunId = failedTaskRunId(run);
  if (taskRunId === undefined) return seen;
  try {
    const detail = failureDetail(await client.getRunOutput(taskRunId));
    return detail === undefined ? seen : { ...seen, message: `${seen.message}\n${detail}` };
  } catch (error) {
    record.log.warn("Could not read the failed task's output; the job's message keeps the run's state", {
      error: describeError(error),
    });
    return seen;
  }
}

function describeState(lifeCycleState: string | undefined, resultState: string | undefined): string {
  const state = [lifeCycleState, resultState].filter(Boolean).join(' ');
  return state ? `Databricks run ${state}` : 'Databricks reported no state for the run';
}

/** A run that ended CANCELED after the job asked for it is ABORTED, as Flyte names an aborted task. */
function withCancel(seen: Observation, cancelRequested: boolean): Observation {
  const canceled = seen.resultState === 'CANCELED' || seen.resultState === 'USER_CANCELED';
  return cancelRequested && canceled && isTerminalPhase(seen.phase) ? { ...seen, phase: 'ABORTED' } : seen;
}

function changes(job: Job, seen: Observation, cancelSentAt: string | undefined, now: Date): JobPatch | undefined {
  const patch: JobPatch = {};
  if (seen.phase !== job.phase) patch.phase = seen.phase;
  if (seen.message !== job.message) patch.message = seen.message;
  if (seen.lifeCycleState !== job.lifeCycleState) patch.lifeCycleState = seen.lifeCycleState;
  if (seen.resultState !== job.resultState) patch.resultState = seen.resultState;
  if (seen.runPageUrl && seen.runPageUrl !== job.runPageUrl) patch.runPageUrl = seen.runPageUrl;
  if (cancelSentAt) patch.cancelSentAt = cancelSentAt;
  if (isTerminalPhase(seen.phase)) patch.finishedAt = now.toISOString();
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/**
 * The heartbeat rides along with any write that keeps the job live (the store drops the job from the liveness index
 * when it ends); a poll that changes nothing writes it alone, and only once it is `maxAgeSeconds` old.
 */
function withHeartbeat(job: Job, patch: JobPatch | undefined, now: Date, maxAgeSeconds: number): JobPatch | undefined {
  if (patch?.phase !== undefined && isTerminalPhase(patch.phase)) return patch;
  if (patch) return { ...patch, ...heartbeat(job, now) };
  // A job from a release without the workspace index gets its keys once, so that pacing can count it.
  return heartbeatOlderThan(job, maxAgeSeconds, now) || missingLiveKeys(job) ? heartbeat(job, now) : undefined;
}
