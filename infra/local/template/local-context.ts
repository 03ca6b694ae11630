/**
 * The CDK context the local stack synthesizes the app with: an operator's context like infra/example.context.json,
 * naming the local principals and, where an endpoint goes, a placeholder that local-overrides.ts replaces with the
 * emulator's address once it listens (ports are picked at start). Everything else is the stack's own default, so
 * the local stack runs what `cdk deploy` would deploy.
 */
import { CONNECTOR_SUBJECT, OIDC_AUDIENCE } from '../connector-identity.js';

export const LOCAL_ACCOUNT_ID = '123456789012';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_STACK_NAME = 'FlyteDatabricksLambda';
export const LOCAL_CLUSTER_NAME = 'local-eks';

/** What the template holds where an emulator's address goes (`.test` is reserved: it never resolves). */
export const PLACEHOLDERS = {
  databricksHost: 'workspace.databricks.test',
  /** OIDC_TOKEN_FILE_DIRS: the stack's scratch folder, made at start. */
  tokenFileDir: '/var/run/flyte-databricks-local/tokens',
} as const;

/** The IAM user behind the caller key pair generated at each start, and its unique id (fixed, dummy). */
export const LOCAL_CALLER = {
  arn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/flyte-databricks-local-caller`,
  uniqueId: 'AIDALOCALCALLER2ABCDE',
} as const;

/**
 * The operator: the role the stack's own clients (tests inspecting tables and queues, the CLI without credentials of
 * its own) sign as. Not in the template: it stands for whoever administers the account.
 */
export const LOCAL_OPERATOR = {
  roleName: 'flyte-databricks-local-operator',
  arn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/flyte-databricks-local-operator`,
  uniqueId: 'AROALOCALOPERATOR2ABC',
  keys: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

/** The connector's service principal for OIDC Model 1 (DATABRICKS_CLIENT_ID): fixed, the emulator registers it. */
export const CONNECTOR_CLIENT_ID = '6b0c8a52-3f4e-4c1a-9d7e-5a2f1e0b7c3d';

export { CONNECTOR_SUBJECT, OIDC_AUDIENCE };

const operatorSessions = `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/${LOCAL_OPERATOR.roleName}/*`;

export const LOCAL_CONTEXT: Readonly<Record<string, unknown>> = {
  // The local caller may use every namespace, at the front door (ARN) and as a direct queue producer (unique id);
  // so may the operator's sessions (the CLI). Scenarios bind tighter with the callerNamespaces option.
  callerNamespaces: {
    [LOCAL_CALLER.arn]: ['*'],
    [LOCAL_CALLER.uniqueId]: ['*'],
    [operatorSessions]: ['*'],
  },
  allowedDatabricksHosts: [PLACEHOLDERS.databricksHost],
  databricksInstance: PLACEHOLDERS.databricksHost,
  namespaceWorkspaces: { '*': [PLACEHOLDERS.databricksHost] },
  databricksClientId: CONNECTOR_CLIENT_ID,
  oidcTokenFileDirs: [PLACEHOLDERS.tokenFileDir],
  // Model 1 on Lambda: the functions' roles get their JWT from STS GetWebIdentityToken, a file wins when a task names one.
  oidcModel1Sts: true,
  oidcAudience: OIDC_AUDIENCE,
  oidcSubjectTokenSource: 'auto',
  // Model 2 and namespace discovery: the emulated EKS cluster, by name alone: the functions read its API server and
  // CA with eks:DescribeCluster, as the README recommends.
  eksClusterName: LOCAL_CLUSTER_NAME,
  removalPolicy: 'destroy',
};
