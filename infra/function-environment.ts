/**
 * The environment every function gets, named exactly as shared/config.ts parses it. All four functions share it:
 * the handlers' config requires the three queue URLs whichever they send to (a URL grants nothing; IAM does).
 * Never here: FLYTE_DATABRICKS_ACCESS_TOKEN (a plaintext secret; the stack passes the Secrets Manager id instead) and
 * ALLOW_INSECURE_LOOPBACK_DATABRICKS (the local stack's emulator only).
 */
import type { StackConfig } from './stack-config.js';

export const SERVICE_NAME = 'flyte-databricks-lambda';

export interface ResourceNames {
  tableName: string;
  submitQueueUrl: string;
  pollQueueUrl: string;
  cancelQueueUrl: string;
}

export function functionEnvironment(config: StackConfig, names: ResourceNames): Record<string, string> {
  const env: Record<string, string | undefined> = {
    JOBS_TABLE_NAME: names.tableName,
    SUBMIT_QUEUE_URL: names.submitQueueUrl,
    POLL_QUEUE_URL: names.pollQueueUrl,
    CANCEL_QUEUE_URL: names.cancelQueueUrl,
    FLYTE_DATABRICKS_INSTANCE: config.databricksInstance,
    FLYTE_DATABRICKS_AUTH_TYPE: config.databricksAuthType,
    FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID: config.fallbackTokenSecretId,
    ALLOWED_DATABRICKS_HOSTS:
      config.allowedDatabricksHosts.length > 0 ? config.allowedDatabricksHosts.join(',') : undefined,
    SECRET_NAME_TEMPLATE: config.secretNameTemplate,
    POLL_INTERVAL_MIN_SECONDS: String(config.pollIntervalMinSeconds),
    POLL_INTERVAL_MAX_SECONDS: String(config.pollIntervalMaxSeconds),
    // Must equal the queues' redrive maxReceiveCount: both come from the one context value.
    MAX_RECEIVE_COUNT: String(config.maxReceiveCount),
    JOB_RETENTION_DAYS: String(config.jobRetentionDays),
    DATABRICKS_API_VERSION: config.databricksApiVersion,
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    // Lambda's own log level (applicationLogLevelV2, AWS_LAMBDA_LOG_LEVEL) wins; this keeps Powertools in step.
    POWERTOOLS_LOG_LEVEL: config.logLevel,
    // OIDC and Kubernetes access (Model 2, Kubernetes secrets), as shared/config.ts reads them.
    FLYTE_DATABRICKS_OIDC_AUDIENCE: config.oidcModel1Sts ? config.oidcAudience : undefined,
    EKS_CLUSTER_NAME: config.eksClusterName,
    KUBERNETES_API_URL: config.eksApiEndpoint,
    KUBERNETES_CA_DATA: config.eksCaData,
    // sam local only: the SDK sends every AWS call here (LocalStack). Unset in real deployments.
    AWS_ENDPOINT_URL: config.localAwsEndpointUrl,
  };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
