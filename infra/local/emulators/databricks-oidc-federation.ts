/**
 * Workload identity federation checks for the Databricks workspace emulator: decides whether a subject JWT satisfies
 * one of a service principal's federation policies. Used by the token endpoint in `databricks-oidc.ts`.
 *
 * Verified against public sources (docs.databricks.com `/dev-tools/auth/oauth-federation-policy` and
 * `/dev-tools/auth/oauth-federation-exchange`, Go SDK `service/oauth2/model.go` OidcFederationPolicy):
 * - JWTs must be signed with RS256 or ES256; `iss` must equal the policy issuer; the token matches when its `aud`
 *   equals any policy audience (default: the Databricks account id); the subject claim (default `sub`) must equal the
 *   policy subject; keys come from inline `jwks_json`, else the issuer's OIDC discovery document.
 * - An SP may hold several policies (up to 20), so every policy naming the token's issuer is tried.
 *
 * Assumed (not verified): `exp` is required and checked with no clock-skew allowance, `nbf` likewise; the discovery
 * document's `issuer` must equal `iss` exactly (OIDC Discovery 1.0 §4.3); keys are cached per issuer and refetched once
 * when no key matches the token (key rotation); a policy subject matches a list-valued claim (e.g. Entra `groups`) when
 * the list contains it. The emulator accepts plain http only for 127.0.0.1 issuers (tests); real issuers are https.
 */
import { get as httpGetPlain } from 'node:http';
import { get as httpsGet } from 'node:https';
import { rootCertificates } from 'node:tls';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from 'jose';

export interface FederationPolicy {
  /** Must equal the JWT `iss`. */
  issuer: string;
  /** The JWT `aud` must contain one of these. Defaults to `[accountId]`. */
  audiences?: string[];
  subject: string;
  /** Defaults to `sub`. */
  subjectClaim?: string;
  /** Inline keys; when absent, keys come from `<issuer>/.well-known/openid-configuration` -> `jwks_uri`. */
  jwksJson?: JSONWebKeySet;
}

export const ALLOWED_ALGORITHMS = ['RS256', 'ES256'] as const;
const FETCH_TIMEOUT_MS = 5_000;

/** A rejected subject token: `kind` says whether the JWT itself is malformed or it is simply not trusted. */
export class FederationRejection extends Error {
  constructor(
    readonly kind: 'malformed' | 'untrusted',
    message: string,
  ) {
    super(message);
    this.name = 'FederationRejection';
  }
}

export interface VerifiedSubject {
  /** The JWT `exp`, milliseconds since the epoch. */
  expiresAt: number;
}

/** Only https issuers, or http on 127.0.0.1 (local test issuers). */
function assertFetchable(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FederationRejection('untrusted', `${what} ${raw} is not a URL.`);
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && url.hostname === '127.0.0.1')) return url;
  throw new FederationRejection('untrusted', `${what} ${raw} must use https.`);
}

/**
 * CA certificates (PEM) trusted for issuers besides the system's: the local stack's Kubernetes API serves its issuer
 * over TLS with a CA it generates, which Databricks, on the internet, would trust through a public CA instead.
 */
const trustedIssuerCas = new Set<string>();

export function trustIssuerCa(caPem: string): void {
  trustedIssuerCas.add(caPem);
}

async function getJson(url: URL, what: string): Promise<Record<string, unknown>> {
  let status: number;
  let text: string;
  try {
    ({ status, text } = await httpGet(url));
  } catch {
    throw new FederationRejection('untrusted', `could not fetch the ${what} from ${url.href}.`);
  }
  if (status < 200 || status > 299) {
    throw new FederationRejection('untrusted', `the ${what} at ${url.href} answered HTTP ${status}.`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // fall through
  }
  throw new FederationRejection('untrusted', `the ${what} at ${url.href} is not a JSON object.`);
}

/** GET without following redirects, within FETCH_TIMEOUT_MS; https trusts the system's CAs and trustedIssuerCas. */
function httpGet(url: URL): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const options = {
      timeout: FETCH_TIMEOUT_MS,
      ...(url.protocol === 'https:' && trustedIssuerCas.size > 0
        ? { ca: [...rootCertificates, ...trustedIssuerCas] }
        : {}),
    };
    const req = (url.protocol === 'https:' ? httpsGet : httpGetPlain)(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

async function discoverKeys(issuer: string): Promise<JSONWebKeySet> {
  const base = assertFetchable(issuer, 'issuer');
  const discoveryUrl = new URL(`${base.href.replace(/\/$/, '')}/.well-known/openid-configuration`);
  const discovery = await getJson(discoveryUrl, 'OIDC discovery document');
  if (discovery.issuer !== issuer) {
    throw new FederationRejection('untrusted', `the discovery document of ${issuer} names another issuer.`);
  }
  if (typeof discovery.jwks_uri !== 'string') {
    throw new FederationRejection('untrusted', `the discovery document of ${issuer} has no jwks_uri.`);
  }
  const jwks = await getJson(assertFetchable(discovery.jwks_uri, 'jwks_uri'), 'JWKS');
  if (!Array.isArray(jwks.keys)) throw new FederationRejection('untrusted', `the JWKS of ${issuer} has no keys.`);
  return jwks as unknown as JSONWebKeySet;
}

function subjectMatches(value: unknown, subject: string): boolean {
  if (typeof value === 'string') return value === subject;
  return Array.isArray(value) && value.includes(subject);
}

/** Turns a jose verification error into a reason that never contains the token. */
function describeJoseError(error: unknown, policy: FederationPolicy, audiences: string[]): string {
  const code = (error as { code?: string } | null)?.code;
  const claim = (error as { claim?: string } | null)?.claim;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'the subject token has expired.';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'aud')
        return `the subject token audience does not match the policy audiences ${audiences.join(', ')}.`;
      if (claim === 'nbf') return 'the subject token is not valid yet (nbf).';
      if (claim === 'exp') return 'the subject token has no exp claim.';
      if (claim === 'iss') return `the subject token issuer does not match ${policy.issuer}.`;
      return `the subject token claim ${claim ?? '?'} is invalid.`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return `the subject token signature does not verify with the keys of ${policy.issuer}.`;
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return `no key of ${policy.issuer} matches the subject token.`;
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return `several keys of ${policy.issuer} match the subject token and none verifies it.`;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the subject token is not signed with RS256 or ES256.';
    default:
      return 'the subject token could not be verified.';
  }
}

/** Verifies subject JWTs against federation policies, caching each issuer's discovered keys. */
export class FederationVerifier {
  private readonly keysByIssuer = new Map<string, Promise<JSONWebKeySet>>();

  constructor(private readonly clock: () => number) {}

  /** Reads the unverified header and claims; rejects anything that is not a JWT signed with RS256/ES256. */
  inspect(token: string): { issuer: string } {
    let alg: unknown;
    let payload: JWTPayload;
    try {
      alg = decodeProtectedHeader(token).alg;
      payload = decodeJwt(token);
    } catch {
      throw new FederationRejection('malformed', 'subject_token is not a well-formed JWT.');
    }
    if (typeof alg !== 'string' || !(ALLOWED_ALGORITHMS as readonly string[]).includes(alg)) {
      const shown = typeof alg === 'string' ? alg.slice(0, 16) : 'none';
      throw new FederationRejection(
        'malformed',
        `subject_token is signed with ${shown}; only RS256 and ES256 are accepted.`,
      );
    }
    if (typeof payload.iss !== 'string' || payload.iss === '') {
      throw new FederationRejection('malformed', 'subject_token has no iss claim.');
    }
    return { issuer: payload.iss };
  }

  /**
   * Accepts the token when any policy naming its issuer validates it; otherwise throws the first policy's reason.
   * `defaultAudiences` applies to policies without `audiences`.
   */
  async verify(token: string, policies: FederationPolicy[], defaultAudiences: string[]): Promise<VerifiedSubject> {
    const { issuer } = this.inspect(token);
    const candidates = policies.filter((policy) => policy.issuer === issuer);
    if (candidates.length === 0) {
      throw new FederationRejection(
        'untrusted',
        `no federation policy of this service principal trusts issuer ${issuer}.`,
      );
    }
    let firstReason: string | undefined;
    for (const policy of candidates) {
      try {
        return await this.verifyWithPolicy(token, policy, defaultAudiences);
      } catch (error) {
        firstReason ??=
          error instanceof FederationRejection ? error.message : 'the subject token could not be verified.';
      }
    }
    throw new FederationRejection('untrusted', firstReason ?? 'the subject token could not be verified.');
  }

  private async verifyWithPolicy(
    token: string,
    policy: FederationPolicy,
    defaultAudiences: string[],
  ): Promise<VerifiedSubject> {
    const audiences = policy.audiences && policy.audiences.length > 0 ? policy.audiences : defaultAudiences;
    const attempt = async (keys: JSONWebKeySet): Promise<JWTPayload> =>
      (
        await jwtVerify(token, createLocalJWKSet(keys), {
          algorithms: [...ALLOWED_ALGORITHMS],
          issuer: policy.issuer,
          audience: audiences,
          requiredClaims: ['exp'],
          currentDate: new Date(this.clock()),
        })
      ).payload;

    let payload: JWTPayload;
    try {
      if (policy.jwksJson) {
        payload = await attempt(policy.jwksJson);
      } else {
        try {
          payload = await attempt(await this.keysOf(policy.issuer, false));
        } catch (error) {
          // The issuer may have rotated its keys since they were cached: refetch once.
          if ((error as { code?: string } | null)?.code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
          payload = await attempt(await this.keysOf(policy.issuer, true));
        }
      }
    } catch (error) {
      if (error instanceof FederationRejection) throw error;
      throw new FederationRejection('untrusted', describeJoseError(error, policy, audiences));
    }
    const claim = policy.subjectClaim ?? 'sub';
    if (!subjectMatches(payload[claim], policy.subject)) {
      throw new FederationRejection('untrusted', `the subject token ${claim} claim does not match the policy subject.`);
    }
    return { expiresAt: (payload.exp as number) * 1000 };
  }

  private keysOf(issuer: string, refresh: boolean): Promise<JSONWebKeySet> {
    const cached = this.keysByIssuer.get(issuer);
    if (cached && !refresh) return cached;
    const pending = discoverKeys(issuer);
    this.keysByIssuer.set(issuer, pending);
    // A failed discovery is not cached: the next exchange tries again.
    pending.catch(() => {
      if (this.keysByIssuer.get(issuer) === pending) this.keysByIssuer.delete(issuer);
    });
    return pending;
  }
}
