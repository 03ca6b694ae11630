/**
 * OIDC federation, Model 2: the workflow namespace's own identity. The namespace's Databricks-enabled
 * ServiceAccount (found when the job was accepted, stored in its auth context) gets a fresh JWT from the
 * Kubernetes TokenRequest API on every refresh, exchanged (RFC 8693) for a workspace token of the service
 * principal its annotation names. A 401 drops the token and the namespace's discovery entry, so a relabelled
 * namespace is seen by the next job without waiting for the discovery cache to expire.
 */
import { AuthConfigError } from '../errors.js';
import type { DatabricksServiceAccount } from '../kube/kubernetes-port.js';
import { countTokenFetch } from '../metrics/metrics.js';
import type { AuthStrategy } from './auth-strategy.js';
import { type KubernetesAccess, kubernetesNotConfigured } from './kubernetes-access.js';
import { maskClientId } from './mask-client-id.js';
import { sharedTokenCache, type TokenCache } from './token-cache.js';
import { type TokenHttpOptions, workspaceOrigin } from './token-endpoint.js';
import { exchangeToken } from './token-exchange.js';

export interface OidcNamespaceSaOptions {
  host: string;
  namespace: string;
  serviceAccount: string;
  clientId: string;
  audience: string;
  /** TokenRequest `spec.expirationSeconds` (KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS). */
  expirationSeconds: number;
  /**
   * Throws unless the namespace's ServiceAccount, as discovery sees it now, is still the one the job was accepted with
   * and is bound to this workspace (shared/databricks/workspace-policy.ts). Called before every TokenRequest.
   */
  guardServiceAccount?: (current: DatabricksServiceAccount | undefined) => void;
  /** Resolved lazily, inside getBearerToken; undefined when the connector has no Kubernetes configuration. */
  kubernetes: () => Promise<KubernetesAccess | undefined>;
  tokenCache?: TokenCache | undefined;
  http?: TokenHttpOptions | undefined;
}

export class OidcNamespaceSaAuth implements AuthStrategy {
  readonly authType = 'oidc_federation' as const;
  private readonly origin: string;
  private readonly cache: TokenCache;
  private access: KubernetesAccess | undefined;

  constructor(private readonly options: OidcNamespaceSaOptions) {
    this.origin = workspaceOrigin(options.host);
    this.cache = options.tokenCache ?? sharedTokenCache;
  }

  /** `oidc2|<origin>|<clientId>|<ns>:<sa>|<audience>`. */
  get cacheKey(): string {
    const { clientId, namespace, serviceAccount, audience } = this.options;
    return `oidc2|${this.origin}|${clientId}|${namespace}:${serviceAccount}|${audience}`;
  }

  getBearerToken(): Promise<string> {
    return this.cache.get(this.cacheKey, () =>
      countTokenFetch('oidc_model2', async () =>
        exchangeToken({
          ...this.options.http,
          host: this.origin,
          subjectToken: await this.serviceAccountToken(),
          clientId: this.options.clientId,
        }),
      ),
    );
  }

  invalidate(): void {
    this.cache.invalidate(this.cacheKey);
    const { namespace } = this.options;
    if (this.access) {
      this.access.discovery.evict(namespace);
      return;
    }
    // invalidate() is synchronous; before the first token the Kubernetes access may not be resolved yet.
    this.options
      .kubernetes()
      .then((access) => access?.discovery.evict(namespace))
      .catch(() => undefined);
  }

  describe(): string {
    const { namespace, serviceAccount, clientId, audience } = this.options;
    return (
      `oidc_federation model 2 (namespace '${namespace}', ServiceAccount '${serviceAccount}', ` +
      `client '${maskClientId(clientId)}', audience '${audience}')`
    );
  }

  private async serviceAccountToken(): Promise<string> {
    const { namespace, serviceAccount, audience, expirationSeconds } = this.options;
    this.access ??= await this.options.kubernetes();
    if (!this.access) throw kubernetesNotConfigured(`OIDC Model 2 (namespace '${namespace}')`);
    this.options.guardServiceAccount?.(await this.access.discovery.discover(namespace));
    const jwt = await this.access.port.createServiceAccountToken(
      namespace,
      serviceAccount,
      audience,
      expirationSeconds,
    );
    if (!jwt) {
      throw new AuthConfigError(
        `Kubernetes TokenRequest for ServiceAccount '${namespace}/${serviceAccount}' was empty`,
      );
    }
    return jwt;
  }
}
