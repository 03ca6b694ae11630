/**
 * Personal access token. Looked up, in order: the workflow namespace's secret (`databricks-token` or the task's
 * `databricksTokenSecret`, key `token`), then the connector-wide FLYTE_DATABRICKS_ACCESS_TOKEN, then the
 * connector-wide Secrets Manager id. The token is read anew (through a short cache) on every invocation and is
 * never stored with the job, unlike upstream, which kept it in plaintext in the run metadata.
 */
import { AuthConfigError } from '../errors.js';
import type { AuthStrategy } from './auth-strategy.js';
import { namespaceSecretId, type SecretSource, secretKey } from './secret-source.js';

export const DEFAULT_TOKEN_SECRET_NAME = 'databricks-token';
const TOKEN_KEY = 'token';

export interface PatAuthOptions {
  namespace: string;
  tokenSecretName: string;
  secrets: SecretSource;
  secretNameTemplate: string;
  fallbackToken?: string | undefined;
  fallbackSecretId?: string | undefined;
}

export class PatAuth implements AuthStrategy {
  readonly authType = 'pat' as const;
  private readonly namespaceSecretId: string;

  constructor(private readonly options: PatAuthOptions) {
    this.namespaceSecretId = namespaceSecretId(options.secretNameTemplate, options.namespace, options.tokenSecretName);
  }

  async getBearerToken(): Promise<string> {
    const { secrets, fallbackToken, fallbackSecretId, namespace } = this.options;
    const fromNamespace = await this.readToken(this.namespaceSecretId);
    if (fromNamespace !== undefined) return fromNamespace;
    if (fallbackToken) return fallbackToken;
    const fromConnector = fallbackSecretId ? await this.readToken(fallbackSecretId) : undefined;
    if (fromConnector !== undefined) return fromConnector;
    throw new AuthConfigError(
      `No Databricks token found for namespace '${namespace}': looked at ${secrets.kind} secret ` +
        `'${this.namespaceSecretId}' (key '${TOKEN_KEY}'), FLYTE_DATABRICKS_ACCESS_TOKEN ` +
        `(${fallbackToken === undefined ? 'unset' : 'empty'}) and FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID ` +
        `(${fallbackSecretId ? `'${fallbackSecretId}' not found` : 'unset'}). Create the namespace secret ` +
        `or configure a connector-wide token.`,
    );
  }

  invalidate(): void {
    this.options.secrets.invalidate(this.namespaceSecretId);
    if (this.options.fallbackSecretId) this.options.secrets.invalidate(this.options.fallbackSecretId);
  }

  describe(): string {
    return `pat (namespace '${this.options.namespace}', ${this.options.secrets.kind} secret '${this.namespaceSecretId}')`;
  }

  /** undefined when the secret does not exist; an error when it exists but holds no usable token. */
  private async readToken(secretId: string): Promise<string | undefined> {
    const value = await this.options.secrets.read(secretId);
    if (value === undefined) return undefined;
    const token = secretKey(value, TOKEN_KEY);
    if (!token) {
      throw new AuthConfigError(
        `${this.options.secrets.kind} secret '${secretId}' has no non-empty '${TOKEN_KEY}' key: store {"${TOKEN_KEY}": "<PAT>"}`,
      );
    }
    return token;
  }
}
