/**
 * Personal access token. Looked up, in order: the workflow namespace's secret (`databricks-token` or the task's
 * `databricksTokenSecret`, key `token`), then the connector-wide FLYTE_DATABRICKS_ACCESS_TOKEN, then the
 * connector-wide Secrets Manager id. The token is read anew (through a short cache) on every invocation and is
 * never stored with the job, unlike upstream, which kept it in plaintext in the run metadata. Reading it is not a token
 * request: a PAT is counted in no TokenRequests (shared/metrics/metrics.ts), only in the calls it authenticates.
 */
import { AuthConfigError } from '../errors.js';
import type { AuthStrategy } from './auth-strategy.js';
import type { NamespaceSecrets, SecretValues } from './namespace-secrets.js';
import type { SecretsManagerSecrets } from './secrets-manager-secrets.js';

export const DEFAULT_TOKEN_SECRET_NAME = 'databricks-token';
const TOKEN_KEY = 'token';

export interface PatAuthOptions {
  namespace: string;
  tokenSecretName: string;
  secrets: NamespaceSecrets;
  fallbackToken?: string | undefined;
  /** Throws when the connector-wide token may not go to this job's workspace (shared/databricks/workspace-policy.ts). */
  guardConnector?: () => void;
  /** Throws when the namespace's secret (its `host` key, or the operator's binding) does not cover this workspace. */
  guardNamespace?: (values: SecretValues, where: string) => void;
  /** The connector-wide fallback secret lives in Secrets Manager whatever the namespace source is. */
  fallback?: { secretId: string; secretsManager: SecretsManagerSecrets } | undefined;
}

export class PatAuth implements AuthStrategy {
  readonly authType = 'pat' as const;

  constructor(private readonly options: PatAuthOptions) {}

  async getBearerToken(): Promise<string> {
    const { secrets, namespace, tokenSecretName, fallbackToken, fallback } = this.options;
    const where = secrets.locate(namespace, tokenSecretName);
    const values = await secrets.read(namespace, tokenSecretName);
    if (values !== undefined) this.options.guardNamespace?.(values, where);
    const fromNamespace = tokenFrom(values, where);
    if (fromNamespace !== undefined) return fromNamespace;
    if (fallbackToken || fallback) this.options.guardConnector?.();
    if (fallbackToken) return fallbackToken;
    if (fallback) {
      const fromConnector = tokenFrom(
        await fallback.secretsManager.readById(fallback.secretId),
        `Secrets Manager secret '${fallback.secretId}'`,
      );
      if (fromConnector !== undefined) return fromConnector;
    }
    throw new AuthConfigError(
      `No Databricks token found for namespace '${namespace}': looked at ${where} (key '${TOKEN_KEY}'), ` +
        `FLYTE_DATABRICKS_ACCESS_TOKEN (unset) and FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID ` +
        `(${fallback ? `'${fallback.secretId}' not found` : 'unset'}). Create the namespace secret ` +
        `or configure a connector-wide token.`,
    );
  }

  invalidate(): void {
    this.options.secrets.invalidate(this.options.namespace, this.options.tokenSecretName);
    this.options.fallback?.secretsManager.invalidateId(this.options.fallback.secretId);
  }

  describe(): string {
    const { secrets, namespace, tokenSecretName } = this.options;
    return `pat (namespace '${namespace}', ${secrets.locate(namespace, tokenSecretName)})`;
  }
}

/** undefined when the secret does not exist; an error when it exists but holds no usable token. */
function tokenFrom(values: SecretValues | undefined, where: string): string | undefined {
  if (values === undefined) return undefined;
  const token = values[TOKEN_KEY];
  if (!token)
    throw new AuthConfigError(`${where} has no non-empty '${TOKEN_KEY}' key: store {"${TOKEN_KEY}": "<PAT>"}`);
  return token;
}
