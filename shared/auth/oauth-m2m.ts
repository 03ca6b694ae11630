/**
 * OAuth M2M: a service principal's client_id and client_secret traded for a workspace token (client_credentials,
 * `scope=all-apis`) at `<host>/oidc/v1/token`.
 *
 * Where the pair comes from, always as a pair (upstream [3429] could pair the connector's client_id with a
 * namespace's client_secret):
 * 1. the workflow namespace's secret (`databricks-oauth`, the task's `databricksOauthSecret` or
 *    FLYTE_DATABRICKS_OAUTH_SECRET_NAME; keys `client_id` and `client_secret`). If it exists it must hold both keys;
 *    it is never completed from the connector's configuration.
 * 2. only when that secret does not exist, the connector's own: DATABRICKS_CLIENT_ID with DATABRICKS_CLIENT_SECRET,
 *    else with the secret in DATABRICKS_CLIENT_SECRET_SECRET_ID (Secrets Manager; key `client_secret`, or a plain
 *    string; a `client_id` key there may stand in for DATABRICKS_CLIENT_ID and must match it when both are set).
 *
 * A task's `databricksClientId`, and the client id stored when the job was accepted, never supply a credential:
 * they pin the principal. The pair found above must carry that client id, otherwise the call fails saying where the
 * pair came from, rather than pairing the pinned id with a secret from somewhere else.
 *
 * Credentials go in HTTP Basic (as the Databricks SDKs send them). A workspace that answers 401 `invalid_client`
 * to Basic is asked once more with client_secret_post (upstream's form fields); when that works, the choice is
 * remembered per workspace for the container.
 */
import { AuthConfigError } from '../errors.js';
import { countTokenFetch } from '../metrics/metrics.js';
import type { AuthStrategy } from './auth-strategy.js';
import { maskClientId } from './mask-client-id.js';
import type { NamespaceSecrets, SecretValues } from './namespace-secrets.js';
import type { SecretsManagerSecrets } from './secrets-manager-secrets.js';
import { sharedTokenCache, type TokenCache } from './token-cache.js';
import {
  requestToken,
  TokenEndpointError,
  type TokenHttpOptions,
  type TokenResult,
  workspaceOrigin,
} from './token-endpoint.js';
import { ALL_APIS_SCOPE } from './token-exchange.js';

export const CLIENT_ID_KEY = 'client_id';
export const CLIENT_SECRET_KEY = 'client_secret';

export type ClientAuthStyle = 'basic' | 'post';
/** Per workspace origin, how it wants client credentials; only 'post' is ever recorded (Basic is the default). */
export const clientAuthStyles = new Map<string, ClientAuthStyle>();

/** The connector's own service principal (DATABRICKS_CLIENT_ID and its secret). */
export interface ConnectorClientCredentials {
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  clientSecretSecretId?: string | undefined;
  /** Reads DATABRICKS_CLIENT_SECRET_SECRET_ID; connector-wide secrets are always in Secrets Manager. */
  secretsManager?: SecretsManagerSecrets | undefined;
}

export interface OAuthM2MOptions {
  host: string;
  namespace: string;
  oauthSecretName: string;
  secrets: NamespaceSecrets;
  connector: ConnectorClientCredentials;
  /** Throws when the connector's own client may not go to this job's workspace (shared/databricks/workspace-policy.ts). */
  guardConnector?: () => void;
  /** Throws when the namespace's secret (its `host` key, or the operator's binding) does not cover this workspace. */
  guardNamespace?: (values: SecretValues, where: string) => void;
  /** The client id the job is pinned to (task databricksClientId, or resolved when accepted). */
  expectedClientId?: string | undefined;
  tokenCache?: TokenCache | undefined;
  http?: TokenHttpOptions | undefined;
  authStyles?: Map<string, ClientAuthStyle> | undefined;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  /** Log-safe: where the pair was read. */
  source: string;
}

export class OAuthM2MAuth implements AuthStrategy {
  readonly authType = 'oauth_m2m' as const;
  private readonly origin: string;
  private readonly cache: TokenCache;
  private readonly authStyles: Map<string, ClientAuthStyle>;
  private resolved: { clientId: string; source: string } | undefined;

  constructor(private readonly options: OAuthM2MOptions) {
    this.origin = workspaceOrigin(options.host);
    this.cache = options.tokenCache ?? sharedTokenCache;
    this.authStyles = options.authStyles ?? clientAuthStyles;
  }

  async getBearerToken(): Promise<string> {
    // Read every time (through the secret source's short cache), so the key names the pair actually in use.
    const credentials = await this.credentials();
    this.resolved = { clientId: credentials.clientId, source: credentials.source };
    return this.cache.get(this.cacheKey(credentials.clientId), () =>
      countTokenFetch('oauth_m2m', () => this.fetchToken(credentials)),
    );
  }

  invalidate(): void {
    const { secrets, namespace, oauthSecretName, connector, expectedClientId } = this.options;
    const clientId = this.resolved?.clientId ?? expectedClientId;
    if (clientId !== undefined) this.cache.invalidate(this.cacheKey(clientId));
    secrets.invalidate(namespace, oauthSecretName);
    if (connector.clientSecretSecretId) connector.secretsManager?.invalidateId(connector.clientSecretSecretId);
  }

  describe(): string {
    const { secrets, namespace, oauthSecretName, expectedClientId } = this.options;
    const clientId = this.resolved?.clientId ?? expectedClientId;
    const where =
      this.resolved?.source ??
      `${secrets.locate(namespace, oauthSecretName)}, else the connector's DATABRICKS_CLIENT_ID`;
    return `oauth_m2m (namespace '${namespace}', client '${clientId ? maskClientId(clientId) : 'unresolved'}', ${where})`;
  }

  /** `m2m|<origin>|<resolved client_id>|<namespace>`. */
  cacheKey(clientId: string): string {
    return `m2m|${this.origin}|${clientId}|${this.options.namespace}`;
  }

  private async credentials(): Promise<ClientCredentials> {
    const { secrets, namespace, oauthSecretName, connector, expectedClientId } = this.options;
    const where = secrets.locate(namespace, oauthSecretName);
    const values = await secrets.read(namespace, oauthSecretName);
    if (values === undefined) this.options.guardConnector?.();
    else this.options.guardNamespace?.(values, where);
    const credentials =
      values === undefined
        ? await connectorCredentials(connector, `OAuth M2M for namespace '${namespace}': ${where} does not exist and`)
        : { ...namespaceCredentials(values, where), source: where };
    if (expectedClientId !== undefined && credentials.clientId !== expectedClientId) {
      throw new AuthConfigError(
        `OAuth M2M for namespace '${namespace}' is pinned to client '${maskClientId(expectedClientId)}' (task ` +
          `databricksClientId, or the client the job was accepted with), but ${credentials.source} holds client ` +
          `'${maskClientId(credentials.clientId)}'. A client id is never paired with another source's secret: ` +
          'point databricksClientId at that principal or store the matching pair there.',
      );
    }
    return credentials;
  }

  private async fetchToken(credentials: ClientCredentials): Promise<TokenResult> {
    const style = this.authStyles.get(this.origin) ?? 'basic';
    try {
      if (style === 'post') return await this.post(credentials);
      try {
        return await requestToken({
          ...this.options.http,
          host: this.origin,
          form: { grant_type: 'client_credentials', scope: ALL_APIS_SCOPE },
          basicAuth: { username: credentials.clientId, password: credentials.clientSecret },
        });
      } catch (error) {
        if (!(error instanceof TokenEndpointError && error.status === 401 && error.oauthError === 'invalid_client')) {
          throw error;
        }
        const token = await this.post(credentials);
        this.authStyles.set(this.origin, 'post');
        return token;
      }
    } catch (error) {
      if (!(error instanceof TokenEndpointError)) throw error;
      throw new TokenEndpointError(
        `${error.message} (oauth_m2m client '${maskClientId(credentials.clientId)}' from ${credentials.source})`,
        {
          ...(error.status === undefined ? {} : { status: error.status }),
          ...(error.oauthError === undefined ? {} : { oauthError: error.oauthError }),
        },
      );
    }
  }

  private post(credentials: ClientCredentials): Promise<TokenResult> {
    return requestToken({
      ...this.options.http,
      host: this.origin,
      form: {
        grant_type: 'client_credentials',
        client_id: credentials.clientId,
        client_secret: credentials.clientSecret,
        scope: ALL_APIS_SCOPE,
      },
    });
  }
}

/** A namespace secret that exists must hold both keys; it is never completed from elsewhere. */
export function namespaceCredentials(values: SecretValues, where: string): { clientId: string; clientSecret: string } {
  const clientId = values[CLIENT_ID_KEY];
  const clientSecret = values[CLIENT_SECRET_KEY];
  const missing = [clientId ? undefined : CLIENT_ID_KEY, clientSecret ? undefined : CLIENT_SECRET_KEY].filter(
    (key): key is string => key !== undefined,
  );
  if (!clientId || !clientSecret) {
    throw new AuthConfigError(
      `${where} has no non-empty ${missing.map((k) => `'${k}'`).join(' or ')} key: store ` +
        `{"${CLIENT_ID_KEY}": "<application id>", "${CLIENT_SECRET_KEY}": "<OAuth secret>"}. The pair is never ` +
        "completed from the connector's DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET.",
    );
  }
  return { clientId, clientSecret };
}

/**
 * What the connector's configuration says about its own pair without reading any secret: the client id when it is
 * known (`undefined` when it lives in the DATABRICKS_CLIENT_SECRET_SECRET_ID secret), or an error saying what is
 * missing. `prefix` opens the message ("OAuth M2M for namespace 'ns': <secret> does not exist and").
 */
export function connectorClientId(connector: ConnectorClientCredentials, prefix: string): string | undefined {
  const { clientId, clientSecret, clientSecretSecretId } = connector;
  if (clientSecret && !clientId) {
    throw new AuthConfigError(`${prefix} DATABRICKS_CLIENT_SECRET is set without DATABRICKS_CLIENT_ID: set both`);
  }
  if (clientSecret || clientSecretSecretId) return clientId;
  throw new AuthConfigError(
    `${prefix} the connector has no client credentials of its own: DATABRICKS_CLIENT_ID is ` +
      `${clientId ? 'set' : 'unset'} and neither DATABRICKS_CLIENT_SECRET nor DATABRICKS_CLIENT_SECRET_SECRET_ID is ` +
      'set. Create the namespace secret (keys client_id, client_secret) or configure the connector-wide pair.',
  );
}

/** The connector's own pair, id and secret from the connector's configuration only. */
export async function connectorCredentials(
  connector: ConnectorClientCredentials,
  prefix: string,
): Promise<ClientCredentials> {
  const clientId = connectorClientId(connector, prefix);
  const { clientSecret, clientSecretSecretId, secretsManager } = connector;
  if (clientSecret && clientId) {
    return { clientId, clientSecret, source: 'connector DATABRICKS_CLIENT_ID + DATABRICKS_CLIENT_SECRET' };
  }
  if (!clientSecretSecretId || !secretsManager) {
    throw new AuthConfigError(`${prefix} DATABRICKS_CLIENT_SECRET_SECRET_ID cannot be read (no Secrets Manager)`);
  }
  const where = `Secrets Manager secret '${clientSecretSecretId}' (DATABRICKS_CLIENT_SECRET_SECRET_ID)`;
  const values = await secretsManager.readById(clientSecretSecretId);
  if (values === undefined) throw new AuthConfigError(`${prefix} ${where} does not exist`);
  // parseSecretString turns a plain-string secret into `token`.
  const secret = values[CLIENT_SECRET_KEY] || values.token;
  if (!secret) {
    throw new AuthConfigError(`${where} has no non-empty '${CLIENT_SECRET_KEY}' key and is not a plain string`);
  }
  const idInSecret = values[CLIENT_ID_KEY] || undefined;
  if (clientId && idInSecret && clientId !== idInSecret) {
    throw new AuthConfigError(
      `DATABRICKS_CLIENT_ID ('${maskClientId(clientId)}') and the '${CLIENT_ID_KEY}' in ${where} ` +
        `('${maskClientId(idInSecret)}') differ: they must name the same service principal`,
    );
  }
  const id = clientId ?? idInSecret;
  if (!id) {
    throw new AuthConfigError(
      `${prefix} DATABRICKS_CLIENT_ID is unset and ${where} has no '${CLIENT_ID_KEY}' key: set one of them`,
    );
  }
  return {
    clientId: id,
    clientSecret: secret,
    source: clientId ? `connector DATABRICKS_CLIENT_ID + ${where}` : where,
  };
}
