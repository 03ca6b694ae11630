/**
 * The functions' environment, named exactly as shared/config.ts parses it, and the one place that decides which
 * function gets what. Every function gets the table, the three queue URLs (the handlers' config requires them
 * whichever they send to; a URL grants nothing, IAM does), the default workspace, the log settings and the
 * Powertools metrics and tracer settings (POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_TRACE_ENABLED from context
 * `tracing`, POWERTOOLS_TRACER_CAPTURE_RESPONSE always false: handler responses carry namespaces). Then:
 *
 * | variables                                                          | api | submit | poll | cancel | sweep |
 * |--------------------------------------------------------------------|-----|--------|------|--------|-------|
 * | CALLER_NAMESPACES, INSECURE_ANY_CALLER_ANY_NAMESPACE               |  x  |   x    |      |        |       |
 * | ALLOWED_DATABRICKS_HOSTS, INSECURE_ANY_DATABRICKS_HOST,             |  x  |   x    |  x   |   x    |       |
 * |   NAMESPACE_WORKSPACES, OIDC_TOKEN_FILE_DIRS                       |     |        |      |        |       |
 * | the auth settings, NAMESPACE_OIDC_CLIENT_IDS                       |     |   x    |  x   |   x    |       |
 * | WORKSPACE_BUDGET_TABLE_NAME, WORKSPACE_ENDPOINT_BUDGETS_RPS,       |     |   x    |  x   |   x    |       |
 * |   METRICS_WORKSPACE_DIMENSION,                                     |     |        |      |        |       |
 * |   WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS,                       |     |        |      |        |       |
 * |   WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS                          |     |        |      |        |       |
 *
 * The API function checks callers, workspaces and token files when it accepts a job and never reads a credential;
 * submit checks a direct queue submission's sender against CALLER_NAMESPACES and everything again before it
 * authenticates; poll and cancel check the workspace at every rebuild; the sweeper calls no workspace at all.
 * Never here: FLYTE_DATABRICKS_ACCESS_TOKEN and DATABRICKS_CLIENT_SECRET (plaintext secrets; the stack passes
 * Secrets Manager ids instead) and ALLOW_INSECURE_LOOPBACK_DATABRICKS (the local stack's emulator only).
 */
import { Token } from 'aws-cdk-lib';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../shared/metrics/metric-catalog.js';
import type { FunctionName } from './bundling/function-bundle.js';
import { type ContextKey, type StackConfig, StackConfigError } from './stack-config.js';

/** POWERTOOLS_SERVICE_NAME: the logs' service and the metrics' `service` dimension, one value (the catalog's). */
export const SERVICE_NAME = METRICS_SERVICE;

/** Lambda's limit on a function's environment variables, all together, in bytes. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

export interface ResourceNames {
  tableName: string;
  /** The workspaces' call ledgers (infra/constructs/workspace-budget-table.ts). */
  budgetTableName: string;
  submitQueueUrl: string;
  pollQueueUrl: string;
  cancelQueueUrl: string;
}

/**
 * Which settings each function gets (the table above). `databricksAuth`: the function authenticates to and calls
 * Databricks, so it also gets the workspace budget table and METRICS_WORKSPACE_DIMENSION.
 */
export const ENVIRONMENT_SCOPES: Readonly<
  Record<FunctionName, { callers: boolean; workspaces: boolean; databricksAuth: boolean }>
> = {
  api: { callers: true, workspaces: true, databricksAuth: false },
  submit: { callers: true, workspaces: true, databricksAuth: true },
  poll: { callers: false, workspaces: true, databricksAuth: true },
  cancel: { callers: false, workspaces: true, databricksAuth: true },
  sweep: { callers: false, workspaces: false, databricksAuth: false },
};

/** A setting the stack passes on only when set (unset: the variable is left out and the functions apply theirs). */
const optional = (value: number | undefined) => (value === undefined ? undefined : String(value));

/** The environment of one function. */
export function functionEnvironment(
  config: StackConfig,
  names: ResourceNames,
  fn: FunctionName,
): Record<string, string> {
  const scope = ENVIRONMENT_SCOPES[fn];
  const env: Record<string, string | undefined> = {
    JOBS_TABLE_NAME: names.tableName,
    SUBMIT_QUEUE_URL: names.submitQueueUrl,
    POLL_QUEUE_URL: names.pollQueueUrl,
    CANCEL_QUEUE_URL: names.cancelQueueUrl,
    FLYTE_DATABRICKS_INSTANCE: config.databricksInstance,
    ...(scope.callers ? callerEnvironment(config) : {}),
    ...(scope.workspaces ? workspaceEnvironment(config) : {}),
    POLL_INTERVAL_MIN_SECONDS: String(config.pollIntervalMinSeconds),
    POLL_INTERVAL_MAX_SECONDS: String(config.pollIntervalMaxSeconds),
    POLL_INTERVAL_FRACTION: String(config.pollIntervalFraction),
    // Every Databricks call takes a slot in its workspace's budget; the poll function also paces polls to fit it.
    WORKSPACE_API_BUDGET_RPS: String(config.workspaceApiBudgetRps),
    ...(scope.databricksAuth
      ? {
          WORKSPACE_BUDGET_TABLE_NAME: names.budgetTableName,
          WORKSPACE_ENDPOINT_BUDGETS_RPS: config.workspaceEndpointBudgetsRps,
          // WorkspaceCalls per workspace host: only the functions that call a workspace emit it.
          METRICS_WORKSPACE_DIMENSION: String(config.metricsWorkspaceDimension),
          // The workspace circuit breaker's backoffs: left out when unset, so the functions apply their defaults.
          WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: optional(config.workspaceUnhealthyFirstBackoffSeconds),
          WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: optional(config.workspaceUnhealthyMaxBackoffSeconds),
        }
      : {}),
    // Must equal the queues' redrive maxReceiveCount: both come from the one context value.
    MAX_RECEIVE_COUNT: String(config.maxReceiveCount),
    JOB_RETENTION_DAYS: String(config.jobRetentionDays),
    DATABRICKS_API_VERSION: config.databricksApiVersion,
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    // Lambda's own log level (applicationLogLevelV2, AWS_LAMBDA_LOG_LEVEL) wins; this keeps Powertools in step.
    POWERTOOLS_LOG_LEVEL: config.logLevel,
    // The metrics' CloudWatch namespace (shared/metrics/metric-catalog.ts), which the dashboard and alarms query.
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    // X-Ray through Powertools Tracer, in step with the functions' Tracing Active (context `tracing`).
    POWERTOOLS_TRACE_ENABLED: String(config.tracing),
    // Handler responses carry namespaces and job details: never copied into trace metadata.
    POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
    // sam local only: the SDK sends every AWS call here (LocalStack). Unset in real deployments.
    AWS_ENDPOINT_URL: config.localAwsEndpointUrl,
    ...(scope.databricksAuth ? databricksAuthEnvironment(config) : {}),
  };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** Who may use which namespace: the API (callers it verified) and submit (a direct submission's sender). */
function callerEnvironment(config: StackConfig): Record<string, string | undefined> {
  return {
    CALLER_NAMESPACES: config.callerNamespaces,
    INSECURE_ANY_CALLER_ANY_NAMESPACE: config.insecureAnyCallerAnyNamespace ? 'true' : undefined,
  };
}

/** Which workspaces jobs may use, per namespace, and where a task's OIDC token file may be read from. */
function workspaceEnvironment(config: StackConfig): Record<string, string | undefined> {
  return {
    ALLOWED_DATABRICKS_HOSTS:
      config.allowedDatabricksHosts.length > 0 ? config.allowedDatabricksHosts.join(',') : undefined,
    INSECURE_ANY_DATABRICKS_HOST: config.insecureAnyDatabricksHost ? 'true' : undefined,
    NAMESPACE_WORKSPACES: config.namespaceWorkspaces && JSON.stringify(config.namespaceWorkspaces),
    OIDC_TOKEN_FILE_DIRS: config.oidcTokenFileDirs.length > 0 ? config.oidcTokenFileDirs.join(',') : undefined,
  };
}

/**
 * How submit, poll and cancel authenticate to Databricks (shared/auth/README.md) and reach Kubernetes. Unset values
 * are left out, so the functions apply their own defaults (FLYTE_DATABRICKS_AUTH_TYPE unset: auto-detect).
 */
function databricksAuthEnvironment(config: StackConfig): Record<string, string | undefined> {
  return {
    FLYTE_DATABRICKS_AUTH_TYPE: config.databricksAuthType,
    // PAT: namespace secrets by template, then the connector-wide fallback (a Secrets Manager id, never the token).
    SECRET_NAME_TEMPLATE: config.secretNameTemplate,
    FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID: config.fallbackTokenSecretId,
    NAMESPACE_SECRET_SOURCE: config.namespaceSecretSource,
    SECRET_CACHE_SECONDS: optional(config.secretCacheSeconds),
    // OAuth M2M: the namespace's secret, else the connector's client id and its secret's Secrets Manager id.
    FLYTE_DATABRICKS_OAUTH_SECRET_NAME: config.oauthSecretName,
    DATABRICKS_CLIENT_ID: config.databricksClientId,
    DATABRICKS_CLIENT_SECRET_SECRET_ID: config.databricksClientSecretSecretId,
    // OIDC Model 1 (the connector's identity): a service principal per namespace instead of DATABRICKS_CLIENT_ID.
    NAMESPACE_OIDC_CLIENT_IDS: config.namespaceOidcClientIds && JSON.stringify(config.namespaceOidcClientIds),
    // OIDC: the audience (Model 1's STS token, Model 2's default), Model 1's subject token source and STS duration.
    FLYTE_DATABRICKS_OIDC_AUDIENCE: config.oidcAudience,
    OIDC_SUBJECT_TOKEN_SOURCE: config.oidcSubjectTokenSource,
    OIDC_STS_DURATION_SECONDS: optional(config.oidcStsDurationSeconds),
    // Kubernetes (Model 2, Kubernetes secrets): the EKS cluster name alone is enough (eks:DescribeCluster).
    EKS_CLUSTER_NAME: config.eksClusterName,
    KUBERNETES_API_URL: config.eksApiEndpoint,
    KUBERNETES_CA_DATA: config.eksCaData,
    KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS: optional(config.saTokenExpirationSeconds),
    NAMESPACE_DISCOVERY_CACHE_SECONDS: optional(config.namespaceDiscoveryCacheSeconds),
  };
}

/** The context key each configurable variable comes from, so a size error names what to change. */
const CONTEXT_KEY_OF: Readonly<Record<string, ContextKey>> = {
  FLYTE_DATABRICKS_INSTANCE: 'databricksInstance',
  CALLER_NAMESPACES: 'callerNamespaces',
  INSECURE_ANY_CALLER_ANY_NAMESPACE: 'insecureAnyCallerAnyNamespace',
  ALLOWED_DATABRICKS_HOSTS: 'allowedDatabricksHosts',
  INSECURE_ANY_DATABRICKS_HOST: 'insecureAnyDatabricksHost',
  NAMESPACE_WORKSPACES: 'namespaceWorkspaces',
  NAMESPACE_OIDC_CLIENT_IDS: 'namespaceOidcClientIds',
  OIDC_TOKEN_FILE_DIRS: 'oidcTokenFileDirs',
  AWS_ENDPOINT_URL: 'localAwsEndpointUrl',
  POWERTOOLS_TRACE_ENABLED: 'tracing',
  METRICS_WORKSPACE_DIMENSION: 'metricsWorkspaceDimension',
  SECRET_NAME_TEMPLATE: 'secretNameTemplate',
  FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID: 'fallbackTokenSecretId',
  FLYTE_DATABRICKS_OAUTH_SECRET_NAME: 'oauthSecretName',
  DATABRICKS_CLIENT_ID: 'databricksClientId',
  DATABRICKS_CLIENT_SECRET_SECRET_ID: 'databricksClientSecretSecretId',
  FLYTE_DATABRICKS_OIDC_AUDIENCE: 'oidcAudience',
  EKS_CLUSTER_NAME: 'eksClusterName',
  KUBERNETES_API_URL: 'eksApiEndpoint',
  KUBERNETES_CA_DATA: 'eksCaData',
};

/**
 * Upper bounds for values only known at deploy time (CloudFormation tokens at synth). Queue URLs are
 * `https://sqs.<region>.<domain>/<account>/<name>` with generated names of at most 80 characters; a table name is
 * at most 255. Any other token counts as 255.
 */
const DEPLOY_TIME_LENGTH_BOUNDS: Readonly<Record<string, number>> = {
  JOBS_TABLE_NAME: 255,
  WORKSPACE_BUDGET_TABLE_NAME: 255,
  SUBMIT_QUEUE_URL: 150,
  POLL_QUEUE_URL: 150,
  CANCEL_QUEUE_URL: 150,
};
const DEFAULT_DEPLOY_TIME_LENGTH_BOUND = 255;

/**
 * The size Lambda measures (the variables as a JSON object, in UTF-8 bytes), with each deploy-time value counted
 * at its upper bound.
 */
export function environmentSize(environment: Record<string, string>): number {
  const bounded = Object.fromEntries(
    Object.entries(environment).map(([name, value]) => [
      name,
      Token.isUnresolved(value)
        ? 'x'.repeat(DEPLOY_TIME_LENGTH_BOUNDS[name] ?? DEFAULT_DEPLOY_TIME_LENGTH_BOUND)
        : value,
    ]),
  );
  return Buffer.byteLength(JSON.stringify(bounded), 'utf8');
}

/**
 * Fails synth when a function's environment could exceed Lambda's 4 KB, which CloudFormation would otherwise only
 * report mid-deploy. Names `eksCaData` when it is set (the functions can read the CA with eks:DescribeCluster
 * instead), else the context key, or the variable, that takes the most room.
 */
export function assertEnvironmentFits(functionName: string, environment: Record<string, string>): void {
  const size = environmentSize(environment);
  if (size <= LAMBDA_ENVIRONMENT_LIMIT_BYTES) return;
  const over =
    `${functionName}'s environment would be up to ${size} bytes, over Lambda's 4 KB ` +
    `(${LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte) limit`;
  const bytes = (name: string) => Buffer.byteLength(environment[name] ?? '', 'utf8');
  if (environment.KUBERNETES_CA_DATA !== undefined) {
    throw new StackConfigError(
      'eksCaData',
      `is too large (${bytes('KUBERNETES_CA_DATA')} bytes): ${over}. Omit it (and eksApiEndpoint): with ` +
        'eksClusterName alone the functions read the API endpoint and CA with eks:DescribeCluster',
    );
  }
  const [largest = ''] = Object.keys(environment)
    .filter((name) => !Token.isUnresolved(environment[name]))
    .sort((a, b) => bytes(b) - bytes(a));
  const key = CONTEXT_KEY_OF[largest];
  const what = `${largest}, ${bytes(largest)} bytes, the largest variable`;
  if (key !== undefined) throw new StackConfigError(key, `is too large (${what}): ${over}. Shorten it`);
  throw new Error(`${over}; the largest variable is ${largest} (${bytes(largest)} bytes)`);
}
