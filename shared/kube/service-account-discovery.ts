/**
 * Model 2 discovery: the namespace's one Databricks-enabled ServiceAccount, if any. Results are cached per
 * namespace for `ttlMs` (upstream: 300 s), misses included, so a warm container does not list ServiceAccounts on
 * every job; concurrent lookups of one namespace share one list call. Errors are never cached. A 401 on a Model 2
 * token evicts the namespace, so a changed annotation is picked up on the retry.
 */
import { AuthConfigError } from '../errors.js';
import type { DatabricksServiceAccount, KubernetesPort } from './kubernetes-port.js';

export interface ServiceAccountDiscoveryOptions {
  ttlMs: number;
  now?: () => number;
}

export class ServiceAccountDiscovery {
  private readonly cache = new Map<string, { value: DatabricksServiceAccount | undefined; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<DatabricksServiceAccount | undefined>>();

  constructor(
    private readonly port: KubernetesPort,
    private readonly options: ServiceAccountDiscoveryOptions,
  ) {}

  /** The namespace's Databricks-enabled ServiceAccount; undefined when there is none (Model 1 applies). */
  discover(namespace: string): Promise<DatabricksServiceAccount | undefined> {
    const hit = this.cache.get(namespace);
    if (hit && hit.expiresAt > this.now()) return Promise.resolve(hit.value);
    const pending = this.inFlight.get(namespace);
    if (pending) return pending;
    const lookup: Promise<DatabricksServiceAccount | undefined> = this.lookup(namespace)
      .then((value) => {
        // Only the current lookup may cache: one that was evicted while in flight may be stale.
        if (this.options.ttlMs > 0 && this.inFlight.get(namespace) === lookup) {
          this.cache.set(namespace, { value, expiresAt: this.now() + this.options.ttlMs });
        }
        return value;
      })
      .finally(() => {
        if (this.inFlight.get(namespace) === lookup) this.inFlight.delete(namespace);
      });
    this.inFlight.set(namespace, lookup);
    return lookup;
  }

  /** Forget a namespace, including a lookup in flight: the next discover() lists again. */
  evict(namespace: string): void {
    this.cache.delete(namespace);
    this.inFlight.delete(namespace);
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

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
