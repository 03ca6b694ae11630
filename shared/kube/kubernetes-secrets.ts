/**
 * Namespace secrets as Kubernetes Secrets in the workflow namespace (upstream parity): `databricks-token`
 * (`token`), `databricks-oauth` (`client_id`, `client_secret`). Missing is `undefined`; being denied is an
 * AuthConfigError from the port, never "not found". Values are cached briefly per warm container.
 */
import type { NamespaceSecrets, SecretValues } from '../auth/namespace-secrets.js';
import type { KubernetesPort } from './kubernetes-port.js';

export interface KubernetesSecretsOptions {
  cacheMs: number;
  now?: () => number;
}

export class KubernetesSecrets implements NamespaceSecrets {
  readonly kind = 'Kubernetes';
  private readonly cache = new Map<string, { values: SecretValues | undefined; expiresAt: number }>();

  constructor(
    private readonly port: KubernetesPort,
    private readonly options: KubernetesSecretsOptions,
  ) {}

  locate(namespace: string, name: string): string {
    return `Kubernetes Secret '${namespace}/${name}'`;
  }

  async read(namespace: string, name: string): Promise<SecretValues | undefined> {
    const key = `${namespace}/${name}`;
    const now = (this.options.now ?? Date.now)();
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > now) return hit.values;
    const data = await this.port.readSecret(namespace, name);
    // Trimmed like the Secrets Manager source: `echo token | base64` leaves a newline in many a Secret.
    const values = data && Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.trim()]));
    if (this.options.cacheMs > 0) this.cache.set(key, { values, expiresAt: now + this.options.cacheMs });
    return values;
  }

  invalidate(namespace: string, name: string): void {
    this.cache.delete(`${namespace}/${name}`);
  }
}
