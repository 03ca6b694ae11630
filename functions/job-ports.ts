/**
 * The Databricks side of the ports, for the submit, poll and cancel functions: choosing and rebuilding auth
 * strategies (with their secret sources, STS and Kubernetes, each loaded only on first use) and the Jobs API client.
 */
import type { AuthContext } from '../shared/auth/auth-context.js';
import type { AuthStrategy } from '../shared/auth/auth-strategy.js';
import type { NamespaceSecrets } from '../shared/auth/namespace-secrets.js';
import { type AuthDeps, buildAuth, selectAuthContext } from '../shared/auth/resolve-auth.js';
import { SecretsManagerSecrets } from '../shared/auth/secrets-manager-secrets.js';
import { dynamoDbClient, secretsManagerClient, stsClient } from '../shared/aws/clients.js';
import { type Config, config } from '../shared/config.js';
import { DynamoDbCallLedger } from '../shared/databricks/dynamodb-call-ledger.js';
import { JobsClient } from '../shared/databricks/jobs-client.js';
import { InMemoryCallLedger, WorkspaceCallBudget } from '../shared/databricks/workspace-call-budget.js';
import {
  DEFAULT_WORKSPACE_HEALTH,
  type WorkspaceHealthSettings,
  workspaceHealth,
} from '../shared/databricks/workspace-health.js';
import { assertWorkspaceAllowed } from '../shared/databricks/workspace-policy.js';
import { AuthConfigError } from '../shared/errors.js';
import type { Job } from '../shared/jobs/job.js';
import type { Kubernetes } from '../shared/kube/create-kubernetes.js';
import { DeferredKubernetesSecrets } from '../shared/kube/deferred-kubernetes-secrets.js';
import { isKubernetesConfigured } from '../shared/kube/kubernetes-configured.js';
import { workspaceDimension } from '../shared/metrics/workspace-dimension.js';
import { createPorts, type Ports } from './ports.js';

/** The Jobs API calls the handlers make; JobsClient is the adapter. */
export type DatabricksJobs = Pick<JobsClient, 'submitRun' | 'getRun' | 'getRunOutput' | 'cancelRun'>;

export interface JobPorts extends Ports {
  /** Decides how a job authenticates (once, at submit): task setting, connector setting, or auto-detection. */
  selectAuth(job: Job): Promise<AuthContext>;
  /** Rebuilds the job's strategy from its stored auth context alone. */
  auth(job: Job): AuthStrategy;
  databricks(host: string, auth: AuthStrategy): DatabricksJobs;
}

/**
 * The workspaces' call budget every Databricks call of this container takes a slot in: one ledger item per
 * workspace in the budget table, shared by every container; none when the budget is off.
 */
function workspaceCallBudgetOf(cfg: Config): WorkspaceCallBudget | undefined {
  if (cfg.WORKSPACE_API_BUDGET_RPS <= 0) return undefined;
  const ledger = cfg.WORKSPACE_BUDGET_TABLE_NAME
    ? new DynamoDbCallLedger(dynamoDbClient(), cfg.WORKSPACE_BUDGET_TABLE_NAME)
    : new InMemoryCallLedger();
  return new WorkspaceCallBudget(ledger, {
    budgetRps: cfg.WORKSPACE_API_BUDGET_RPS,
    endpointRps: cfg.WORKSPACE_ENDPOINT_BUDGETS_RPS,
  });
}

/** How long this container leaves a failing workspace alone (shared/databricks/workspace-health.ts). */
export function workspaceHealthSettingsOf(cfg: Config): WorkspaceHealthSettings {
  return {
    ...DEFAULT_WORKSPACE_HEALTH,
    firstBackoffMs: cfg.WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS * 1000,
    maxBackoffMs: cfg.WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS * 1000,
  };
}

export function createJobPorts(cfg: Config): JobPorts {
  // The container's view of workspace health, which every Jobs API client and token endpoint below shares.
  workspaceHealth.configure(workspaceHealthSettingsOf(cfg));
  const secretsManager = new SecretsManagerSecrets(secretsManagerClient, {
    nameTemplate: cfg.SECRET_NAME_TEMPLATE,
    cacheMs: cfg.SECRET_CACHE_SECONDS * 1000,
  });
  // Loaded on first use only: the Kubernetes client is heavy and most jobs never need it.
  let kubernetes: Promise<Kubernetes | undefined> | undefined;
  const loadKubernetes = () => {
    if (kubernetes) return kubernetes;
    const loading = isKubernetesConfigured(cfg)
      ? import('../shared/kube/create-kubernetes.js').then(async (m) =>
          m.createKubernetes(await m.withClusterAccess(cfg)),
        )
      : Promise.resolve(undefined);
    // A failed (or deferred) cluster lookup is not kept: the next job of this container tries again.
    loading.catch(() => {
      if (kubernetes === loading) kubernetes = undefined;
    });
    kubernetes = loading;
    return loading;
  };
  const secrets: NamespaceSecrets =
    cfg.NAMESPACE_SECRET_SOURCE === 'kubernetes' ? new DeferredKubernetesSecrets(loadKubernetes) : secretsManager;
  const budget = workspaceCallBudgetOf(cfg);
  const authDeps: AuthDeps = {
    config: cfg,
    ...(budget ? { budget } : {}),
    secrets,
    secretsManager,
    kubernetes: loadKubernetes,
    sts: stsClient,
  };
  return {
    ...createPorts(cfg),
    selectAuth: (job) =>
      selectAuthContext(job.namespace, job.task, {
        config: cfg,
        secrets,
        secretSource: cfg.NAMESPACE_SECRET_SOURCE,
        discovery: async () => (await loadKubernetes())?.discovery,
      }),
    auth: (job) => {
      if (!job.auth) throw new AuthConfigError(`Job ${job.jobId} has no auth context yet; it was never submitted`);
      // Checked again at every rebuild: the operator may have narrowed the workspaces since the job was accepted.
      assertWorkspaceAllowed(job.databricksHost, job.namespace, cfg);
      return buildAuth(job.auth, job.databricksHost, authDeps);
    },
    databricks: (host, auth) => {
      return new JobsClient({
        host,
        auth,
        apiVersion: cfg.DATABRICKS_API_VERSION,
        allowInsecureHttp: cfg.ALLOW_INSECURE_LOOPBACK_DATABRICKS,
        budget,
        metricsWorkspace: workspaceDimension(host, cfg),
      });
    },
  };
}

let cached: JobPorts | undefined;

/** The container's job ports, built on first use (after the runtime has set the environment). */
export function jobPorts(): JobPorts {
  cached ??= createJobPorts(config());
  return cached;
}
