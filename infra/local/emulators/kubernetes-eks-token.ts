/**
 * EKS bearer tokens (`k8s-aws-v1.` + base64url of a presigned STS GetCallerIdentity URL): the server-side check the
 * Kubernetes API emulator runs, mirroring aws-iam-authenticator. Tokens are built by the product's own builder
 * (shared/kube/eks-token.ts) or by `aws eks get-token`; this file only verifies.
 *
 * Verified (kubernetes-sigs/aws-iam-authenticator pkg/token/token.go, read in full):
 * - Token at most 4 KiB; `k8s-aws-v1.` prefix; base64 RawURL (no padding); https scheme; STS host; path `/`; only the
 *   whitelisted query parameters (action, version, x-amz-algorithm, x-amz-credential, x-amz-date, x-amz-expires,
 *   x-amz-security-token, x-amz-signature, x-amz-signedheaders; case-insensitive), each once; Action=GetCallerIdentity;
 *   x-k8s-aws-id among X-Amz-SignedHeaders; 0 <= X-Amz-Expires <= 900; X-Amz-Date present and not older than 15 min.
 * - The authenticator then replays the URL against STS with `x-k8s-aws-id: <its cluster id>` and `accept:
 *   application/json`; STS checks the signature, so a token for another cluster fails there. Any failure is a 401.
 * - The generators sign `host;x-k8s-aws-id` with X-Amz-Expires=60 (ignored by STS); `aws eks get-token` (aws-cli
 *   1.45, run here) presigns for the regional host `sts.<region>.amazonaws.com` of its --region, older CLIs for the
 *   global `sts.amazonaws.com` in us-east-1.
 * - The authenticator accepts the regional STS hosts of its partition, so any `sts.<region>.amazonaws.com` (and the
 *   global host) is accepted; the credential scope must name the host's region (checked with the signature).
 *
 * Assumed: STS rejecting a Version other than 2011-06-15; FIPS and China hosts are not accepted here.
 */
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
  /** The cluster's region: documentation only, since every regional STS host is accepted (see above). */
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
  const regional = /^sts\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com$/.exec(url.host);
  const hostRegion = url.host === 'sts.amazonaws.com' ? 'us-east-1' : (regional?.[1] ?? '');
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
