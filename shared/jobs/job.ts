/**
 * The job record kept in DynamoDB: what was asked, where Databricks is with it, and how to authenticate again.
 * It never holds a token or a secret; `auth` names where credentials live, not what they are.
 */
import type { z } from 'zod';
import type { jobViewSchema } from '../api/schemas.js';
import type { AuthContext } from '../auth/auth-context.js';
import { safeRunPageUrl } from '../databricks/run-page-url.js';
import type { ContainerSpec } from '../databricks/types.js';
import { boundJobMessage } from './job-message.js';
import type { Phase } from './phase.js';
import type { TaskSpec } from './submit-request.js';

export interface Job {
  jobId: string;
  namespace: string;
  executionId: string;
  /** sha256 of the canonical request: a second POST with the same executionId but another body is a conflict. */
  requestHash: string;
  /** Removed, with `container`, only from a job ended because its item outgrew DynamoDB's limit (job-failure.ts). */
  task: TaskSpec;
  container: ContainerSpec;
  /** The workspace base URL the job talks to, resolved once at creation (task, then FLYTE_DATABRICKS_INSTANCE). */
  databricksHost: string;
  /** Chosen by the submit handler (task setting, connector setting, or auto-detection in the namespace). */
  auth?: AuthContext;
  phase: Phase;
  message: string;
  runId?: number;
  runPageUrl?: string;
  lifeCycleState?: string;
  resultState?: string;
  cancelRequested: boolean;
  cancelSentAt?: string;
  /** Names the live poll chain; a poll message of another generation is stale and dropped. */
  pollGeneration: number;
  /**
   * Liveness (shared/jobs/liveness.ts): the `byLiveness` index shard, set while the job has not ended and removed
   * when it ends, so only live jobs are in that sparse index.
   */
  liveShard?: string;
  /** The workspace (databricksHost) while the job is live, set and removed with liveShard: the `liveByWorkspace` index. */
  liveHost?: string;
  /** When the job was last seen alive (created, polled, rescued); refreshed at most every HEARTBEAT_SECONDS. */
  heartbeatAt?: string;
  /** How many times the sweeper found the job stale and rescued it (re-sent its submit, restarted its polls). */
  rescues?: number;
  /** Optimistic lock: every update is conditional on the version read, and bumps it. */
  version: number;
  createdAt: string;
  updatedAt: string;
  submittedAt?: string;
  finishedAt?: string;
  /** DynamoDB TTL, epoch seconds. */
  expiresAt: number;
}

/** The job as the API shows it (GET, POST and DELETE /v1/jobs); the schema is the OpenAPI document's `Job`. */
export type JobView = z.infer<typeof jobViewSchema>;

export function toJobView(job: Job): JobView {
  // Checked again where it is shown: an item written by an older release may hold any URL a workspace sent.
  const runPageUrl = safeRunPageUrl(job.runPageUrl, job.databricksHost);
  return {
    jobId: job.jobId,
    namespace: job.namespace,
    executionId: job.executionId,
    phase: job.phase,
    // Older releases stored messages unbounded: one redaction pass on every message shown.
    message: boundJobMessage(job.message),
    runId: job.runId ?? null,
    runPageUrl: runPageUrl ?? null,
    logLinks: runPageUrl ? [{ name: 'Databricks Console', uri: runPageUrl }] : [],
    databricks: {
      host: job.databricksHost,
      lifeCycleState: job.lifeCycleState ?? null,
      resultState: job.resultState ?? null,
    },
    auth: job.auth
      ? { authType: job.auth.authType, mode: job.auth.mode ?? job.auth.authType, reason: job.auth.reason ?? null }
      : null,
    cancelRequested: job.cancelRequested,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    submittedAt: job.submittedAt ?? null,
    finishedAt: job.finishedAt ?? null,
  };
}
