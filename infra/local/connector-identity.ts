/**
 * The local stack's connector identity for OIDC Model 1: the audience its tokens are for, and the connector's own
 * ServiceAccount in the cluster, whose projected token a Model 1 (file) tenant exchanges.
 */
export const OIDC_AUDIENCE = 'databricks';
export const CONNECTOR_SERVICE_ACCOUNT = { namespace: 'flyte', name: 'flyte-connector' };
export const CONNECTOR_SUBJECT = `system:serviceaccount:${CONNECTOR_SERVICE_ACCOUNT.namespace}:${CONNECTOR_SERVICE_ACCOUNT.name}`;
