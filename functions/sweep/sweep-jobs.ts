/**
 * The sweeper: no job is lost. A job's progress lives in SQS messages (its submit message, then its poll chain); if
 * one is lost (a purged queue, a message that died in a DLQ without its job being ended, a failed SendMessage), the
 * job would wait forever. Every live job carries a heartbeat (shared/jobs/liveness.ts) refreshed by its poll chain
 * at least every HEARTBEAT_SECONDS; this finds live jobs whose heartbeat is older than STALE_AFTER_SECONDS and
 * rescues each: a job without a run gets its submit message again (the job id is the run's idempotency token, so a
 * run is never created twice), a job with a run gets a new poll chain (the generation bump retires any old chain
 * that is still alive after all). Found stale again after MAX_RESCUES rescues, the job ends RETRYABLE_FAILED with
 * the reason. Each rescue is claimed with a version-guarded write that counts it and refreshes the heartbeat before
 * anything is sent, so two sweeps racing on one job rescue it once: the loser re-reads a live job and leaves it.
 * A job whose claim DynamoDB refuses because the item is over its size limit can never be rescued: it is ended
 * FAILED with the reason (dropping its task and container if need be), so it leaves the liveness index instead of
 * taking a place in every sweep. One job's failure never stops the sweep.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Job } from '../../shared/jobs/job.js';
import { JobItemRejectedError, type JobPatch } from '../../shared/jobs/job-store.js';
import { heartbeat, liveShards } from '../../shared/jobs/liveness.js';
import { mutateJob } from '../../shared/jobs/mutate-job.js';
import { isTerminalPhase } from '../../shared/jobs/phase.js';
import { countSweeperGiveUp, countSweeperRescue } from '../../shared/metrics/metrics.js';
import { annotateJob, inSubsegment } from '../../shared/tracing/tracing.js';
import { describeError, failJob } from '../job-failure.js';
import { startPollChain } from '../poll/start-poll-chain.js';
import type { Ports } from '../ports.js';

/** What a rescue did: re-sent the submit message, restarted the poll chain, or gave up on the job. */
export type RescueAction = 'resubmitted' | 'restarted' | 'failed';

export interface SweepSummary {
  /** Stale entries the liveness index returned. */
  examined: number;
  resubmitted: number;
  restarted: number;
  failed: number;
  /** Stale in the index but alive (or ended) when read: left alone. */
  skipped: number;
  /** Jobs whose item is too large for DynamoDB to take the rescue: ended FAILED with the reason. */
  oversized: number;
  /** Jobs whose rescue failed; the next sweep tries again. */
  errors: number;
}

interface Rescue {
  action: RescueAction;
  /** The heartbeat the job was found with. */
  lastSeen: string;
  /** Rescues counted so far, this one included. */
  rescues: number;
}

/** A sweep that found nothing. */
export function emptySweepSummary(): SweepSummary {
  return { examined: 0, resubmitted: 0, restarted: 0, failed: 0, skipped: 0, oversized: 0, errors: 0 };
}

export async function sweepJobs(ports: Ports, log: Logger): Promise<SweepSummary> {
  const now = ports.now();
  const { STALE_AFTER_SECONDS, SWEEP_MAX_JOBS } = ports.config;
  const cutoff = new Date(now.getTime() - STALE_AFTER_SECONDS * 1000).toISOString();
  const shards = liveShards();
  const perShard = Math.ceil(SWEEP_MAX_JOBS / shards.length);
  const summary = emptySweepSummary();
  await Promise.all(
    shards.map(async (shard) => {
      const stale = await ports.store.listStale(shard, cutoff, perShard);
      for (const { jobId } of stale) {
        summary.examined++;
        try {
          const rescue = await inSubsegment('### stale job', () => rescueJob(ports, jobId, cutoff, now));
          if (!rescue) {
            summary.skipped++;
            continue;
          }
          summary[rescue.action]++;
          if (rescue.action === 'failed') countSweeperGiveUp();
          else countSweeperRescue();
          const ageSeconds = Math.round((now.getTime() - Date.parse(rescue.lastSeen)) / 1000);
          log.warn(rescue.action === 'failed' ? 'Stale job given up' : 'Stale job rescued', {
            jobId,
            action: rescue.action,
            ageSeconds,
            lastSeen: rescue.lastSeen,
            rescues: rescue.rescues,
          });
        } catch (error) {
          if (await endOversized(ports, jobId, error, now, log)) {
            summary.oversized++;
            continue;
          }
          summary.errors++;
          log.error('Rescuing a stale job failed; the next sweep tries again', {
            jobId,
            error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
          });
        }
      }
    }),
  );
  log.info('Sweep done', { ...summary, staleBefore: cutoff });
  return summary;
}

/**
 * Ends a job whose rescue failed because its item is over DynamoDB's size limit; true when it did. Another failure,
 * this one's own included, is left to the caller's count of errors.
 */
async function endOversized(ports: Ports, jobId: string, error: unknown, now: Date, log: Logger): Promise<boolean> {
  if (!(error instanceof JobItemRejectedError && error.tooLarge)) return false;
  try {
    await failJob(ports.store, jobId, 'FAILED', `The job could not be kept alive: ${describeError(error)}`, now);
  } catch (failure) {
    log.error('Ending an oversized stale job failed', {
      jobId,
      error: failure instanceof Error ? { name: failure.name, message: failure.message } : String(failure),
    });
    return false;
  }
  log.warn('Stale job ended: its item is over the DynamoDB size limit', { jobId, action: 'failed' });
  return true;
}

/** Claims and performs the rescue of one job; undefined when the job, read again, needs none. */
async function rescueJob(ports: Ports, jobId: string, cutoff: string, now: Date): Promise<Rescue | undefined> {
  annotateJob({ jobId });
  let rescue: Rescue | undefined;
  await mutateJob(ports.store, jobId, (job) => {
    rescue = undefined;
    // Ended without leaving the index (a release without liveness ended it): take it out.
    if (isTerminalPhase(job.phase)) {
      return job.liveShard === undefined && job.liveHost === undefined
        ? undefined
        : { liveShard: null, liveHost: null };
    }
    // Alive since the index was read (or a concurrent sweep rescued it first).
    if (job.heartbeatAt !== undefined && job.heartbeatAt >= cutoff) return undefined;
    const decided = decide(job, ports.config.MAX_RESCUES, now);
    rescue = decided.rescue;
    return decided.patch;
  });
  // The claim is written: only this sweep sends. If it dies before sending, the job goes stale again and is rescued.
  if (rescue?.action === 'resubmitted') await ports.queues.sendSubmit({ jobId });
  if (rescue?.action === 'restarted') await startPollChain(ports, jobId);
  return rescue;
}

function decide(job: Job, maxRescues: number, now: Date): { rescue: Rescue; patch: JobPatch } {
  const lastSeen = job.heartbeatAt ?? job.updatedAt;
  const rescues = job.rescues ?? 0;
  if (rescues >= maxRescues) {
    const lost = job.runId === undefined ? 'Submit message' : 'Poll chain';
    return {
      rescue: { action: 'failed', lastSeen, rescues },
      patch: {
        phase: 'RETRYABLE_FAILED',
        message: `${lost} lost ${rescues + 1} time${rescues === 0 ? '' : 's'}; last seen ${lastSeen}`,
        finishedAt: now.toISOString(),
      },
    };
  }
  return {
    rescue: { action: job.runId === undefined ? 'resubmitted' : 'restarted', lastSeen, rescues: rescues + 1 },
    patch: { rescues: rescues + 1, ...heartbeat(job, now) },
  };
}
