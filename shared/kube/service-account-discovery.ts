/**
 * Model 2 discovery: the namespace's one Databricks-enabled ServiceAccount, if any. Results are cached per
 * namespace for `ttlMs` (upstream: 300 s), misses included, so a warm container does not list ServiceAccounts on
 * every job; concurrent lookups of one namespace share one list call. Errors are never cached. A 401 on a Model 2
 * token evicts the namespace, so a changed annotation is picked up on the retry.
 */
import { AuthConfigError } from '../errors.js';
import { ReadThroughCache } from '../read-through-cache.js';
import type { DatabricksServiceAccount, KubernetesPort } from './kubernetes-port.js';

export interface ServiceAccountDiscoveryOptions {
  ttlMs: number;
  now?: () => number;
}

export class ServiceAccountDiscovery {
  private readonly cache: ReadThroughCache<DatabricksServiceAccount | undefined>;

  constructor(
    private readonly port: KubernetesPort,
    options: ServiceAccountDiscoveryOptions,
  ) {
    this.cache = new ReadThroughCache({ ttlMs: options.ttlMs, now: options.now });
  }

  /** The namespace's Databricks-enabled ServiceAccount; undefined when there is none (Model 1 applies). */
  discover(namespace: string): Promise<DatabricksServiceAccount | undefined> {
    return this.cache.get(namespace, () => this.lookup(namespace));
  }

  /** Forget a namespace, including a lookup in flight: the next discover() lists again. */
  evict(namespace: string): void {
    this.cache.evict(namespace);
  }

  private async lookup(namespace: string): Promise<DatabricksServiceAccount | undefined> {
    const found = await this.port.listDatabricksServiceAccounts(namespace);
    if (found.length > 1) {
      const names = found.map((sa) => sa.name).sort();
      throw new AuthConfigError(
        `Multiple Databricks-enabled ServiceAccounts found in namespace '${namespace}': ${names.join(', ')}. ` +
          'Configure exactly one.',
      );
    }
    return found[0];
  }
}
