/** Cancel queue consumer: asks Databricks to cancel the job's run (see cancel-run.ts). */
import { cancelMessageSchema } from '../../shared/jobs/messages.js';
import { ports } from '../ports.js';
import { sqsBatchHandler } from '../sqs-batch.js';
import { cancelRun } from './cancel-run.js';

export const handler = sqsBatchHandler({
  schemaFor: () => cancelMessageSchema,
  maxReceiveCount: () => ports().config.MAX_RECEIVE_COUNT,
  process: (message, record) => cancelRun(message.jobId, ports(), record),
});
