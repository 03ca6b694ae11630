/**
 * The one server-side AWS Signature Version 4 verifier of the local stack: the Authorization-header form (every AWS
 * emulator and gateway, the API Gateway front door) and the query-string ("presigned") form (STS GET requests and the
 * presigned GetCallerIdentity URLs inside EKS tokens). It reports service-neutral failures; each service words them as
 * its own errors (../emulators/aws-sigv4.ts for the JSON services, ../emulators/sts-presign.ts for STS, aws-gateway.ts,
 * ../lambda-runtime/front-door-iam.ts).
 *
 * Verified: the algorithm (canonical request -> string to sign -> HMAC key chain "AWS4"+secret / date / region /
 * service / "aws4_request") follows the SigV4 documentation and is exercised end to end against the real @aws-sdk
 * signer and botocore. The canonical query string is @smithy/signature-v4's own `getCanonicalQuery` (sorted by encoded
 * name, values sorted within a name, X-Amz-Signature left out), so it is built exactly as the SDK signs it. A
 * presigned URL's canonical request hashes the (empty) body, signs the headers X-Amz-SignedHeaders names (host
 * included, port and all) and leaves X-Amz-Signature out of the query (@smithy/signature-v4 5.7.5 `presign`, read in
 * node_modules).
 *
 * The payload line is the SHA-256 of the body received, whatever `x-amz-content-sha256` claims (only the literal
 * UNSIGNED-PAYLOAD is taken as is), so a body altered after signing never verifies. Assumed: non-S3 services hash the
 * payload they receive rather than trust the header.
 *
 * Messages (their sources are in the adapters named above): "Credential should be scoped to ...", "Signature expired:
 * <date> is now earlier than <now - skew> (<now> - N min.)", "Signature not yet current: ...", the signature mismatch
 * sentence below. API Gateway words the scope failures its own way (`wording: 'api-gateway'`).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { getCanonicalQuery } from '@smithy/signature-v4';
import type { HttpRequest } from '@smithy/types';

/** What went wrong, in no service's words: each service maps a kind to its own error code and status. */
export type SigV4FailureKind = 'missing' | 'incomplete' | 'scope' | 'skew' | 'unknown-key' | 'mismatch';

export interface SigV4Failure {
  kind: SigV4FailureKind;
  message: string;
}

/** Who signed a request that verified. */
export interface SigV4Identity {
  accessKeyId: string;
  region: string;
  service: string;
  /** X-Amz-Security-Token (header or query), when the signer used temporary credentials. */
  sessionToken: string | undefined;
  /** Signed in the query string rather than in an Authorization header. */
  presigned: boolean;
}

export type SigV4Result = { ok: true; identity: SigV4Identity } | { ok: false; failure: SigV4Failure };

/** A request as received: lower-cased header names, values of a repeated header joined with ','. */
export interface SigV4Request {
  method: string;
  /** Path and query exactly as on the request line (host and scheme do not matter). */
  url: URL;
  headers: Record<string, string>;
  body: Buffer;
}

/** accessKeyId -> secretAccessKey; 'any' accepts any key id without checking the signature. */
export type SigV4Credentials = Record<string, string> | 'any' | ((accessKeyId: string) => string | undefined);

export interface SigV4VerifyOptions {
  region: string;
  service: string;
  credentials: SigV4Credentials;
  /** Header form: reject a request whose X-Amz-Date is further than this from now. Default: not checked. */
  maxSkewMinutes?: number;
  /** Query form: the allowance around X-Amz-Date (STS: 15 minutes, whatever X-Amz-Expires says). Default 15. */
  presignedSkewMinutes?: number;
  /** Milliseconds since the epoch; defaults to Date.now. */
  clock?: () => number;
  /** Wording of the credential scope failures: the JSON services' (default) or API Gateway's. */
  wording?: 'json-services' | 'api-gateway';
}

export const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;
const MALFORMED = 'Credential or X-Amz-Date is missing or malformed.';

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
export const rfc3986 = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** `20060102T150405Z` as used by X-Amz-Date. */
export const amzDate = (ms: number): string =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

export function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A 'skew' failure for a request date more than `minutes` from `now`, as AWS words it; undefined within. */
export function skewFailure(requestDate: number, now: number, minutes: number): SigV4Failure | undefined {
  const skewMs = minutes * 60_000;
  if (requestDate < now - skewMs) {
    return {
      kind: 'skew',
      message: `Signature expired: ${amzDate(requestDate)} is now earlier than ${amzDate(now - skewMs)} (${amzDate(now)} - ${minutes} min.)`,
    };
  }
  if (requestDate > now + skewMs) {
    return {
      kind: 'skew',
      message: `Signature not yet current: ${amzDate(requestDate)} is still later than ${amzDate(now + skewMs)} (${amzDate(now)} + ${minutes} min.)`,
    };
  }
  return undefined;
}

/** The request node:http received, in the verifier's terms (repeated headers joined as SigV4 signs them). */
export function sigV4Request(req: IncomingMessage, body: Buffer): SigV4Request {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    values.set(name, [...(values.get(name) ?? []), req.rawHeaders[i + 1] as string]);
  }
  const headers = Object.fromEntries([...values].map(([name, list]) => [name, list.join(',')]));
  return { method: req.method ?? 'GET', url: new URL(req.url ?? '/', 'http://localhost'), headers, body };
}

/** Verifies the Authorization header, or the query-string signature when there is no header but X-Amz-Signature. */
export function verifySigV4Request(request: SigV4Request, options: SigV4VerifyOptions): SigV4Result {
  const header = request.headers.authorization;
  if ((header === undefined || header === '') && request.url.searchParams.has('X-Amz-Signature')) {
    return verifyQuery(request, options);
  }
  return verifyHeader(request, options);
}

/** The key id a request claims to be signed with (header or query), before or without verification. */
export function claimedAccessKeyId(request: SigV4Request): string | undefined {
  const credential =
    AUTH.exec((request.headers.authorization ?? '').trim())?.[1] ?? request.url.searchParams.get('X-Amz-Credential');
  return credential?.split('/')[0] || undefined;
}

function verifyHeader(request: SigV4Request, options: SigV4VerifyOptions): SigV4Result {
  const fail = (kind: SigV4FailureKind, message: string): SigV4Result => ({ ok: false, failure: { kind, message } });
  const header = request.headers.authorization;
  if (header === undefined || header === '') return fail('missing', 'Missing Authentication Token');
  const match = AUTH.exec(header.trim());
  if (!match) {
    return fail(
      'incomplete',
      `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${header.split(' ')[0]}`,
    );
  }
  const [, credential, signedHeaderList, signature] = match as unknown as [string, string, string, string];
  const requestDate = request.headers['x-amz-date'];
  if (requestDate === undefined) return fail('incomplete', MALFORMED);
  const scoped = credentialScope(credential, requestDate, options);
  if (!scoped.ok) return scoped;
  const { accessKeyId, date, region, service } = scoped;
  if (options.maxSkewMinutes !== undefined) {
    const parsed = parseAmzDate(requestDate);
    if (parsed === undefined) return fail('incomplete', MALFORMED);
    const skew = skewFailure(parsed, (options.clock ?? Date.now)(), options.maxSkewMinutes);
    if (skew) return { ok: false, failure: skew };
  }
  const identity: SigV4Identity = {
    accessKeyId,
    region,
    service,
    sessionToken: request.headers['x-amz-security-token'],
    presigned: false,
  };
  const payloadHash =
    request.headers['x-amz-content-sha256'] === 'UNSIGNED-PAYLOAD' ? 'UNSIGNED-PAYLOAD' : sha256Hex(request.body);
  return checkSignature(request, options, identity, {
    date,
    requestDate,
    signedHeaderList,
    signature,
    payloadHash,
    query: queryRecord(request.url),
  });
}

function verifyQuery(request: SigV4Request, options: SigV4VerifyOptions): SigV4Result {
  const fail = (kind: SigV4FailureKind, message: string): SigV4Result => ({ ok: false, failure: { kind, message } });
  const q = request.url.searchParams;
  const algorithm = q.get('X-Amz-Algorithm');
  const credential = q.get('X-Amz-Credential');
  const requestDate = q.get('X-Amz-Date');
  const signedHeaderList = q.get('X-Amz-SignedHeaders');
  const signature = q.get('X-Amz-Signature');
  if (!algorithm || !credential || !requestDate || !signedHeaderList || !signature) {
    return fail(
      'incomplete',
      "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders' and 'X-Amz-Signature'.",
    );
  }
  if (algorithm !== 'AWS4-HMAC-SHA256') return fail('incomplete', `Unsupported AWS 'algorithm': '${algorithm}'.`);
  const parsed = parseAmzDate(requestDate);
  if (parsed === undefined) return fail('incomplete', MALFORMED);
  const scoped = credentialScope(credential, requestDate, options);
  if (!scoped.ok) return scoped;
  const { accessKeyId, date, region, service } = scoped;
  const skew = skewFailure(parsed, (options.clock ?? Date.now)(), options.presignedSkewMinutes ?? 15);
  if (skew) return { ok: false, failure: skew };
  const identity: SigV4Identity = {
    accessKeyId,
    region,
    service,
    sessionToken: q.get('X-Amz-Security-Token') ?? undefined,
    presigned: true,
  };
  return checkSignature(request, options, identity, {
    date,
    requestDate,
    signedHeaderList,
    signature,
    payloadHash: sha256Hex(request.body),
    query: queryRecord(request.url),
  });
}

interface SignedParts {
  date: string;
  requestDate: string;
  signedHeaderList: string;
  signature: string;
  payloadHash: string;
  query: Record<string, string | string[]>;
}

function checkSignature(
  request: SigV4Request,
  options: SigV4VerifyOptions,
  identity: SigV4Identity,
  parts: SignedParts,
): SigV4Result {
  if (options.credentials === 'any') return { ok: true, identity };
  const secret =
    typeof options.credentials === 'function'
      ? options.credentials(identity.accessKeyId)
      : options.credentials[identity.accessKeyId];
  if (secret === undefined) {
    return {
      ok: false,
      failure: { kind: 'unknown-key', message: 'The security token included in the request is invalid.' },
    };
  }
  const canonicalHeaders = parts.signedHeaderList
    .split(';')
    .map((name) => `${name}:${(request.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalRequest = [
    request.method,
    request.url.pathname.split('/').map(rfc3986).join('/'),
    getCanonicalQuery({ query: parts.query } as unknown as HttpRequest),
    canonicalHeaders,
    parts.signedHeaderList,
    parts.payloadHash,
  ].join('\n');
  const scope = `${parts.date}/${identity.region}/${identity.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', parts.requestDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, parts.date), identity.region), identity.service), 'aws4_request');
  const expected = Buffer.from(createHmac('sha256', key).update(stringToSign).digest('hex'));
  const given = Buffer.from(parts.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, failure: { kind: 'mismatch', message: SIGNATURE_MISMATCH } };
  }
  return { ok: true, identity };
}

/** The query as @smithy/signature-v4 holds it: a name given several times maps to all its values. */
function queryRecord(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const existing = query[key];
    query[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return query;
}

/** The Credential's parts (`<key>/<date>/<region>/<service>/aws4_request`), checked against the service and the date. */
function credentialScope(
  credential: string,
  requestDate: string,
  options: SigV4VerifyOptions,
):
  | { ok: true; accessKeyId: string; date: string; region: string; service: string }
  | { ok: false; failure: SigV4Failure } {
  const [accessKeyId, date, region, service, terminator] = credential.split('/');
  if (!accessKeyId || !date || !region || !service || terminator !== 'aws4_request') {
    return { ok: false, failure: { kind: 'incomplete', message: MALFORMED } };
  }
  const scope = scopeFailure(region, service, options);
  if (scope) return { ok: false, failure: scope };
  if (!requestDate.startsWith(date)) {
    const message = 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.';
    return { ok: false, failure: { kind: 'mismatch', message } };
  }
  return { ok: true, accessKeyId, date, region, service };
}

function scopeFailure(region: string, service: string, options: SigV4VerifyOptions): SigV4Failure | undefined {
  if (options.wording === 'api-gateway') {
    let message = '';
    if (region !== options.region) message += `Credential should be scoped to a valid region, not '${region}'. `;
    if (service !== options.service) {
      message += `Credential should be scoped to correct service: '${options.service}'. `;
    }
    return message ? { kind: 'scope', message } : undefined;
  }
  if (region !== options.region) {
    return {
      kind: 'scope',
      message: `Credential should be scoped to a valid region. Expected '${options.region}', got '${region}'.`,
    };
  }
  if (service !== options.service) {
    return { kind: 'scope', message: `Credential should be scoped to correct service: '${options.service}'.` };
  }
  return undefined;
}
