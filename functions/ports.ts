/**
 * The ports every handler works through, wired to the real adapters once per container: the DynamoDB job store,
 * the SQS queues, the secret sources behind the auth strategies, and the Databricks Jobs API client.
 * Use cases take these as arguments, so tests can hand them the same adapters pointed at the local stack.
 */

import { STSClient } from '@aws-sdk/client-sts';
import type { AuthContext } from '../shared/auth/auth-context.js';
import type { AuthStrategy } from '../shared/auth/auth-strategy.js';
import type { NamespaceSecrets } from '../shared/auth/namespace-secrets.js';
import { type AuthDeps, buildAuth, selectAuthContext } from '../shared/auth/resolve-auth.js';
import { SecretsManagerSecrets } from '../shared/auth/secrets-manager-secrets.js';
import { dynamoDbClient, secretsManagerClient, sqsClient } from '../shared/aws/clients.js';
import { type Config, config } from '../shared/config.js';
import { assertAllowedWorkspace } from '../shared/databricks/allowed-hosts.js';
import { JobsClient } from '../shared/databricks/jobs-client.js';
import { AuthConfigError } from '../shared/errors.js';
import type { Job } from '../shared/jobs/job.js';
import { type JobQueues, SqsJobQueues } from '../shared/jobs/job-queues.js';
import { DynamoDbJobStore, type JobStore } from '../shared/jobs/job-store.js';
import type { Kubernetes } from '../shared/kube/create-kubernetes.js';
import { DeferredKubernetesSecrets } from '../shared/kube/deferred-kubernetes-secrets.js';
import { isKubernetesConfigured } from '../shared/kube/kubernetes-configured.js';

/** The Jobs API calls the handlers make; JobsClient is the adapter. */
export type DatabricksJobs = Pick<JobsClient, 'submitRun' | 'getRun' | 'cancelRun'>;

export interface Ports {
  config: Config;
  store: JobStore;
  queues: JobQueues;
  /** Decides how a job authenticates (once, at submit): task setting, connector setting, or auto-detection. */
  selectAuth(job: Job): Promise<AuthContext>;
  /** Rebuilds the job's strategy from its stored auth context alone. */
  auth(job: Job): AuthStrategy;
  databricks(host: string, auth: AuthStrategy): DatabricksJobs;
  now(): Date;
}

export function createPorts(cfg: Config): Ports {
  const secretsManager = new SecretsManagerSecrets(secretsManagerClient(), {
    nameTemplate: cfg.SECRET_NAME_TEMPLATE,
    cacheMs: cfg.SECRET_CACHE_SECONDS * 1000,
  });
  // Loaded on first use only: the Kubernetes client is heavy and most jobs never need it.
  let kubernetes: Promise<Kubernetes | undefined> | undefined;
  const loadKubernetes = () => {
    kubernetes ??= isKubernetesConfigured(cfg)
      ? import('../shared/kube/create-kubernetes.js').then((m) => m.createKubernetes(cfg))
      : Promise.resolve(undefined);
    return kubernetes;
  };
  const secrets: NamespaceSecrets =
    cfg.NAMESPACE_SECRET_SOURCE === 'kubernetes' ? new DeferredKubernetesSecrets(loadKubernetes) : secretsManager;
  let sts: STSClient | undefined;
  const authDeps: AuthDeps = {
    config: cfg,
    secrets,
    secretsManager,
    kubernetes: loadKubernetes,
    // Regional (AWS_REGION): GetWebIdentityToken is not served by the global endpoint.
    sts: () => {
      sts ??= new STSClient({});
      return sts;
    },
  };
  return {
    config: cfg,
    store: new DynamoDbJobStore(dynamoDbClient(), cfg.JOBS_TABLE_NAME),
    queues: new SqsJobQueues(sqsClient(), {
      submit: cfg.SUBMIT_QUEUE_URL,
      poll: cfg.POLL_QUEUE_URL,
      cancel: cfg.CANCEL_QUEUE_URL,
    }),
    selectAuth: (job) =>
      selectAuthContext(job.namespace, job.task, {
        config: cfg,
        secrets,
        secretSource: cfg.NAMESPACE_SECRET_SOURCE,
        discovery: async () => (await loadKubernetes())?.discovery,
      }),
    auth: (job) => {
      if (!job.auth) throw new AuthConfigError(`Job ${job.jobId} has no auth context yet; it was never submitted`);
      return buildAuth(job.auth, job.databricksHost, authDeps);
    },
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
