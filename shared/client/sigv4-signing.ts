/**
 * SigV4 for calls to the front door: every method of the deployed API takes IAM authorization, so a request is
 * signed for service `execute-api` in the API's region with @smithy/signature-v4 (the AWS SDK's own signer).
 * The region comes from the invoke URL (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`) unless given;
 * the credentials from the caller, or else from the SDK's default chain (environment, shared config and
 * credentials files with AWS_PROFILE, SSO, web identity / IRSA, ECS and EC2 metadata), as the AWS CLI finds them.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

export const EXECUTE_API_SERVICE = 'execute-api';
/** The region used when neither the caller, the URL nor the environment names one (also the local stack's). */
export const FALLBACK_REGION = 'us-east-1';

export interface ApiCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  expiration?: Date | undefined;
}

export type CredentialsProvider = () => Promise<ApiCredentials>;

const Sha256 = Hash.bind(null, 'sha256');

/** `{api-id}.execute-api.{region}.amazonaws.com`, or `{api-id}-{vpce-id}...` for a private API; China too. */
const EXECUTE_API_HOST = /^[a-z0-9-]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;

/** The region in an execute-api invoke URL, else undefined (a custom domain, the local stack). */
export function regionFromApiUrl(url: string | URL): string | undefined {
  let host: string;
  try {
    host = (typeof url === 'string' ? new URL(url) : url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
  return EXECUTE_API_HOST.exec(host)?.[1];
}

/** The signing region: explicit, else from the URL, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1. */
export function resolveRegion(
  url: string | URL,
  explicit?: string,
  env: Record<string, string | undefined> = process.env,
): string {
  return explicit || regionFromApiUrl(url) || env.AWS_REGION || env.AWS_DEFAULT_REGION || FALLBACK_REGION;
}

/**
 * The SDK's default credential chain, loaded on first use (it is the STS client's own provider, so no extra
 * dependency); `profile` picks a shared-config profile as AWS_PROFILE would.
 */
export function defaultCredentialsProvider(options: { profile?: string; region?: string } = {}): CredentialsProvider {
  let provider: Promise<() => Promise<ApiCredentials>> | undefined;
  return async () => {
    provider ??= import('@aws-sdk/client-sts').then(({ STSClient }) => {
      const client = new STSClient({
        ...(options.region ? { region: options.region } : {}),
        ...(options.profile ? { profile: options.profile } : {}),
      });
      return client.config.credentials as () => Promise<ApiCredentials>;
    });
    return (await provider)();
  };
}

export interface SignOptions {
  region: string;
  credentials: ApiCredentials | CredentialsProvider;
  /** Default now; tests sign with a date in the past to see a stale signature refused. */
  signingDate?: Date;
  /** Default execute-api. */
  service?: string;
}

export interface RequestToSign {
  method: string;
  url: string | URL;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * Signs a request; returns the headers to send with it: the given ones plus `authorization`, `x-amz-date`,
 * `x-amz-content-sha256` and, for temporary credentials, `x-amz-security-token`. `host` is signed but not
 * returned, since fetch sets it from the URL to the very same value.
 */
export async function signRequest(request: RequestToSign, options: SignOptions): Promise<Record<string, string>> {
  const url = typeof request.url === 'string' ? new URL(request.url) : request.url;
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const previous = query[key];
    query[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const signer = new SignatureV4({
    service: options.service ?? EXECUTE_API_SERVICE,
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: request.method.toUpperCase(),
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { ...request.headers, host: url.host },
      ...(request.body !== undefined ? { body: request.body } : {}),
    },
    options.signingDate ? { signingDate: options.signingDate } : {},
  );
  const { host: _host, ...headers } = signed.headers;
  return headers;
}
