/**
 * The ports every handler works through, wired to the real adapters once per container: the DynamoDB job store
 * and the SQS queues. Use cases take these as arguments, so tests can hand them the same adapters pointed at the
 * local stack. The Databricks side (auth strategies, Jobs API client) is in job-ports.ts, which the API function
 * does not load.
 */
import { dynamoDbClient, sqsClient } from '../shared/aws/clients.js';
import { type Config, config } from '../shared/config.js';
import { type JobQueues, SqsJobQueues } from '../shared/jobs/job-queues.js';
import { DynamoDbJobStore, type JobStore } from '../shared/jobs/job-store.js';

export interface Ports {
  config: Config;
  store: JobStore;
  queues: JobQueues;
  now(): Date;
}

export function createPorts(cfg: Config): Ports {
  return {
    config: cfg,
    store: new DynamoDbJobStore(dynamoDbClient(), cfg.JOBS_TABLE_NAME),
    queues: new SqsJobQueues(sqsClient(), {
      submit: cfg.SUBMIT_QUEUE_URL,
      poll: cfg.POLL_QUEUE_URL,
      cancel: cfg.CANCEL_QUEUE_URL,
    }),
    now: () => new Date(),
  };
}

let cached: Ports | undefined;

/** The container's ports, built on first use (after the runtime has set the environment). */
export function ports(): Ports {
  cached ??= createPorts(config());
  return cached;
}
