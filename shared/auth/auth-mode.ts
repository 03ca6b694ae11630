/**
 * One auth mode family, as the resolver sees it (the shape of databricks-sdk-go's config/ strategies): each strategy
 * says, beside its own code, whether it applies and how to rebuild itself, and `resolve-auth.ts` walks the chain.
 * Adding a mode is one file like pat-mode.ts plus a line in the chain and the docs.
 *
 * - `select` runs once, at submit: the context the job will keep (where its credentials live and why this mode), or
 *   undefined when the mode does not apply (OIDC Model 2 with no Databricks-enabled ServiceAccount).
 * - `fromNamespace`, for auto-detection: the context when the workflow namespace has credentials of this kind of
 *   its own (they win over the connector's), else undefined.
 * - `connectorSettings`, for auto-detection: the connector settings (names, never values) that configure this mode
 *   for namespaces without credentials of their own; undefined when none do.
 * - `build` runs on every submit, poll and cancel: the strategy, from the stored context alone.
 */
import type { STSClient } from '@aws-sdk/client-sts';
import type { Config } from '../config.js';
import type { WorkspaceCallBudget } from '../databricks/workspace-call-budget.js';
import type { TaskSpec } from '../jobs/submit-request.js';
import type { AuthContext, AuthMode } from './auth-context.js';
import type { AuthStrategy, AuthType } from './auth-strategy.js';
import type { KubernetesAccess, ServiceAccountLookup } from './kubernetes-access.js';
import type { NamespaceSecrets, SecretValues } from './namespace-secrets.js';
import type { SecretsManagerSecrets } from './secrets-manager-secrets.js';
import type { TokenCache } from './token-cache.js';
import type { TokenHttpOptions } from './token-endpoint.js';

/** The configuration the auth code reads; every default comes from shared/config.ts. */
export type AuthSettings = Pick<
  Config,
  | 'FLYTE_DATABRICKS_AUTH_TYPE'
  | 'FLYTE_DATABRICKS_OAUTH_SECRET_NAME'
  | 'DATABRICKS_CLIENT_ID'
  | 'DATABRICKS_CLIENT_SECRET'
  | 'DATABRICKS_CLIENT_SECRET_SECRET_ID'
  | 'FLYTE_DATABRICKS_ACCESS_TOKEN'
  | 'FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID'
  | 'FLYTE_DATABRICKS_OIDC_TOKEN_FILE'
  | 'AWS_WEB_IDENTITY_TOKEN_FILE'
  | 'FLYTE_DATABRICKS_OIDC_AUDIENCE'
  | 'OIDC_SUBJECT_TOKEN_SOURCE'
  | 'OIDC_STS_DURATION_SECONDS'
  | 'OIDC_TOKEN_FILE_DIRS'
  | 'NAMESPACE_OIDC_CLIENT_IDS'
  | 'KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS'
  | 'ALLOWED_DATABRICKS_HOSTS'
  | 'INSECURE_ANY_DATABRICKS_HOST'
  | 'FLYTE_DATABRICKS_INSTANCE'
  | 'ALLOW_INSECURE_LOOPBACK_DATABRICKS'
  | 'NAMESPACE_WORKSPACES'
>;

/** What selection reads: the job's namespace and task, the configuration, the namespace's secrets, discovery. */
export interface SelectDeps {
  config: AuthSettings;
  secrets: NamespaceSecrets;
  secretSource: 'secrets-manager' | 'kubernetes';
  /** Model 2 discovery; undefined when the connector has no Kubernetes configuration. */
  discovery: () => Promise<ServiceAccountLookup | undefined>;
  /** Whether an operator-configured token file exists (tests stand in for the filesystem). */
  fileExists?: (path: string) => boolean;
  /** A task's token file, checked against OIDC_TOKEN_FILE_DIRS: its real path, or a uniform error. */
  taskTokenFile?: (path: string, dirs: readonly string[]) => Promise<string>;
}

/** One job's selection: its inputs, and the reason prefix when the choice was explicit. */
export interface Selection extends SelectDeps {
  namespace: string;
  task: TaskSpec;
}

export interface AuthDeps {
  config: AuthSettings;
  /** Where namespace secrets are read from. */
  secrets: NamespaceSecrets;
  /** Connector-wide secrets (the fallback PAT, DATABRICKS_CLIENT_SECRET_SECRET_ID) are always in Secrets Manager. */
  secretsManager: SecretsManagerSecrets;
  /** The Kubernetes port and discovery, resolved when a Model 2 token is first needed; undefined if unconfigured. */
  kubernetes: () => Promise<KubernetesAccess | undefined>;
  /** A regional STS client for Model 1 on Lambda, created (and the functions' SDK package loaded) when first needed. */
  sts: () => STSClient | Promise<STSClient>;
  fetch?: typeof fetch;
  /** Every token request takes a slot in its workspace's call budget. */
  budget?: WorkspaceCallBudget;
  tokenCache?: TokenCache;
  now?: () => number;
  /** Reads a token file (tests stand in for the filesystem); by default shared/auth/token-file.ts. */
  readFile?: (path: string) => Promise<string>;
}

/** What every strategy is built with: the workspace, the job's namespace, the token cache and HTTP seams. */
export interface BuildCommon {
  host: string;
  namespace: string;
  tokenCache: TokenCache | undefined;
  http: TokenHttpOptions;
}

export interface AuthModeProvider {
  readonly authType: AuthType;
  /** The concrete modes this provider records and rebuilds. */
  readonly modes: readonly AuthMode[];
  select(selection: Selection, reason: string): Promise<AuthContext | undefined>;
  fromNamespace?(selection: Selection): Promise<AuthContext | undefined>;
  connectorSettings?(selection: Selection): string[] | undefined;
  build(context: AuthContext, common: BuildCommon, deps: AuthDeps): AuthStrategy;
}

/** The fields every context starts with. */
export function baseContext(selection: Selection, authType: AuthType, mode: AuthMode, reason: string): AuthContext {
  return { authType, mode, namespace: selection.namespace, reason, secretSource: selection.secretSource };
}

/**
 * Auto-detection for a mode whose namespace credential is a secret: the mode's context (with the reason saying which
 * secret was found) when the namespace has the secret `name`, else undefined. `select` is handed the values read, so
 * the secret is not read a second time (Kubernetes Secrets are not cached).
 */
export async function whenNamespaceHasSecret(
  selection: Selection,
  name: string,
  select: (selection: Selection, reason: string, values: SecretValues) => Promise<AuthContext | undefined>,
): Promise<AuthContext | undefined> {
  const { namespace, secrets } = selection;
  const values = await secrets.read(namespace, name);
  if (values === undefined) return undefined;
  return select(selection, `auto-detect: namespace '${namespace}' has ${secrets.locate(namespace, name)}`, values);
}
