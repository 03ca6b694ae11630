/**
 * Starts a job's poll chain: a new generation is recorded first, then its first message is sent. Any older chain
 * still in flight sees the generation moved on and stops, so a job is never polled by two chains at once. The same
 * write refreshes the job's heartbeat: a chain that starts is a sign of life.
 * The first poll waits as the schedule says for a run of the job's age (a chain the sweeper restarts keeps the
 * cadence the run has earned) and carries no pacing slot: a job that has just started is in no cached list of its
 * workspace's live jobs yet, and the poll function, which reads them, puts the poll in the job's slot on arrival.
 * So submit and sweep need no access to that index.
 */
import { heartbeat } from '../../shared/jobs/liveness.js';
import { mutateJob } from '../../shared/jobs/mutate-job.js';
import { isTerminalPhase } from '../../shared/jobs/phase.js';
import { pollDelaySeconds, pollScheduleOf, runElapsedSeconds } from '../../shared/jobs/poll-schedule.js';
import type { Ports } from '../ports.js';

export async function startPollChain(ports: Ports, jobId: string): Promise<void> {
  const job = await mutateJob(ports.store, jobId, (current) => ({
    pollGeneration: current.pollGeneration + 1,
    ...(isTerminalPhase(current.phase) ? {} : heartbeat(current, ports.now())),
  }));
  const schedule = pollScheduleOf(ports.config);
  const delay = pollDelaySeconds(runElapsedSeconds(job, 0, ports.now(), schedule), schedule);
  await ports.queues.sendPoll({ jobId, generation: job.pollGeneration, attempt: 0 }, delay);
}
