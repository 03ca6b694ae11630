/**
 * An EKS bearer token without the aws CLI: what `aws eks get-token` and aws-iam-authenticator produce. The token
 * is a SigV4-presigned STS GetCallerIdentity URL; the cluster replays it to STS to learn the caller's IAM identity,
 * and the signed `x-k8s-aws-id` header binds it to one cluster so it cannot be replayed against another.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

export type AwsCredentials = AwsCredentialIdentityProvider | AwsCredentialIdentity;

export interface EksToken {
  token: string;
  expiresAt: Date;
}

export interface EksTokenOptions {
  clusterName: string;
  region: string;
  /** Defaults to the AWS SDK's default chain (on Lambda: the function role). */
  credentials?: AwsCredentials;
  now?: () => Date;
}

const TOKEN_PREFIX = 'k8s-aws-v1.';
/** aws-iam-authenticator's convention; the server accepts 0..900 and ignores it after 15 min anyway. */
const PRESIGN_EXPIRES_SECONDS = 60;
/** STS honours the URL for 15 min after X-Amz-Date; clients treat it as expired at 14 to keep a minute's margin. */
export const EKS_TOKEN_LIFETIME_MS = 14 * 60_000;

export async function createEksToken(options: EksTokenOptions): Promise<EksToken> {
  const { clusterName, region } = options;
  const signingDate = (options.now ?? (() => new Date()))();
  const hostname = stsHostname(region);
  const signer = new SignatureV4({
    service: 'sts',
    region,
    credentials: options.credentials ?? defaultCredentials,
    // @smithy/hash-node exports a generic `Hash(algorithm)`, not a Sha256 class: bind the algorithm.
    sha256: Hash.bind(null, 'sha256'),
  });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      // `host` must be signed explicitly (the SDK's middleware normally adds it); the server insists that
      // x-k8s-aws-id is among the signed headers. Neither starts with x-amz-, so presign keeps both as headers.
      headers: { host: hostname, 'x-k8s-aws-id': clusterName },
    },
    { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate },
  );
  const query = Object.entries(presigned.query ?? {})
    .flatMap(([key, value]) => (typeof value === 'string' ? [`${rfc3986(key)}=${rfc3986(value)}`] : []))
    .join('&');
  const url = `https://${hostname}/?${query}`;
  // Node's base64url alphabet carries no '=' padding, which is what the authenticator expects.
  return {
    token: `${TOKEN_PREFIX}${Buffer.from(url, 'utf8').toString('base64url')}`,
    expiresAt: new Date(signingDate.getTime() + EKS_TOKEN_LIFETIME_MS),
  };
}

/** The regional STS endpoint; the authenticator checks the host against the cluster's partition. */
export function stsHostname(region: string): string {
  return `sts.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

/** SigV4 canonical query encoding, so the URL carries exactly the bytes that were signed. */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

let defaultChain: Promise<AwsCredentialIdentityProvider> | undefined;

/**
 * The AWS SDK default chain, taken from an STS client's resolved config so no credential-provider package is
 * needed. The SDK module and the client are only loaded when an EKS token is first signed without explicit
 * credentials; the chain itself memoizes the role's credentials and refreshes them before they expire.
 */
const defaultCredentials: AwsCredentialIdentityProvider = async (properties) => {
  defaultChain ??= import('@aws-sdk/client-sts').then(({ STSClient }) => new STSClient({}).config.credentials);
  return (await defaultChain)(properties);
};
