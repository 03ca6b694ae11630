/**
 * The ports every handler works through, wired to the real adapters once per container: the DynamoDB job store,
 * the SQS queues, the secret sources behind the auth strategies, and the Databricks Jobs API client.
 * Use cases take these as arguments, so tests can hand them the same adapters pointed at the local stack.
 */

import type { AuthContext } from '../shared/auth/auth-context.js';
import type { AuthStrategy } from '../shared/auth/auth-strategy.js';
import { type AuthDeps, buildAuth } from '../shared/auth/resolve-auth.js';
import { SecretsManagerSecrets } from '../shared/auth/secrets-manager-secrets.js';
import { dynamoDbClient, secretsManagerClient, sqsClient } from '../shared/aws/clients.js';
import { type Config, config } from '../shared/config.js';
import { assertAllowedWorkspace } from '../shared/databricks/allowed-hosts.js';
import { JobsClient } from '../shared/databricks/jobs-client.js';
import { type JobQueues, SqsJobQueues } from '../shared/jobs/job-queues.js';
import { DynamoDbJobStore, type JobStore } from '../shared/jobs/job-store.js';

/** The Jobs API calls the handlers make; JobsClient is the adapter. */
export type DatabricksJobs = Pick<JobsClient, 'submitRun' | 'getRun' | 'cancelRun'>;

export interface Ports {
  config: Config;
  store: JobStore;
  queues: JobQueues;
  auth(context: AuthContext): AuthStrategy;
  databricks(host: string, auth: AuthStrategy): DatabricksJobs;
  now(): Date;
}

export function createPorts(cfg: Config): Ports {
  const secretsManager = new SecretsManagerSecrets(secretsManagerClient(), {
    nameTemplate: cfg.SECRET_NAME_TEMPLATE,
    cacheMs: cfg.SECRET_CACHE_SECONDS * 1000,
  });
  const authDeps: AuthDeps = { config: cfg, secrets: secretsManager, secretsManager };
  return {
    config: cfg,
    store: new DynamoDbJobStore(dynamoDbClient(), cfg.JOBS_TABLE_NAME),
    queues: new SqsJobQueues(sqsClient(), {
      submit: cfg.SUBMIT_QUEUE_URL,
      poll: cfg.POLL_QUEUE_URL,
      cancel: cfg.CANCEL_QUEUE_URL,
    }),
    auth: (context) => buildAuth(context, authDeps),
    databricks: (host, auth) => {
      // Checked again at call time: the allowlist may have shrunk since the job was accepted.
      assertAllowedWorkspace(host, cfg.ALLOWED_DATABRICKS_HOSTS);
      return new JobsClient({
        host,
        auth,
        apiVersion: cfg.DATABRICKS_API_VERSION,
        allowInsecureHttp: cfg.ALLOW_INSECURE_LOOPBACK_DATABRICKS,
      });
    },
    now: () => new Date(),
  };
}

let cached: Ports | undefined;

/** The container's ports, built on first use (after the runtime has set the environment). */
export function ports(): Ports {
  cached ??= createPorts(config());
  return cached;
}
