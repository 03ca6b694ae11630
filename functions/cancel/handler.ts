/** Cancel queue consumer: asks Databricks to cancel the job's run (see cancel-run.ts). */
import { cancelMessageSchema } from '../../shared/jobs/messages.js';
import { jobPorts } from '../job-ports.js';
import { sqsBatchHandler } from '../sqs-batch.js';
import { cancelRun } from './cancel-run.js';

export const handler = sqsBatchHandler({
  schemaFor: () => cancelMessageSchema,
  maxReceiveCount: () => jobPorts().config.MAX_RECEIVE_COUNT,
  process: (message, record) => cancelRun(message.jobId, jobPorts(), record),
  defer: (message, delaySeconds) => jobPorts().queues.sendCancel(message, delaySeconds),
});
