/**
 * Per-endpoint rate limits of the Databricks workspace emulator: one token bucket per endpoint, driven by the
 * workspace's clock (so a test refills a bucket by advancing its injected clock, never by waiting). What the workspace
 * answers over the limit, and what of it is verified, is in the note at the top of databricks-workspace.ts.
 */

/**
 * The endpoints that can be limited: the Jobs API's runs/submit, runs/get, runs/get-output, runs/cancel, and
 * `POST /oidc/v1/token`.
 */
export type RateLimitedRoute = 'submit' | 'get' | 'get-output' | 'cancel' | 'token';

/** `perSecond` tokens are added per second of the clock, up to `burst` (default: `perSecond`, at least 1). */
export interface RateLimit {
  perSecond: number;
  burst?: number;
}

export type RateLimits = Partial<Record<RateLimitedRoute, RateLimit>>;

interface Bucket {
  perSecond: number;
  capacity: number;
  tokens: number;
  updatedAt: number;
}

/** Float slack, so that e.g. 3/s refilled over 333.33 ms still counts as a whole token. */
const EPSILON = 1e-9;

export class RateLimiter {
  private buckets = new Map<RateLimitedRoute, Bucket>();

  constructor(
    private readonly clock: () => number,
    limits: RateLimits = {},
  ) {
    this.set(limits);
  }

  /** Replaces every limit: each route named gets a fresh, full bucket; routes not named are unlimited. */
  set(limits: RateLimits): void {
    const next = new Map<RateLimitedRoute, Bucket>();
    const now = this.clock();
    for (const [route, limit] of Object.entries(limits) as [RateLimitedRoute, RateLimit | undefined][]) {
      if (limit === undefined) continue;
      if (!(Number.isFinite(limit.perSecond) && limit.perSecond > 0)) {
        throw new Error(`rate limit for ${route}: perSecond must be a positive number, got ${limit.perSecond}`);
      }
      if (limit.burst !== undefined && !(Number.isFinite(limit.burst) && limit.burst >= 1)) {
        throw new Error(`rate limit for ${route}: burst must be at least 1, got ${limit.burst}`);
      }
      const capacity = limit.burst ?? Math.max(1, limit.perSecond);
      next.set(route, { perSecond: limit.perSecond, capacity, tokens: capacity, updatedAt: now });
    }
    this.buckets = next;
  }

  /**
   * Takes a token for a request to `route` arriving at `now` (ms, the workspace's clock). Returns undefined when the
   * request may pass, else the whole seconds until a token is available (at least 1), for `Retry-After`. A refused
   * request takes nothing. A clock that goes backwards refills nothing.
   */
  take(route: RateLimitedRoute, now: number): number | undefined {
    const bucket = this.buckets.get(route);
    if (!bucket) return undefined;
    const elapsed = Math.max(0, now - bucket.updatedAt);
    bucket.tokens = Math.min(bucket.capacity, bucket.tokens + (elapsed * bucket.perSecond) / 1000);
    bucket.updatedAt = Math.max(bucket.updatedAt, now);
    if (bucket.tokens >= 1 - EPSILON) {
      bucket.tokens = Math.max(0, bucket.tokens - 1);
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / bucket.perSecond));
  }
}
