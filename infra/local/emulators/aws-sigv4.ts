/**
 * Server-side check of an AWS Signature Version 4 `Authorization` header, for the local AWS emulators.
 *
 * Verified: the algorithm (canonical request -> string to sign -> HMAC key chain "AWS4"+secret / date / region /
 * service / "aws4_request") follows the SigV4 documentation and is exercised end to end by the emulator tests against
 * the real @aws-sdk signer. Secrets Manager answers a request without credentials with HTTP 400
 * MissingAuthenticationTokenException "Missing Authentication Token" (aws/aws-sdk-cpp #2407 shows status, headers and
 * an 89-byte body, which is exactly `{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}`).
 *
 * Assumed: the other error names and messages (IncompleteSignatureException, InvalidSignatureException,
 * UnrecognizedClientException), all with HTTP 400 as AWS JSON services use; request-time skew is checked only when
 * `maxSkewMinutes` is given.
 *
 * The payload line of the canonical request is the SHA-256 of the body received, whatever `x-amz-content-sha256`
 * claims (only the literal UNSIGNED-PAYLOAD is taken as is), so a body altered after signing never verifies.
 * Assumed: non-S3 services hash the payload they receive rather than trust the header.
 *
 * API Gateway (IAM authorization) words some failures its own way; `messages: 'api-gateway'` selects its wording:
 * - Credential scope: one sentence per problem, each ending ". ", e.g. {"message": "Credential should be scoped to a
 *   valid region, not 'us-east-1'. Credential should be scoped to correct service: 'execute-api'. "} (an API Gateway
 *   custom domain, Kong/insomnia #830; the region sentence alone in joona/aws-es-curl #15).
 * - Clock skew, 5 minutes for API Gateway: "Signature expired: 20201027T123008Z is now earlier than 20201027T125507Z
 *   (20201027T130007Z - 5 min.)" (API Gateway with IAM auth, HTTP 403, mhart/aws4 #118; InvalidSignatureException
 *   in cognitect-labs/aws-api #255). The future-date wording "Signature not yet current: <date> is still later than
 *   <now + skew> (<now> + N min.)" is the one STS uses (see sts-presign.ts), assumed the same here.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { amzDate as formatAmzDate, parseAmzDate, SIGNATURE_MISMATCH } from './sts-presign.js';

export interface SigV4Failure {
  type: string;
  message: string;
}

/** Who signed a request that verified. */
export interface SigV4Identity {
  accessKeyId: string;
  region: string;
  service: string;
}

export interface SigV4Options {
  region: string;
  service: string;
  /** accessKeyId -> secretAccessKey; 'any' accepts any key id without checking the signature. */
  credentials: Record<string, string> | 'any';
  /** Reject a request whose X-Amz-Date is further than this from now (API Gateway: 5). Default: not checked. */
  maxSkewMinutes?: number;
  /** Milliseconds since the epoch, for the skew check; defaults to Date.now. */
  clock?: () => number;
  /** Wording of the credential scope failures: the JSON services' (default) or API Gateway's. */
  messages?: 'json-services' | 'api-gateway';
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const encode = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Header values as signed: raw values per lower-cased name, trimmed, inner whitespace collapsed, joined with ','. */
function headerValues(req: IncomingMessage): Map<string, string> {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = (req.rawHeaders[i + 1] as string).trim().replace(/\s+/g, ' ');
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  return new Map([...values].map(([name, list]) => [name, list.join(',')]));
}

/** Sorted by encoded name, then value ("id" before "id-type", which a plain sort of "k=v" strings gets wrong). */
function canonicalQuery(url: URL): string {
  const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...url.searchParams]
    .map(([key, value]) => [encode(key), encode(value)] as const)
    .sort(([ka, va], [kb, vb]) => byCodePoint(ka, kb) || byCodePoint(va, vb))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

/** Returns undefined when the request carries a valid signature for this region and service. */
export function verifySigV4(req: IncomingMessage, body: Buffer, options: SigV4Options): SigV4Failure | undefined {
  const header = req.headers.authorization;
  if (header === undefined || header === '') {
    return { type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  }
  const match = AUTH.exec(header.trim());
  if (!match) {
    return {
      type: 'IncompleteSignatureException',
      message: `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${header.split(' ')[0]}`,
    };
  }
  const [, credential, signedHeaderList, signature] = match as unknown as [string, string, string, string];
  const [accessKeyId, date, region, service, terminator] = credential.split('/');
  const amzDate = req.headers['x-amz-date'];
  if (!accessKeyId || !date || !region || !service || terminator !== 'aws4_request' || typeof amzDate !== 'string') {
    return { type: 'IncompleteSignatureException', message: 'Credential or X-Amz-Date is missing or malformed.' };
  }
  const scopeFailure = credentialScopeFailure(region, service, options);
  if (scopeFailure) return scopeFailure;
  if (!amzDate.startsWith(date)) {
    return {
      type: 'InvalidSignatureException',
      message: 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.',
    };
  }
  if (options.maxSkewMinutes !== undefined) {
    const skew = skewFailure(amzDate, options.maxSkewMinutes, (options.clock ?? Date.now)());
    if (skew) return skew;
  }
  if (options.credentials === 'any') return undefined;
  const secret = options.credentials[accessKeyId];
  if (secret === undefined) {
    return { type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  }

  const url = new URL(req.url ?? '/', 'http://localhost');
  const values = headerValues(req);
  const signedHeaders = signedHeaderList.split(';');
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${values.get(name) ?? ''}\n`).join('');
  const payloadHash = values.get('x-amz-content-sha256') === 'UNSIGNED-PAYLOAD' ? 'UNSIGNED-PAYLOAD' : sha256(body);
  const canonicalRequest = [
    req.method ?? 'POST',
    url.pathname.split('/').map(encode).join('/'),
    canonicalQuery(url),
    canonicalHeaders,
    signedHeaderList,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return { type: 'InvalidSignatureException', message: SIGNATURE_MISMATCH };
  }
  return undefined;
}

/** The signer of a request verifySigV4 accepted (its Authorization header parsed; call only after it verified). */
export function sigV4Identity(req: IncomingMessage): SigV4Identity | undefined {
  const match = AUTH.exec((req.headers.authorization ?? '').trim());
  const [accessKeyId, , region, service] = (match?.[1] ?? '').split('/');
  if (!accessKeyId || !region || !service) return undefined;
  return { accessKeyId, region, service };
}

function credentialScopeFailure(region: string, service: string, options: SigV4Options): SigV4Failure | undefined {
  if (options.messages === 'api-gateway') {
    let message = '';
    if (region !== options.region) message += `Credential should be scoped to a valid region, not '${region}'. `;
    if (service !== options.service) {
      message += `Credential should be scoped to correct service: '${options.service}'. `;
    }
    return message ? { type: 'InvalidSignatureException', message } : undefined;
  }
  if (region !== options.region) {
    return {
      type: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region. Expected '${options.region}', got '${region}'.`,
    };
  }
  if (service !== options.service) {
    return {
      type: 'InvalidSignatureException',
      message: `Credential should be scoped to correct service: '${options.service}'.`,
    };
  }
  return undefined;
}

function skewFailure(amzDate: string, maxSkewMinutes: number, now: number): SigV4Failure | undefined {
  const date = parseAmzDate(amzDate);
  if (date === undefined) {
    return { type: 'IncompleteSignatureException', message: 'Credential or X-Amz-Date is missing or malformed.' };
  }
  const skewMs = maxSkewMinutes * 60_000;
  if (date < now - skewMs) {
    return {
      type: 'InvalidSignatureException',
      message: `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - skewMs)} (${formatAmzDate(now)} - ${maxSkewMinutes} min.)`,
    };
  }
  if (date > now + skewMs) {
    return {
      type: 'InvalidSignatureException',
      message: `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + skewMs)} (${formatAmzDate(now)} + ${maxSkewMinutes} min.)`,
    };
  }
  return undefined;
}
