/**
 * Submit queue consumer. A message names a job the API created, or is itself a job request from a producer; the
 * latter is accepted exactly as POST /v1/jobs would accept it, so both end in the same job, and under the same
 * CALLER_NAMESPACES rules: the producer is the principal SQS names as the message's SenderId (the queue's policy
 * lets only named producers send at all). A request its sender may not make is refused and, once its receives are
 * spent, lands in the DLQ with the reason logged; nothing is stored.
 */
import { principalMayUse } from '../../shared/caller-namespaces.js';
import { acceptJob } from '../../shared/jobs/accept-job.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { submitMessageSchemaFor } from '../../shared/jobs/messages.js';
import { jobPorts } from '../job-ports.js';
import { BadMessageError, sqsBatchHandler } from '../sqs-batch.js';
import { submitJob } from './submit-job.js';

export const handler = sqsBatchHandler({
  schemaFor: submitMessageSchemaFor,
  maxReceiveCount: () => jobPorts().config.MAX_RECEIVE_COUNT,
  async process(message, record) {
    const p = jobPorts();
    if ('jobId' in message) return submitJob(message.jobId, p, record);
    if (!principalMayUse({ id: record.senderId }, message.namespace, p.config)) {
      throw new BadMessageError(
        `Sender ${record.senderId ?? '(unknown)'} may not use namespace '${message.namespace}' (CALLER_NAMESPACES)`,
      );
    }
    const { job, created } = await acceptJob(message, { store: p.store, config: p.config, now: p.now() });
    record.log.info(created ? 'Job created from a submit message' : 'Submit message for an existing job', {
      jobId: job.jobId,
    });
    await submitJob(job.jobId, p, record);
  },
  // Deferred after the job was stored: a request message comes back as the job's id.
  defer: (message, delaySeconds) =>
    jobPorts().queues.sendSubmit(
      'jobId' in message ? message : { jobId: jobIdFor(message.namespace, message.executionId) },
      delaySeconds,
    ),
});
