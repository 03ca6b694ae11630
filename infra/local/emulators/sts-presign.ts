/**
 * Server-side check of a SigV4 query-string ("presigned") STS request, as STS performs it. It is used by the STS
 * emulator (GET with query authentication) and by the Kubernetes API emulator for EKS tokens (which wrap a presigned
 * GetCallerIdentity URL that the authenticator replays against STS).
 *
 * Verified:
 * - Canonical request for a presigned URL: query parameters other than X-Amz-Signature, sorted and RFC 3986-encoded;
 *   signed headers from X-Amz-SignedHeaders; payload hash of the (empty) body; key chain AWS4+secret / date / region /
 *   service / aws4_request (SigV4 docs; @smithy/signature-v4 5.7.5 `presign` read in node_modules: it hoists x-amz-*
 *   headers to the query, keeps others such as x-k8s-aws-id signed as headers, and hashes the empty body).
 * - STS accepts a presigned GetCallerIdentity URL for 15 minutes after X-Amz-Date whatever X-Amz-Expires says
 *   (aws-iam-authenticator pkg/token/token.go comment); clock-skew errors are SignatureDoesNotMatch, HTTP 403,
 *   "Signature expired: <date> is now earlier than <now-15m> (<now> - 15 min.)" and "Signature not yet current:
 *   <date> is still later than <now+15m> (<now> + 15 min.)" (aws/aws-cli #6676 and a Terraform report quote both).
 * - Unknown key: InvalidClientTokenId, 403, "The security token included in the request is invalid."; bad
 *   signature: SignatureDoesNotMatch, 403, with the message below (aws/aws-cli #5447, jrl84/amazon-sp-api #218).
 *
 * Assumed: IncompleteSignature (400) and its messages for missing or malformed X-Amz-* parameters; the message for a
 * credential scoped to another region or service.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface StsAuthFailure {
  status: number;
  code: string;
  message: string;
}

export interface PresignedStsIdentity {
  accessKeyId: string;
  region: string;
  sessionToken: string | undefined;
}

export interface PresignedStsOptions {
  /** accessKeyId -> secretAccessKey; 'any' accepts any key id without checking the signature. */
  credentials: Record<string, string> | 'any';
  /** Milliseconds since the epoch. */
  now: number;
  /** The region the credential scope must name (the endpoint's region; us-east-1 for the global endpoint). */
  region: string;
  /** Lower-cased header values as received by STS (the presigned URL's host is added from the URL). */
  headers?: Record<string, string>;
  method?: string;
  body?: Buffer;
}

export const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const SKEW_MS = 15 * 60_000;

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

/** SignatureDoesNotMatch for a request date more than 15 minutes from `now`, as STS words it. */
export function skewFailure(requestDate: number, now: number): StsAuthFailure | undefined {
  if (requestDate < now - SKEW_MS) {
    return {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: `Signature expired: ${amzDate(requestDate)} is now earlier than ${amzDate(now - SKEW_MS)} (${amzDate(now)} - 15 min.)`,
    };
  }
  if (requestDate > now + SKEW_MS) {
    return {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: `Signature not yet current: ${amzDate(requestDate)} is still later than ${amzDate(now + SKEW_MS)} (${amzDate(now)} + 15 min.)`,
    };
  }
  return undefined;
}

const incomplete = (message: string): StsAuthFailure => ({ status: 400, code: 'IncompleteSignature', message });

/** Verifies a presigned STS request; returns the caller's key id or the failure STS would answer with. */
export function verifyPresignedSts(
  url: URL,
  options: PresignedStsOptions,
): { ok: true; identity: PresignedStsIdentity } | { ok: false; failure: StsAuthFailure } {
  const fail = (failure: StsAuthFailure) => ({ ok: false as const, failure });
  const q = url.searchParams;
  const algorithm = q.get('X-Amz-Algorithm');
  const credential = q.get('X-Amz-Credential');
  const date = q.get('X-Amz-Date');
  const signedHeaderList = q.get('X-Amz-SignedHeaders');
  const signature = q.get('X-Amz-Signature');
  if (!algorithm || !credential || !date || !signedHeaderList || !signature) {
    return fail(
      incomplete(
        "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders' and 'X-Amz-Signature'.",
      ),
    );
  }
  if (algorithm !== 'AWS4-HMAC-SHA256') return fail(incomplete(`Unsupported AWS 'algorithm': '${algorithm}'.`));
  const [accessKeyId, scopeDate, region, service, terminator] = credential.split('/');
  const requestDate = parseAmzDate(date);
  if (!accessKeyId || !scopeDate || !region || !service || terminator !== 'aws4_request' || requestDate === undefined) {
    return fail(incomplete('Credential or X-Amz-Date is missing or malformed.'));
  }
  if (region !== options.region) {
    return fail({
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: `Credential should be scoped to a valid region. Expected '${options.region}', got '${region}'.`,
    });
  }
  if (service !== 'sts') {
    return fail({
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: "Credential should be scoped to correct service: 'sts'.",
    });
  }
  if (!date.startsWith(scopeDate)) {
    return fail({
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.',
    });
  }
  const skew = skewFailure(requestDate, options.now);
  if (skew) return fail(skew);
  const identity = { accessKeyId, region, sessionToken: q.get('X-Amz-Security-Token') ?? undefined };
  if (options.credentials === 'any') return { ok: true, identity };
  const secret = options.credentials[accessKeyId];
  if (secret === undefined) {
    return fail({
      status: 403,
      code: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
    });
  }

  const headers: Record<string, string> = { ...options.headers, host: url.host };
  const signedHeaders = signedHeaderList.split(';');
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalQuery = [...q]
    .filter(([key]) => key !== 'X-Amz-Signature')
    .map(([key, value]) => `${rfc3986(key)}=${rfc3986(value)}`)
    .sort()
    .join('&');
  const canonicalRequest = [
    options.method ?? 'GET',
    url.pathname.split('/').map(rfc3986).join('/'),
    canonicalQuery,
    canonicalHeaders,
    signedHeaderList,
    sha256Hex(options.body ?? Buffer.alloc(0)),
  ].join('\n');
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, scopeDate), region), service), 'aws4_request');
  const expected = Buffer.from(createHmac('sha256', key).update(stringToSign).digest('hex'));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return fail({ status: 403, code: 'SignatureDoesNotMatch', message: SIGNATURE_MISMATCH });
  }
  return { ok: true, identity };
}
