/**
 * SigV4 verification for the AWS JSON-protocol emulators (Secrets Manager, the STS header form) and the front door,
 * worded as those services answer: an adapter over the local stack's one verifier, ../iam/sigv4-verifier.ts.
 *
 * Verified: Secrets Manager answers a request without credentials with HTTP 400 MissingAuthenticationTokenException
 * "Missing Authentication Token" (aws/aws-sdk-cpp #2407 shows status, headers and an 89-byte body, which is exactly
 * `{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}`).
 *
 * Assumed: the other error names (IncompleteSignatureException, InvalidSignatureException, UnrecognizedClientException),
 * all with HTTP 400 as AWS JSON services use; request-time skew is checked only when `maxSkewMinutes` is given.
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
import type { IncomingMessage } from 'node:http';
import {
  type SigV4Credentials,
  type SigV4FailureKind,
  sigV4Request,
  verifySigV4Request,
} from '../iam/sigv4-verifier.js';

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
  credentials: SigV4Credentials;
  /** Reject a request whose X-Amz-Date is further than this from now (API Gateway: 5). Default: not checked. */
  maxSkewMinutes?: number;
  /** Milliseconds since the epoch, for the skew check; defaults to Date.now. */
  clock?: () => number;
  /** Wording of the credential scope failures: the JSON services' (default) or API Gateway's. */
  messages?: 'json-services' | 'api-gateway';
}

/** The JSON services' exception names for the verifier's failure kinds. */
export const JSON_SERVICE_AUTH_ERRORS: Record<SigV4FailureKind, string> = {
  missing: 'MissingAuthenticationTokenException',
  incomplete: 'IncompleteSignatureException',
  scope: 'InvalidSignatureException',
  skew: 'InvalidSignatureException',
  'unknown-key': 'UnrecognizedClientException',
  mismatch: 'InvalidSignatureException',
};

/** Returns undefined when the request carries a valid Authorization header for this region and service. */
export function verifySigV4(req: IncomingMessage, body: Buffer, options: SigV4Options): SigV4Failure | undefined {
  const request = sigV4Request(req, body);
  // This entry point checks the header form only (the query form is STS's, see sts-presign.ts).
  if (!request.headers.authorization) request.url.searchParams.delete('X-Amz-Signature');
  const result = verifySigV4Request(request, {
    region: options.region,
    service: options.service,
    credentials: options.credentials,
    ...(options.maxSkewMinutes !== undefined ? { maxSkewMinutes: options.maxSkewMinutes } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.messages ? { wording: options.messages } : {}),
  });
  return result.ok
    ? undefined
    : { type: JSON_SERVICE_AUTH_ERRORS[result.failure.kind], message: result.failure.message };
}

/** The signer of a request verifySigV4 accepted (its Authorization header parsed; call only after it verified). */
export function sigV4Identity(req: IncomingMessage): SigV4Identity | undefined {
  const match = /Credential=([^,\s]+)/.exec(req.headers.authorization ?? '');
  const [accessKeyId, , region, service] = (match?.[1] ?? '').split('/');
  if (!accessKeyId || !region || !service) return undefined;
  return { accessKeyId, region, service };
}
