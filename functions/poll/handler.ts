/** Poll queue consumer: one poll of one job per record (see poll-job.ts). */
import { pollMessageSchema } from '../../shared/jobs/messages.js';
import { sqsBatchHandler } from '../sqs-batch.js';
import { pollJob } from './poll-job.js';
import { pollPorts } from './poll-ports.js';

export const handler = sqsBatchHandler({
  schemaFor: () => pollMessageSchema,
  maxReceiveCount: () => pollPorts().config.MAX_RECEIVE_COUNT,
  process: (message, record) => pollJob(message, pollPorts(), record),
  // The same poll again, later: its chain (generation) and place in the schedule are kept.
  defer: (message, delaySeconds) => pollPorts().queues.sendPoll(message, delaySeconds),
});
