/**
 * The one interface every Databricks auth strategy implements (PAT, OAuth M2M, OIDC Model 1, OIDC Model 2).
 *
 * A strategy is rebuilt from the job's stored auth context on every invocation, so it holds no state that must
 * survive a Lambda; what it caches (a token, a secret value) lives only in the warm container's memory.
 */
export const AUTH_TYPES = ['pat', 'oauth_m2m', 'oidc_federation'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

export interface AuthStrategy {
  readonly authType: AuthType;
  /** A bearer token for the workspace. Never log it, store it or put it in an error message. */
  getBearerToken(): Promise<string>;
  /** Drops whatever the strategy cached, so the next getBearerToken() fetches anew (called after a 401). */
  invalidate(): void;
  /** A log-safe, one-line description: type, namespace and where credentials come from; never a secret. */
  describe(): string;
}
