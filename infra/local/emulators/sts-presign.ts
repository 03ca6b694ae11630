/**
 * STS's words for SigV4 failures, and the check of a SigV4 query-string ("presigned") STS request, as STS performs it:
 * an adapter over the local stack's one verifier, ../iam/sigv4-verifier.ts. Used by the STS emulator (GET with query
 * authentication, and its header-form skew check) and by the Kubernetes API emulator for EKS tokens (which wrap a
 * presigned GetCallerIdentity URL that the authenticator replays against STS).
 *
 * Verified:
 * - STS accepts a presigned GetCallerIdentity URL for 15 minutes after X-Amz-Date whatever X-Amz-Expires says
 *   (aws-iam-authenticator pkg/token/token.go comment); clock-skew errors are SignatureDoesNotMatch, HTTP 403,
 *   "Signature expired: <date> is now earlier than <now-15m> (<now> - 15 min.)" and "Signature not yet current:
 *   <date> is still later than <now+15m> (<now> + 15 min.)" (aws/aws-cli #6676 and a Terraform report quote both).
 * - Unknown key: InvalidClientTokenId, 403, "The security token included in the request is invalid."; bad
 *   signature: SignatureDoesNotMatch, 403, "The request signature we calculated does not match ..." (aws/aws-cli
 *   #5447, jrl84/amazon-sp-api #218).
 *
 * Assumed: IncompleteSignature (400) and its messages for missing or malformed X-Amz-* parameters; the message for a
 * credential scoped to another region or service (SignatureDoesNotMatch, 403); no Authorization header reads
 * MissingAuthenticationToken, 403, "Request is missing Authentication Token".
 */
import {
  amzDate,
  parseAmzDate,
  rfc3986,
  SIGNATURE_MISMATCH,
  type SigV4Credentials,
  type SigV4Failure,
  sha256Hex,
  skewFailure as skew,
  verifySigV4Request,
} from '../iam/sigv4-verifier.js';

export { amzDate, parseAmzDate, rfc3986, SIGNATURE_MISMATCH, sha256Hex };

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
  credentials: SigV4Credentials;
  /** Milliseconds since the epoch. */
  now: number;
  /** The region the credential scope must name (the endpoint's region; us-east-1 for the global endpoint). */
  region: string;
  /** Lower-cased header values as received by STS (the presigned URL's host is added from the URL). */
  headers?: Record<string, string>;
  method?: string;
  body?: Buffer;
}

/** STS (query protocol) error code and status for a verifier failure. */
export function stsAuthFailure(failure: SigV4Failure): StsAuthFailure {
  switch (failure.kind) {
    case 'missing':
      return { status: 403, code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token' };
    case 'incomplete':
      return { status: 400, code: 'IncompleteSignature', message: failure.message };
    case 'unknown-key':
      return { status: 403, code: 'InvalidClientTokenId', message: failure.message };
    default:
      return { status: 403, code: 'SignatureDoesNotMatch', message: failure.message };
  }
}

/** SignatureDoesNotMatch for a request date more than 15 minutes from `now`, as STS words it. */
export function skewFailure(requestDate: number, now: number): StsAuthFailure | undefined {
  const failure = skew(requestDate, now, 15);
  return failure ? stsAuthFailure(failure) : undefined;
}

/** Verifies a presigned STS request; returns the caller's key id or the failure STS would answer with. */
export function verifyPresignedSts(
  url: URL,
  options: PresignedStsOptions,
): { ok: true; identity: PresignedStsIdentity } | { ok: false; failure: StsAuthFailure } {
  const headers: Record<string, string> = { ...options.headers, host: url.host };
  delete headers.authorization;
  // Without X-Amz-Signature the verifier would look for a header signature; STS asks for the query parameters.
  const query = url.searchParams.has('X-Amz-Signature') ? url : withEmptySignature(url);
  const result = verifySigV4Request(
    { method: options.method ?? 'GET', url: query, headers, body: options.body ?? Buffer.alloc(0) },
    { region: options.region, service: 'sts', credentials: options.credentials, clock: () => options.now },
  );
  if (!result.ok) return { ok: false, failure: stsAuthFailure(result.failure) };
  const { accessKeyId, region, sessionToken } = result.identity;
  return { ok: true, identity: { accessKeyId, region, sessionToken } };
}

function withEmptySignature(url: URL): URL {
  const copy = new URL(url);
  copy.searchParams.set('X-Amz-Signature', '');
  return copy;
}
