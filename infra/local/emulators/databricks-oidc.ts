/**
 * OAuth side of the Databricks workspace emulator: the discovery document, the token endpoint `POST /oidc/v1/token`
 * (M2M `client_credentials` and RFC 8693 workload identity federation `token-exchange`) and the store of issued
 * access tokens that the Jobs API accepts.
 *
 * Verified against public sources:
 * - Token endpoint wire format: form-encoded POST; M2M sends `grant_type=client_credentials&scope=all-apis` with the
 *   client id/secret as HTTP Basic (Databricks CLI acceptance fixture in databricks/cli; Go SDK AuthStyleInHeader) or
 *   as form fields (flytekit connector, Airflow); success is `{access_token, token_type: "Bearer", expires_in,
 *   scope: "all-apis"}` (databricks/cli `libs/testserver/fake_oidc.go`), M2M tokens last one hour (docs.databricks.com
 *   `/dev-tools/auth/oauth-m2m`).
 * - Token exchange form: `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`, `subject_token`,
 *   `subject_token_type=urn:ietf:params:oauth:token-type:jwt`, `scope=all-apis`, `client_id` for SP federation, no
 *   secret; JWTs must be RS256 or ES256; the access token's lifetime is derived from the federated token's
 *   (docs.databricks.com `/dev-tools/auth/oauth-federation-exchange`).
 * - A bad secret or unknown client: `{"error":"invalid_client","error_description":"Client authentication failed"}`
 *   (an AWS workspace's answer as rendered by the Node SQL driver, databricks/databricks-sql-nodejs #279). The same body
 *   for both, so client ids cannot be enumerated.
 * - A failed federation exchange is an HTTP 401 authentication failure (databricks/databricks-jdbc PR #1179 logs
 *   "HTTP 401 ... Invalid credentials" from the OIDC token endpoint; databricks-sql-python's token federation classes
 *   treat 401/403 as the exchange's authentication failures).
 * - Discovery document fields and values (issuer `<host>/oidc`, `/oidc/v1/authorize`, `/oidc/v1/token`,
 *   scopes_supported, response types/modes, grant_types_supported `client_credentials, authorization_code,
 *   refresh_token` (token exchange works although it is not listed), S256, RS256): copies of the account and workspace
 *   documents kept in public repositories; the SDKs read only `authorization_endpoint` and `token_endpoint`.
 *
 * Assumed (not verified): the HTTP status of invalid_client (401, as RFC 6749 §5.2 requires when Basic was used; sent
 * with `WWW-Authenticate: Basic` then); `token_endpoint_auth_methods_supported` lists both Basic and post (one public
 * copy of a workspace document lists only client_secret_post, yet the CLI and Go SDK authenticate with Basic);
 * `jwks_uri` is omitted since emulated access tokens are opaque, not JWTs; error bodies and wording for a wrong
 * Content-Type, a missing or repeated parameter, both Basic and form credentials at once (400 invalid_request, RFC 6749
 * §2.3), a bad scope (400 invalid_scope), an unsupported grant (400 unsupported_grant_type), a malformed subject JWT or
 * a disallowed alg (400 invalid_request, RFC 8693 §2.2.2), an untrusted subject JWT (401 invalid_client, "Invalid
 * credentials: <reason>"), client authentication sent with a token exchange (400 invalid_request), a token exchange
 * without client_id (account-wide federation, not emulated: 400 invalid_request); only the `all-apis` scope is
 * granted; the token-exchange response has the same fields as the M2M one.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type FederationPolicy, FederationRejection, FederationVerifier } from './databricks-oidc-federation.js';

export type { FederationPolicy } from './databricks-oidc-federation.js';

export interface ServicePrincipal {
  /** The OAuth client id. */
  applicationId: string;
  displayName?: string;
  /** OAuth secrets accepted for `client_credentials`. */
  secrets?: string[];
  federationPolicies?: FederationPolicy[];
}

/** One call to the token endpoint; never holds the secret or the subject JWT. */
export interface TokenRequestRecord {
  grantType: string;
  clientId?: string;
  /** The SP application id a token was issued to. */
  principal?: string;
  status: number;
}

export interface OidcReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface DatabricksOidcOptions {
  accountId: string;
  /** Lifetime of an M2M access token; upper bound for an exchanged one. */
  ttlSeconds: number;
  clock: () => number;
  /** Emulates an endpoint that only accepts client_secret_post. */
  rejectBasicAuth: boolean;
  servicePrincipals: ServicePrincipal[];
}

export const TOKEN_PATH = '/oidc/v1/token';
export const DISCOVERY_PATHS: readonly string[] = [
  '/oidc/.well-known/oauth-authorization-server',
  '/oidc/.well-known/openid-configuration',
];
export const CLIENT_CREDENTIALS = 'client_credentials';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const SCOPE = 'all-apis';
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

type ClientAuth =
  | { method: 'basic' | 'post'; clientId: string; secret: string }
  | { method: 'none'; clientId: string | undefined };

const oauthError = (
  status: number,
  error: string,
  description: string,
  headers?: Record<string, string>,
): OidcReply => ({
  status,
  body: { error, error_description: description },
  headers: { ...NO_STORE, ...headers },
});

const invalidClient = (basic: boolean): OidcReply =>
  oauthError(
    401,
    'invalid_client',
    'Client authentication failed',
    basic ? { 'WWW-Authenticate': 'Basic realm="oidc"' } : undefined,
  );

/** `application/x-www-form-urlencoded` decoding of one Basic credential half (RFC 6749 §2.3.1). */
function formDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** The client authentication the request carries, or an error reply. */
function clientAuthOf(headers: IncomingHttpHeaders, form: URLSearchParams): ClientAuth | OidcReply {
  const formId = form.get('client_id') ?? undefined;
  const formSecret = form.get('client_secret') ?? undefined;
  const authorization = headers.authorization;
  if (authorization === undefined) {
    return formSecret === undefined
      ? { method: 'none', clientId: formId }
      : { method: 'post', clientId: formId ?? '', secret: formSecret };
  }
  const match = /^Basic\s+([A-Za-z0-9+/]+=*)\s*$/i.exec(authorization);
  const decoded = match ? Buffer.from(match[1] as string, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon < 0) return invalidClient(true);
  const clientId = formDecode(decoded.slice(0, colon));
  if (formSecret !== undefined) {
    return oauthError(400, 'invalid_request', 'Use one client authentication method: HTTP Basic or client_secret.');
  }
  if (formId !== undefined && formId !== clientId) {
    return oauthError(400, 'invalid_request', 'client_id in the body differs from the Authorization header.');
  }
  return { method: 'basic', clientId, secret: formDecode(decoded.slice(colon + 1)) };
}

function scopeError(form: URLSearchParams): OidcReply | undefined {
  const scopes = (form.get('scope') ?? '').split(' ').filter((scope) => scope !== '');
  if (scopes.length === 0) return oauthError(400, 'invalid_scope', `Missing scope; request ${SCOPE}.`);
  if (scopes.some((scope) => scope !== SCOPE)) {
    return oauthError(400, 'invalid_scope', `Unsupported scope; only ${SCOPE} is granted.`);
  }
  return undefined;
}

/** Service principals, the token endpoint and the access tokens it issued. */
export class DatabricksOidc {
  readonly tokenRequests: TokenRequestRecord[] = [];
  private readonly principals = new Map<string, ServicePrincipal>();
  private readonly accessTokens = new Map<string, { principal: string; expiresAt: number }>();
  /** Every access token ever issued, revoked ones included: leak tests search logs and tables for them. */
  readonly issuedAccessTokens: string[] = [];
  private readonly verifier: FederationVerifier;

  constructor(private readonly options: DatabricksOidcOptions) {
    if (!Number.isFinite(options.ttlSeconds) || options.ttlSeconds <= 0) {
      throw new Error('oauthTokenTtlSeconds must be a positive number');
    }
    this.verifier = new FederationVerifier(options.clock);
    for (const sp of options.servicePrincipals) this.addServicePrincipal(sp);
  }

  /** Adds or replaces a service principal (keyed by application id). */
  addServicePrincipal(sp: ServicePrincipal): void {
    if (sp.applicationId === '') throw new Error('A service principal needs an applicationId');
    this.principals.set(sp.applicationId, structuredClone(sp));
  }

  /** Invalidates every access token issued so far. */
  revokeAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** The SP application id behind an issued, unexpired, unrevoked access token. */
  principalOf(token: string): string | undefined {
    const entry = this.accessTokens.get(token);
    return entry && this.options.clock() < entry.expiresAt ? entry.principal : undefined;
  }

  discovery(baseUrl: string): Record<string, unknown> {
    return {
      issuer: `${baseUrl}/oidc`,
      authorization_endpoint: `${baseUrl}/oidc/v1/authorize`,
      token_endpoint: `${baseUrl}${TOKEN_PATH}`,
      scopes_supported: ['all-apis', 'email', 'offline_access', 'openid', 'profile', 'sql'],
      response_types_supported: ['code', 'id_token'],
      response_modes_supported: ['query', 'fragment', 'form_post'],
      grant_types_supported: ['client_credentials', 'authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: this.options.rejectBasicAuth
        ? ['client_secret_post']
        : ['client_secret_basic', 'client_secret_post'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    };
  }

  /** `POST /oidc/v1/token`. */
  async token(headers: IncomingHttpHeaders, raw: string): Promise<OidcReply> {
    const record: TokenRequestRecord = { grantType: '', status: 0 };
    const reply = await this.grant(headers, raw, record);
    record.status = reply.status;
    this.tokenRequests.push(record);
    return reply;
  }

  private async grant(headers: IncomingHttpHeaders, raw: string, record: TokenRequestRecord): Promise<OidcReply> {
    const mediaType = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/x-www-form-urlencoded') {
      return oauthError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded.');
    }
    const form = new URLSearchParams(raw);
    const repeated = [...new Set(form.keys())].find((key) => form.getAll(key).length > 1);
    if (repeated !== undefined) return oauthError(400, 'invalid_request', `Parameter ${repeated} is repeated.`);
    const grantType = form.get('grant_type') ?? '';
    record.grantType = grantType;
    if (grantType === '') return oauthError(400, 'invalid_request', 'Missing grant_type.');
    if (grantType === CLIENT_CREDENTIALS) return this.clientCredentials(headers, form, record);
    if (grantType === TOKEN_EXCHANGE) return this.tokenExchange(headers, form, record);
    return oauthError(400, 'unsupported_grant_type', 'The grant_type is not supported.');
  }

  private clientCredentials(
    headers: IncomingHttpHeaders,
    form: URLSearchParams,
    record: TokenRequestRecord,
  ): OidcReply {
    const auth = clientAuthOf(headers, form);
    if ('status' in auth) return auth;
    if (auth.clientId) record.clientId = auth.clientId;
    if (auth.method === 'none') return invalidClient(false);
    if (auth.method === 'basic' && this.options.rejectBasicAuth) return invalidClient(true);
    const sp = this.principals.get(auth.clientId);
    if (!sp || !(sp.secrets ?? []).includes(auth.secret)) return invalidClient(auth.method === 'basic');
    return scopeError(form) ?? this.issue(sp.applicationId, this.options.ttlSeconds * 1000, record);
  }

  private async tokenExchange(
    headers: IncomingHttpHeaders,
    form: URLSearchParams,
    record: TokenRequestRecord,
  ): Promise<OidcReply> {
    const clientId = form.get('client_id') ?? '';
    if (clientId !== '') record.clientId = clientId;
    if (headers.authorization !== undefined || form.has('client_secret')) {
      return oauthError(400, 'invalid_request', 'A token exchange takes no client secret.');
    }
    if (form.get('subject_token_type') !== JWT_TOKEN_TYPE) {
      return oauthError(400, 'invalid_request', `subject_token_type must be ${JWT_TOKEN_TYPE}.`);
    }
    const subjectToken = form.get('subject_token') ?? '';
    if (subjectToken === '') return oauthError(400, 'invalid_request', 'Missing subject_token.');
    const badScope = scopeError(form);
    if (badScope) return badScope;
    if (clientId === '') {
      return oauthError(400, 'invalid_request', 'client_id is required (account-wide federation is not emulated).');
    }
    const sp = this.principals.get(clientId);
    if (!sp) return invalidClient(false);
    try {
      const { expiresAt } = await this.verifier.verify(subjectToken, sp.federationPolicies ?? [], [
        this.options.accountId,
      ]);
      const lifetime = Math.min(this.options.ttlSeconds * 1000, expiresAt - this.options.clock());
      return this.issue(sp.applicationId, lifetime, record);
    } catch (error) {
      if (!(error instanceof FederationRejection)) throw error;
      return error.kind === 'malformed'
        ? oauthError(400, 'invalid_request', error.message)
        : oauthError(401, 'invalid_client', `Invalid credentials: ${error.message}`);
    }
  }

  private issue(principal: string, lifetimeMs: number, record: TokenRequestRecord): OidcReply {
    const accessToken = randomBytes(32).toString('base64url');
    this.accessTokens.set(accessToken, { principal, expiresAt: this.options.clock() + lifetimeMs });
    this.issuedAccessTokens.push(accessToken);
    record.principal = principal;
    return {
      status: 200,
      headers: NO_STORE,
      body: {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: Math.max(0, Math.floor(lifetimeMs / 1000)),
        scope: SCOPE,
      },
    };
  }
}
