/**
 * Submit queue consumer. A message names a job the API created, or is itself a job request from any producer;
 * the latter is accepted exactly as POST /v1/jobs would accept it, so both end in the same job.
 */
import { acceptJob } from '../../shared/jobs/accept-job.js';
import { submitMessageSchemaFor } from '../../shared/jobs/messages.js';
import { jobPorts } from '../job-ports.js';
import { sqsBatchHandler } from '../sqs-batch.js';
import { submitJob } from './submit-job.js';

export const handler = sqsBatchHandler({
  schemaFor: submitMessageSchemaFor,
  maxReceiveCount: () => jobPorts().config.MAX_RECEIVE_COUNT,
  async process(message, record) {
    const p = jobPorts();
    if ('jobId' in message) return submitJob(message.jobId, p, record);
    const { job, created } = await acceptJob(message, { store: p.store, config: p.config, now: p.now() });
    record.log.info(created ? 'Job created from a submit message' : 'Submit message for an existing job', {
      jobId: job.jobId,
    });
    await submitJob(job.jobId, p, record);
  },
});
