/**
 * A small per-container read-through cache: values (misses included, as `undefined`) kept for `ttlMs` after the read
 * that produced them started, one read per key in flight at a time (concurrent callers share it), failed reads never
 * kept, and `evict` that also disowns a read in flight, so whoever evicted gets a fresh read. Used for namespace
 * secrets (shared/auth/secrets-manager-secrets.ts) and Model 2 ServiceAccount discovery
 * (shared/kube/service-account-discovery.ts). Tokens have their own cache, with refresh margins
 * (shared/auth/token-cache.ts).
 */
export class ReadThroughCache<V> {
  private readonly values = new Map<string, { value: V; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<V>>();

  constructor(private readonly options: { ttlMs: number; now?: () => number }) {}

  get(key: string, read: () => Promise<V>): Promise<V> {
    const startedAt = this.now();
    const hit = this.values.get(key);
    if (hit && hit.expiresAt > startedAt) return Promise.resolve(hit.value);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const reading: Promise<V> = read()
      .then((value) => {
        // Only the current read may be kept: one evicted while in flight may be stale.
        if (this.options.ttlMs > 0 && this.inFlight.get(key) === reading) {
          this.values.set(key, { value, expiresAt: startedAt + this.options.ttlMs });
        }
        return value;
      })
      .finally(() => {
        if (this.inFlight.get(key) === reading) this.inFlight.delete(key);
      });
    this.inFlight.set(key, reading);
    return reading;
  }

  evict(key: string): void {
    this.values.delete(key);
    this.inFlight.delete(key);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
