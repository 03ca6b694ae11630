/**
 * Liveness of jobs that have not ended, so that a job whose messages were lost is noticed (functions/sweep). A live
 * job carries `liveShard` (one of a few partitions, chosen by hashing its id) and `heartbeatAt` (when it was last
 * seen alive); the sparse `byLiveness` index (liveShard, heartbeatAt) holds exactly the jobs with a `liveShard`, and
 * a job that ends has it removed (the store does so on every update that sets a terminal phase). The heartbeat is
 * amortised: it is written with writes that happen anyway, and a poll that changes nothing writes it only when it is
 * older than HEARTBEAT_SECONDS.
 * A live job also carries `liveHost`, its workspace, set and removed together with `liveShard`: the sparse
 * `liveByWorkspace` index (liveHost, jobId) lists each workspace's live jobs, which is how polls are paced
 * (shared/jobs/live-workspace-jobs.ts). A heartbeat changes neither key, so it costs that index no write.
 */
import { createHash } from 'node:crypto';

/** The global secondary index of live jobs (infra/constructs/jobs-table.ts): pk liveShard, sk heartbeatAt. */
export const LIVENESS_INDEX = 'byLiveness';

/** The global secondary index of each workspace's live jobs: pk liveHost, sk jobId, keys only. */
export const LIVE_BY_WORKSPACE_INDEX = 'liveByWorkspace';

/** Few shards: enough to spread a large backlog of live jobs over partitions, few enough to query them all. */
export const LIVENESS_SHARDS = 4;

export function liveShardFor(jobId: string): string {
  const digest = createHash('sha256').update(jobId).digest();
  return `live#${digest.readUInt32BE(0) % LIVENESS_SHARDS}`;
}

export function liveShards(): string[] {
  return Array.from({ length: LIVENESS_SHARDS }, (_, i) => `live#${i}`);
}

/** Whether the job's heartbeat is older than `maxAgeSeconds` at `now` (or missing: a job from an older release). */
export function heartbeatOlderThan(
  job: { heartbeatAt?: string | undefined },
  maxAgeSeconds: number,
  now: Date,
): boolean {
  if (job.heartbeatAt === undefined) return true;
  const at = Date.parse(job.heartbeatAt);
  return Number.isNaN(at) || now.getTime() - at >= maxAgeSeconds * 1000;
}

/**
 * What a write that sees the job alive adds: the heartbeat, and the shard and workspace keys when the job has none
 * yet (created by a release without them), which put it into the indexes.
 */
export function heartbeat(
  job: { jobId: string; databricksHost: string; liveShard?: string | undefined; liveHost?: string | undefined },
  now: Date,
) {
  return {
    heartbeatAt: now.toISOString(),
    ...(job.liveShard === undefined ? { liveShard: liveShardFor(job.jobId) } : {}),
    ...(job.liveHost === undefined ? { liveHost: job.databricksHost } : {}),
  };
}

/** Whether a live job lacks a key of the liveness indexes (it was created by an older release). */
export function missingLiveKeys(job: { liveShard?: string | undefined; liveHost?: string | undefined }): boolean {
  return job.liveShard === undefined || job.liveHost === undefined;
}
