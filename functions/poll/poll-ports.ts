/**
 * The poll function's ports: the Databricks side (job-ports.ts) and, for pacing, where each job stands among its
 * workspace's live jobs (a keys-only Query of the `liveByWorkspace` index, cached in the container). Only this
 * function queries that index, so only it is granted the Query (infra/stack.ts).
 */
import { dynamoDbClient } from '../../shared/aws/clients.js';
import { DynamoDbJobStore } from '../../shared/jobs/job-store.js';
import { LiveWorkspaceJobs } from '../../shared/jobs/live-workspace-jobs.js';
import { pacingSettingsOf } from '../../shared/jobs/workspace-pacing.js';
import { type JobPorts, jobPorts } from '../job-ports.js';

export interface PollPorts extends JobPorts {
  /** The workspace's live jobs, for pacing; absent when pacing is off (WORKSPACE_API_BUDGET_RPS=0). */
  liveJobs?: Pick<LiveWorkspaceJobs, 'position'>;
}

export function createPollPorts(base: JobPorts): PollPorts {
  const settings = pacingSettingsOf(base.config);
  if (settings === undefined) return base;
  const index = new DynamoDbJobStore(dynamoDbClient(), base.config.JOBS_TABLE_NAME);
  return { ...base, liveJobs: new LiveWorkspaceJobs(index, settings, () => base.now().getTime()) };
}

let cached: PollPorts | undefined;

/** The container's poll ports, built on first use; the live-job lists live as long as the container. */
export function pollPorts(): PollPorts {
  cached ??= createPollPorts(jobPorts());
  return cached;
}
