/**
 * A reusable OIDC token issuer for the local emulators: signing keys, a public JWKS, the discovery document and
 * JWT minting, plus the HTTP pieces to serve `/.well-known/openid-configuration` and the JWKS. The Kubernetes API
 * emulator (service account tokens) and the STS emulator (GetWebIdentityToken) mount it; `serveOidcIssuer` runs a
 * standalone one (e.g. the connector's own identity for Model 1) on emulator-server.ts. Binds 127.0.0.1 only.
 *
 * Verified:
 * - Discovery document fields as kube-apiserver serves them (`issuer`, `jwks_uri`, `response_types_supported:
 *   ["id_token"]`, `subject_types_supported: ["public"]`, `id_token_signing_alg_values_supported`); discovery lives at
 *   `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
 * - JWKS entries carry `kty`, `kid`, `use: "sig"`, `alg` and the public parameters only (RFC 7517).
 * - jose 6 `createRemoteJWKSet` does not check the JWKS Content-Type (read in node_modules/jose), so either media
 *   type works for it.
 *
 * Assumed: `kid` defaults to the RFC 7638 thumbprint (kube-apiserver derives it from a hash of the DER public key;
 * AWS's scheme is unpublished); JWKS served as `application/jwk-set+json` (kube-apiserver's choice, assumed for all);
 * rotated-out keys stay published until dropped, as issuers do during rotation. HS256 publishes no key (a shared
 * secret has no public half): it exists so tests can mint a JWT that relying parties (Databricks) must reject.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  generateSecret,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { startEmulatorServer } from './emulator-server.js';

export type OidcSigningAlgorithm = 'RS256' | 'ES256' | 'ES384' | 'HS256';

export interface OidcIssuerOptions {
  /** The `iss` claim and the base of the discovery URL (no trailing slash needed). */
  issuerUrl: string;
  algorithm?: OidcSigningAlgorithm;
  /** Key id of the first key; defaults to its RFC 7638 thumbprint. */
  kid?: string;
  /** Path of the JWKS below the issuer URL; kube-apiserver uses `/openid/v1/jwks`, AWS STS `/.well-known/jwks.json`. */
  jwksPath?: string;
  /** JWT header `typ`; omitted when unset (kube-apiserver omits it). */
  typ?: string;
  /** Milliseconds since the epoch; defaults to Date.now. */
  clock?: () => number;
}

export interface OidcTokenClaims {
  sub: string;
  aud: string | string[];
  /** Lifetime from now; negative values mint an already expired token. */
  expiresInSeconds: number;
  /** Merged last, so it can also override standard claims (for negative tests). */
  extra?: Record<string, unknown>;
  /** Adds `nbf` = `iat` (default true). */
  notBefore?: boolean;
  /** `jti`; a random UUID by default, `false` omits it. */
  jti?: string | false;
}

export interface OidcDiscoveryDocument {
  issuer: string;
  jwks_uri: string;
  response_types_supported: string[];
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
}

export interface OidcIssuer {
  readonly issuer: string;
  readonly algorithm: OidcSigningAlgorithm;
  readonly jwksUri: string;
  /** Key id of the current signing key. */
  readonly kid: string;
  /** Public keys only: current first, then the rotated-out keys still published. Empty for HS256. */
  jwks(): JSONWebKeySet;
  discovery(): OidcDiscoveryDocument;
  sign(claims: OidcTokenClaims): Promise<string>;
  /**
   * A new signing key. The old public key stays in the JWKS (tokens it signed still verify) unless
   * `keepPrevious: false`. Returns the new kid.
   */
  rotateKey(options?: { kid?: string; keepPrevious?: boolean }): Promise<string>;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey | Uint8Array;
  publicJwk: JWK | undefined;
}

const trimSlash = (url: string): string => url.replace(/\/+$/, '');

async function newKey(algorithm: OidcSigningAlgorithm, kid: string | undefined): Promise<SigningKey> {
  if (algorithm === 'HS256') {
    const secret = await generateSecret('HS256', { extractable: true });
    return { kid: kid ?? randomUUID(), privateKey: secret, publicJwk: undefined };
  }
  const { publicKey, privateKey } = await generateKeyPair(algorithm);
  const jwk = await exportJWK(publicKey);
  const keyId = kid ?? (await calculateJwkThumbprint(jwk));
  return { kid: keyId, privateKey, publicJwk: { ...jwk, kid: keyId, use: 'sig', alg: algorithm } };
}

export async function createOidcIssuer(options: OidcIssuerOptions): Promise<OidcIssuer> {
  const issuer = trimSlash(options.issuerUrl);
  const algorithm = options.algorithm ?? 'RS256';
  const jwksUri = `${issuer}${options.jwksPath ?? '/.well-known/jwks.json'}`;
  const clock = options.clock ?? Date.now;
  let current = await newKey(algorithm, options.kid);
  let previous: SigningKey[] = [];

  return {
    issuer,
    algorithm,
    jwksUri,
    get kid() {
      return current.kid;
    },
    jwks: () => ({
      keys: [current, ...previous].flatMap((key) => (key.publicJwk ? [structuredClone(key.publicJwk)] : [])),
    }),
    discovery: () => ({
      issuer,
      jwks_uri: jwksUri,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [algorithm],
    }),
    async sign(claims) {
      const iat = Math.floor(clock() / 1000);
      const payload: JWTPayload = {
        iss: issuer,
        sub: claims.sub,
        aud: Array.isArray(claims.aud) ? [...claims.aud] : claims.aud,
        exp: iat + claims.expiresInSeconds,
        iat,
        ...(claims.notBefore === false ? {} : { nbf: iat }),
        ...(claims.jti === false ? {} : { jti: claims.jti ?? randomUUID() }),
        ...claims.extra,
      };
      return new SignJWT(payload)
        .setProtectedHeader({ alg: algorithm, kid: current.kid, ...(options.typ ? { typ: options.typ } : {}) })
        .sign(current.privateKey);
    },
    async rotateKey(rotation = {}) {
      const next = await newKey(algorithm, rotation.kid);
      previous = rotation.keepPrevious === false ? [] : [current, ...previous];
      current = next;
      return next.kid;
    },
  };
}

/** One response of the OIDC routes, or undefined when the path is not one of them. */
export interface OidcRouteReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Answers `GET <issuer path>/.well-known/openid-configuration` and `GET <jwks path>` for one or more issuers that
 * share an issuer URL (e.g. STS's RS256 and ES384 keys): the JWKS is the union, the algorithms are all listed.
 */
export function oidcRoute(
  issuers: OidcIssuer | OidcIssuer[],
  method: string,
  pathname: string,
): OidcRouteReply | undefined {
  const list = Array.isArray(issuers) ? issuers : [issuers];
  const first = list[0];
  if (!first) return undefined;
  const discoveryPath = `${new URL(first.issuer).pathname.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const jwksPath = new URL(first.jwksUri).pathname;
  if (pathname !== discoveryPath && pathname !== jwksPath) return undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    return { status: 405, headers: { 'Content-Type': 'text/plain; charset=utf-8', Allow: 'GET, HEAD' }, body: '' };
  }
  if (pathname === discoveryPath) {
    const document = {
      ...first.discovery(),
      id_token_signing_alg_values_supported: [...new Set(list.map((issuer) => issuer.algorithm))],
    };
    return {
      status: 200,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' },
      body: JSON.stringify(document),
    };
  }
  const keys = list.flatMap((issuer) => issuer.jwks().keys);
  return {
    status: 200,
    headers: { 'Content-Type': 'application/jwk-set+json', 'Cache-Control': 'public, max-age=3600' },
    body: JSON.stringify({ keys }),
  };
}

/** Writes the OIDC route's response when `req` is one; returns whether it did. */
export function handleOidcRequest(
  issuers: OidcIssuer | OidcIssuer[],
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
  const reply = oidcRoute(issuers, req.method ?? 'GET', pathname);
  if (!reply) return false;
  res.writeHead(reply.status, { ...reply.headers, 'Content-Length': Buffer.byteLength(reply.body) });
  res.end(req.method === 'HEAD' ? undefined : reply.body);
  return true;
}

export interface ServedOidcIssuer {
  /** The issuer URL: `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly issuer: OidcIssuer;
  close(): Promise<void>;
}

/** A standalone issuer on 127.0.0.1 serving its discovery document and JWKS; its URL is the issuer. */
export async function serveOidcIssuer(
  options: Omit<OidcIssuerOptions, 'issuerUrl'> & { port?: number } = {},
): Promise<ServedOidcIssuer> {
  let issuer: OidcIssuer | undefined;
  const server = await startEmulatorServer({
    port: options.port,
    maxBodyBytes: Number.POSITIVE_INFINITY,
    handle: ({ method, url }) =>
      (issuer && oidcRoute(issuer, method, url.pathname)) ?? {
        status: 404,
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
        body: '404 page not found\n',
      },
  });
  const { port: _port, ...issuerOptions } = options;
  issuer = await createOidcIssuer({ ...issuerOptions, issuerUrl: server.url });
  return { url: server.url, issuer, close: () => server.close() };
}
