/**
 * Read-modify-write of a job under optimistic locking: read, decide, write if nobody wrote in between, else read
 * again and decide again. Handlers race (poll vs cancel request vs a redelivered submit); this is how they agree.
 * Every write of a job goes through here, so this is where a job's end is counted (JobsEnded): once, by the writer
 * whose write took it from a live phase to a terminal one.
 */
import { countJobEnded } from '../metrics/metrics.js';
import type { Job } from './job.js';
import { type JobPatch, type JobStore, JobVersionConflictError } from './job-store.js';
import { isTerminalPhase } from './phase.js';

export class JobNotFoundError extends Error {
  constructor(readonly jobId: string) {
    super(`Job ${jobId} does not exist`);
    this.name = 'JobNotFoundError';
  }
}

const MAX_ATTEMPTS = 5;

/**
 * `decide` returns the patch to apply to the job it is shown, or undefined to leave it as it is.
 * Returns the job as it ended up (updated or not). `read`, when given, is the job as the caller has just read it:
 * the first decision is made on it (saving a read on the hot path, a poll), and a conflict reads afresh.
 */
export async function mutateJob(
  store: JobStore,
  jobId: string,
  decide: (job: Job) => JobPatch | undefined,
  read?: Job,
): Promise<Job> {
  for (let attempt = 1; ; attempt++) {
    const job = attempt === 1 && read ? read : await store.get(jobId);
    if (!job) throw new JobNotFoundError(jobId);
    const patch = decide(job);
    if (!patch) return job;
    try {
      const saved = await store.update(jobId, job.version, patch);
      if (patch.phase !== undefined && isTerminalPhase(patch.phase) && !isTerminalPhase(job.phase)) {
        countJobEnded(patch.phase);
      }
      return saved;
    } catch (error) {
      if (!(error instanceof JobVersionConflictError) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}
