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
 * UnrecognizedClientException), all with HTTP 400 as AWS JSON services use; request-time skew (15 min) is not checked.
 */
import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface SigV4Failure {
  type: string;
  message: string;
}

export interface SigV4Options {
  region: string;
  service: string;
  /** accessKeyId -> secretAccessKey; 'any' accepts any key id without checking the signature. */
  credentials: Record<string, string> | 'any';
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

function canonicalQuery(url: URL): string {
  return [...url.searchParams]
    .map(([key, value]) => `${encode(key)}=${encode(value)}`)
    .sort()
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
  if (!amzDate.startsWith(date)) {
    return {
      type: 'InvalidSignatureException',
      message: 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.',
    };
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
  const payloadHash = values.get('x-amz-content-sha256') ?? sha256(body);
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
  if (createHmac('sha256', key).update(stringToSign).digest('hex') !== signature) {
    return {
      type: 'InvalidSignatureException',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    };
  }
  return undefined;
}
