/**
 * A kubeconfig for real tools (kubectl) against the Kubernetes API emulator, shaped as `aws eks update-kubeconfig`
 * writes one: the user is an exec credential plugin running `aws eks get-token`, which presigns an STS
 * GetCallerIdentity URL with the AWS keys in the plugin's env, and the emulator verifies that token as EKS does.
 *
 * Verified: kubeconfig is read as YAML, so JSON is accepted; exec plugins with apiVersion
 * client.authentication.k8s.io/v1beta1 get their `env` entries added to kubectl's environment; `aws eks get-token`
 * signs locally (no call to STS) and prints an ExecCredential (aws-cli 1.45 run here).
 *
 * Do not put AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_STS in the plugin's env: the CLI would presign for that host, which
 * no EKS authenticator accepts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KubeconfigOptions {
  /** `https://127.0.0.1:<port>` (the emulator with `tls`). */
  server: string;
  /** Path of the CA certificate file (the emulator's `caFile`). */
  caFile: string;
  clusterName: string;
  /** The keys `aws eks get-token` signs with; the emulator must know them (`acceptEksTokens.credentials`). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Default us-east-1. */
  region?: string;
  /** Where to write it; default `kubeconfig` in a new temporary folder. */
  path?: string;
  /** The AWS CLI executable; default `aws` (found on PATH). */
  awsCommand?: string;
  /** More env entries for the plugin (e.g. AWS_CONFIG_FILE to isolate it from ~/.aws). */
  env?: Record<string, string>;
}

/** Writes the kubeconfig and returns its path. */
export function writeKubeconfig(options: KubeconfigOptions): string {
  const region = options.region ?? 'us-east-1';
  const { accessKeyId, secretAccessKey, sessionToken } = options.credentials;
  const env: Record<string, string> = {
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    ...(sessionToken ? { AWS_SESSION_TOKEN: sessionToken } : {}),
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    ...options.env,
  };
  const name = options.clusterName;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: options.server, 'certificate-authority': options.caFile } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    preferences: {},
    users: [
      {
        name,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: options.awsCommand ?? 'aws',
            args: ['--region', region, 'eks', 'get-token', '--cluster-name', name, '--output', 'json'],
            env: Object.entries(env).map(([key, value]) => ({ name: key, value })),
            interactiveMode: 'Never',
            provideClusterInfo: false,
          },
        },
      },
    ],
  };
  const path = options.path ?? join(mkdtempSync(join(tmpdir(), 'kubeconfig-')), 'kubeconfig');
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return path;
}
