/** Poll queue consumer: one poll of one job per record (see poll-job.ts). */
import { pollMessageSchema } from '../../shared/jobs/messages.js';
import { jobPorts } from '../job-ports.js';
import { sqsBatchHandler } from '../sqs-batch.js';
import { pollJob } from './poll-job.js';

export const handler = sqsBatchHandler({
  schemaFor: () => pollMessageSchema,
  maxReceiveCount: () => jobPorts().config.MAX_RECEIVE_COUNT,
  process: (message, record) => pollJob(message, jobPorts(), record),
});
