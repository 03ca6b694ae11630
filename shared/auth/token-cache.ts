/**
 * Databricks access tokens per strategy identity (workspace, client id, namespace / ServiceAccount / audience), in
 * the warm container's memory only. A token is refreshed a margin before it expires, margin = min(60 s, lifetime/2),
 * so a short federated token (STS JWTs default to 5 minutes) is still reused for most of its life. One fetch per
 * key is in flight at a time: concurrent callers share it. An expired token is never returned and a failed fetch
 * is not cached. Exactly one cache layer: strategies do not wrap it in another (databricks-sdk-go #1549).
 *
 * No background refresh: a Lambda's background work freezes between invocations, so a refresh runs when a caller
 * needs it. Inside the margin a transient refresh failure falls back to the still-valid token.
 */
import type { TokenResult } from './token-endpoint.js';

export const MAX_REFRESH_MARGIN_MS = 60_000;

interface Entry {
  accessToken: string;
  /** After this instant the token is refreshed before use. */
  refreshAt: number;
  /** After this instant the token is never returned. */
  expiresAt: number;
}

export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<string>>();
  /** Bumped by invalidate(): a fetch that started before it does not store its result. */
  private readonly generations = new Map<string, number>();
  private readonly now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  get(key: string, fetch: () => Promise<TokenResult>): Promise<string> {
    const entry = this.entries.get(key);
    if (entry && this.now() < entry.refreshAt) return Promise.resolve(entry.accessToken);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const promise = this.refresh(key, fetch).finally(() => {
      if (this.inFlight.get(key) === promise) this.inFlight.delete(key);
    });
    this.inFlight.set(key, promise);
    return promise;
  }

  /** Drops the key's token (after a 401), so the next get() fetches anew. */
  invalidate(key: string): void {
    this.entries.delete(key);
    this.inFlight.delete(key);
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
  }

  /** Drops everything (tests). */
  clear(): void {
    for (const key of new Set([...this.entries.keys(), ...this.inFlight.keys()])) this.invalidate(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private async refresh(key: string, fetch: () => Promise<TokenResult>): Promise<string> {
    const generation = this.generations.get(key) ?? 0;
    // Lifetimes count from before the request: the token was issued at some point during it.
    const startedAt = this.now();
    let result: TokenResult;
    try {
      result = await fetch();
    } catch (error) {
      const previous = this.entries.get(key);
      const permanent = (error as { permanent?: unknown } | null)?.permanent === true;
      if (!permanent && previous && this.now() < previous.expiresAt) return previous.accessToken;
      throw error;
    }
    const lifetimeMs = Math.max(0, result.expiresInSeconds * 1000);
    const margin = Math.min(MAX_REFRESH_MARGIN_MS, lifetimeMs / 2);
    if (generation === (this.generations.get(key) ?? 0)) {
      this.prune();
      this.entries.set(key, {
        accessToken: result.accessToken,
        refreshAt: startedAt + lifetimeMs - margin,
        expiresAt: startedAt + lifetimeMs,
      });
    }
    return result.accessToken;
  }

  private prune(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}

/** One cache per warm container, shared by every strategy built in it. */
export const sharedTokenCache = new TokenCache();
