/**
 * One poll of a job's Databricks run: rebuild the auth strategy from the job's stored context (so long runs keep
 * getting fresh tokens), read the run, record what changed, and schedule the next poll unless the run has ended.
 * An unchanged poll writes nothing to the table, except the job's heartbeat once it is HEARTBEAT_SECONDS old (the
 * sweeper's sign of life, shared/jobs/liveness.ts). A DELETE that came in before the run existed is acted on here.
 */
import type { DatabricksRun } from '../../shared/databricks/types.js';
import type { Job } from '../../shared/jobs/job.js';
import type { JobPatch } from '../../shared/jobs/job-store.js';
import { heartbeat, heartbeatOlderThan, missingLiveKeys } from '../../shared/jobs/liveness.js';
import type { PollMessage } from '../../shared/jobs/messages.js';
import { mutateJob } from '../../shared/jobs/mutate-job.js';
import { isTerminalPhase, type Phase } from '../../shared/jobs/phase.js';
import { pollDelaySeconds, pollScheduleOf, runElapsedSeconds } from '../../shared/jobs/poll-schedule.js';
import { mapRunState } from '../../shared/jobs/run-state-mapping.js';
import { settleFailure } from '../job-failure.js';
import type { JobPorts } from '../job-ports.js';
import type { RecordContext } from '../sqs-batch.js';

export async function pollJob(message: PollMessage, ports: JobPorts, record: RecordContext): Promise<void> {
  const { jobId, generation } = message;
  const attempt = message.attempt ?? 0;
  const job = await ports.store.get(jobId);
  if (!job) return record.log.warn('Poll message names no job; dropping it');
  if (job.pollGeneration !== generation) {
    return record.log.info('Stale poll chain; dropping it', { generation, current: job.pollGeneration });
  }
  if (isTerminalPhase(job.phase)) return;
  if (job.runId === undefined) return record.log.warn('Poll for a job without a run; dropping it');
  try {
    const ended = await pollRun(job, job.runId, ports, record);
    if (ended) return;
    const schedule = pollScheduleOf(ports.config);
    const wait = pollDelaySeconds(runElapsedSeconds(job, attempt + 1, ports.now(), schedule), schedule);
    await ports.queues.sendPoll({ jobId, generation, attempt: attempt + 1 }, wait);
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

/** Returns true when the job has ended (or this chain was retired meanwhile) and no further poll is due. */
async function pollRun(job: Job, runId: number, ports: JobPorts, record: RecordContext): Promise<boolean> {
  const client = ports.databricks(job.databricksHost, ports.auth(job));
  const run = await client.getRun(runId);
  const observed = observe(run, record);
  let cancelSentAt: string | undefined;
  if (job.cancelRequested && job.cancelSentAt === undefined && !isTerminalPhase(observed.phase)) {
    await client.cancelRun(runId);
    cancelSentAt = ports.now().toISOString();
  }
  const saved = await mutateJob(
    ports.store,
    job.jobId,
    (current) => {
      if (current.pollGeneration !== job.pollGeneration || isTerminalPhase(current.phase)) return undefined;
      const now = ports.now();
      const patch = changes(current, withCancel(observed, current.cancelRequested), cancelSentAt, now);
      return withHeartbeat(current, patch, now, ports.config.HEARTBEAT_SECONDS);
    },
    job,
  );
  return saved.pollGeneration !== job.pollGeneration || isTerminalPhase(saved.phase);
}

interface Observation {
  phase: Phase;
  lifeCycleState?: string | undefined;
  resultState?: string | undefined;
  message: string;
  runPageUrl?: string | undefined;
}

function observe(run: DatabricksRun, record: RecordContext): Observation {
  const mapped = mapRunState(run);
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
    runPageUrl: run.run_page_url,
  };
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
