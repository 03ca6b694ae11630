/**
 * EKS bearer tokens (`k8s-aws-v1.` + base64url of a presigned STS GetCallerIdentity URL): the server-side check the
 * Kubernetes API emulator runs, mirroring aws-iam-authenticator, and a client-side builder.
 *
 * Verified (kubernetes-sigs/aws-iam-authenticator pkg/token/token.go, read in full):
 * - Token at most 4 KiB; `k8s-aws-v1.` prefix; base64 RawURL (no padding); https scheme; STS host; path `/`; only the
 *   whitelisted query parameters (action, version, x-amz-algorithm, x-amz-credential, x-amz-date, x-amz-expires,
 *   x-amz-security-token, x-amz-signature, x-amz-signedheaders; case-insensitive), each once; Action=GetCallerIdentity;
 *   x-k8s-aws-id among X-Amz-SignedHeaders; 0 <= X-Amz-Expires <= 900; X-Amz-Date present and not older than 15 min.
 * - The authenticator then replays the URL against STS with `x-k8s-aws-id: <its cluster id>` and `accept:
 *   application/json`; STS checks the signature, so a token for another cluster fails there. Any failure is a 401.
 * - The generator signs `host;x-k8s-aws-id` with X-Amz-Expires=60 (ignored by STS).
 *
 * Assumed: the authenticator accepts every regional STS host of the partition; we accept the configured region's
 * host and the global one only (stricter). STS rejecting a Version other than 2011-06-15.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { parseAmzDate, verifyPresignedSts } from './sts-presign.js';

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
const MAX_TOKEN_LENGTH = 4096;
const PRESIGNED_URL_LIFETIME_MS = 15 * 60_000;
const WHITELIST = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);

export interface EksTokenCheck {
  clusterName: string;
  /** The STS region; the global endpoint (us-east-1 scope) is accepted too. */
  region: string;
  /** accessKeyId -> secretAccessKey known to the emulated STS. */
  credentials: Record<string, string>;
  /** Milliseconds since the epoch. */
  now: number;
}

export type EksTokenResult = { ok: true; accessKeyId: string } | { ok: false; reason: string };

const formatError = (message: string): EksTokenResult => ({
  ok: false,
  reason: `input token was not properly formatted: ${message}`,
});
const stsError = (message: string): EksTokenResult => ({
  ok: false,
  reason: `sts getCallerIdentity failed: ${message}`,
});

/** Verifies an EKS token as aws-iam-authenticator (and then STS) would. */
export function verifyEksToken(token: string, check: EksTokenCheck): EksTokenResult {
  if (token.length > MAX_TOKEN_LENGTH) return formatError('token is too large');
  if (!token.startsWith(EKS_TOKEN_PREFIX)) return formatError(`token is missing expected "${EKS_TOKEN_PREFIX}" prefix`);
  const encoded = token.slice(EKS_TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(encoded) || encoded.length % 4 === 1) {
    return formatError('illegal base64 data in token');
  }
  let url: URL;
  try {
    url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch (err) {
    return formatError(String(err));
  }
  if (url.protocol !== 'https:')
    return formatError(`unexpected scheme "${url.protocol.slice(0, -1)}" in pre-signed URL`);
  const hostRegion =
    url.host === 'sts.amazonaws.com'
      ? 'us-east-1'
      : url.host === `sts.${check.region}.amazonaws.com`
        ? check.region
        : '';
  if (!hostRegion) return formatError(`unexpected hostname "${url.host}" in pre-signed URL`);
  if (url.pathname !== '/') return formatError('unexpected path in pre-signed URL');

  const lower = new Map<string, string>();
  for (const key of new Set(url.searchParams.keys())) {
    if (!WHITELIST.has(key.toLowerCase())) return formatError(`non-whitelisted query parameter "${key}"`);
    const values = url.searchParams.getAll(key);
    if (values.length !== 1) return formatError('query parameter with multiple values not supported');
    lower.set(key.toLowerCase(), values[0] as string);
  }
  if (lower.get('action') !== 'GetCallerIdentity') return formatError('unexpected action parameter in pre-signed URL');
  const signed = (lower.get('x-amz-signedheaders') ?? '').split(';').map((h) => h.toLowerCase());
  if (!signed.includes('x-k8s-aws-id')) {
    return formatError('client did not sign the x-k8s-aws-id header in the pre-signed URL');
  }
  const expiresText = lower.get('x-amz-expires') ?? '';
  const expires = /^[+-]?\d+$/.test(expiresText) ? Number(expiresText) : Number.NaN;
  if (!Number.isInteger(expires) || expires < 0 || expires > 900) {
    return formatError(`invalid X-Amz-Expires parameter in pre-signed URL: ${Number.isNaN(expires) ? 0 : expires}`);
  }
  const dateText = lower.get('x-amz-date');
  if (!dateText) return formatError('X-Amz-Date parameter must be present in pre-signed URL');
  const date = parseAmzDate(dateText);
  if (date === undefined) return formatError(`error parsing X-Amz-Date parameter ${dateText}`);
  if (check.now > date + PRESIGNED_URL_LIFETIME_MS) {
    return formatError(`X-Amz-Date parameter is expired (15 minute expiration) ${new Date(date).toISOString()}`);
  }

  // What STS does with the replayed request.
  if (url.searchParams.get('Version') !== '2011-06-15') {
    return stsError('error from AWS (expected 200, got 400). Body: InvalidAction');
  }
  const result = verifyPresignedSts(url, {
    credentials: check.credentials,
    now: check.now,
    region: hostRegion,
    headers: { 'x-k8s-aws-id': check.clusterName, accept: 'application/json' },
  });
  if (!result.ok) {
    return stsError(`error from AWS (expected 200, got ${result.failure.status}). Body: ${result.failure.code}`);
  }
  return { ok: true, accessKeyId: result.identity.accessKeyId };
}

export interface EksTokenOptions {
  clusterName: string;
  region?: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Defaults to now. */
  signingDate?: Date;
}

/** Builds an EKS token like `aws eks get-token` / aws-iam-authenticator (regional STS endpoint). */
export async function createEksToken(options: EksTokenOptions): Promise<string> {
  const region = options.region ?? 'us-east-1';
  const hostname = `sts.${region}.amazonaws.com`;
  const signer = new SignatureV4({
    service: 'sts',
    region,
    credentials: options.credentials,
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, 'x-k8s-aws-id': options.clusterName },
    },
    { expiresIn: 60, ...(options.signingDate ? { signingDate: options.signingDate } : {}) },
  );
  const query = Object.entries(signed.query ?? {})
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    .join('&');
  return `${EKS_TOKEN_PREFIX}${Buffer.from(`https://${hostname}/?${query}`).toString('base64url')}`;
}
