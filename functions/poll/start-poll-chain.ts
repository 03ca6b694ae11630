/**
 * Starts a job's poll chain: a new generation is recorded first, then its first message is sent. Any older chain
 * still in flight sees the generation moved on and stops, so a job is never polled by two chains at once. The same
 * write refreshes the job's heartbeat: a chain that starts is a sign of life.
 */
import { heartbeat } from '../../shared/jobs/liveness.js';
import { mutateJob } from '../../shared/jobs/mutate-job.js';
import { isTerminalPhase } from '../../shared/jobs/phase.js';
import { pollDelaySeconds } from '../../shared/jobs/poll-schedule.js';
import type { Ports } from '../ports.js';

export async function startPollChain(ports: Ports, jobId: string): Promise<void> {
  const job = await mutateJob(ports.store, jobId, (current) => ({
    pollGeneration: current.pollGeneration + 1,
    ...(isTerminalPhase(current.phase) ? {} : heartbeat(current, ports.now())),
  }));
  const { POLL_INTERVAL_MIN_SECONDS: min, POLL_INTERVAL_MAX_SECONDS: max } = ports.config;
  await ports.queues.sendPoll({ jobId, generation: job.pollGeneration, attempt: 0 }, pollDelaySeconds(0, min, max));
}
