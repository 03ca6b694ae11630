/**
 * The sweeper, run on a schedule (an EventBridge rule every 5 minutes): finds live jobs whose heartbeat is too old
 * and rescues or ends them (see sweep-jobs.ts). Returns the summary; fails the invocation when a rescue failed, so
 * the function's Errors alarm says so (the next run tries again).
 */
import type { ScheduledEvent } from 'aws-lambda';
import { logger } from '../../shared/logger.js';
import { lambdaHandler } from '../lambda-handler.js';
import { ports } from '../ports.js';
import { type SweepSummary, sweepJobs } from './sweep-jobs.js';

export class SweepIncompleteError extends Error {
  constructor(readonly summary: SweepSummary) {
    super(`${summary.errors} of ${summary.examined} stale jobs could not be rescued; see the log for each`);
    this.name = 'SweepIncompleteError';
  }
}

export const handler = lambdaHandler<ScheduledEvent, SweepSummary>().handler(async () => {
  const summary = await sweepJobs(ports(), logger);
  if (summary.errors > 0) throw new SweepIncompleteError(summary);
  return summary;
});
