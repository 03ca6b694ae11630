/**
 * Where the Kubernetes API is and how to authenticate to it, in order: an explicit API URL (Lambda: the EKS
 * endpoint, its CA, and an EKS token or a static token), else in-cluster (a pod's ServiceAccount), else a
 * kubeconfig file (KUBECONFIG, then ~/.kube/config). `describe()` names the choice for error messages, never a
 * credential.
 */
import { existsSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { AuthConfigError } from '../errors.js';
import { EKS_AUTH_PROVIDER, EksTokenAuthenticator } from './eks-authenticator.js';
import type { AwsCredentials } from './eks-token.js';

export interface KubeConfigSettings {
  /** KUBERNETES_API_URL. */
  apiUrl?: string | undefined;
  /** KUBERNETES_CA_DATA: base64 of the PEM CA bundle (EKS `certificateAuthority.data`). */
  caData?: string | undefined;
  /** EKS_CLUSTER_NAME: sign EKS tokens for this cluster. */
  clusterName?: string | undefined;
  /** KUBERNETES_TOKEN: a static bearer token; wins over an EKS token. */
  staticToken?: string | undefined;
  /** Region of the EKS cluster's STS endpoint; defaults to AWS_REGION / AWS_DEFAULT_REGION. */
  region?: string | undefined;
  /** Credentials to sign EKS tokens with; defaults to the AWS SDK default chain. */
  credentials?: AwsCredentials;
  /** Clock for EKS token signing and expiry. */
  now?: () => Date;
}

export type KubeConfigSource = 'api-url' | 'in-cluster' | 'kubeconfig';

export interface LoadedKubeConfig {
  kubeConfig: KubeConfig;
  source: KubeConfigSource;
  /** The API server URL. */
  server: string;
  /** For messages: which source, the server, how the connector authenticates. Never a token. */
  describe(): string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function loadKubeConfig(settings: KubeConfigSettings, env: NodeJS.ProcessEnv = process.env): LoadedKubeConfig {
  if (settings.apiUrl) return fromApiUrl(settings.apiUrl, settings, env);
  if (env.KUBERNETES_SERVICE_HOST) return inCluster(env);
  return fromKubeconfigFiles(env);
}

function fromApiUrl(apiUrl: string, settings: KubeConfigSettings, env: NodeJS.ProcessEnv): LoadedKubeConfig {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new AuthConfigError('KUBERNETES_API_URL is not a valid URL');
  }
  const insecure = url.protocol === 'http:';
  if ((insecure && !LOOPBACK_HOSTS.has(url.hostname)) || (!insecure && url.protocol !== 'https:')) {
    // A bearer token must never cross the network in clear; plain http is for the local stack's emulator only.
    throw new AuthConfigError(`KUBERNETES_API_URL must be https:// (http:// only to 127.0.0.1), got ${url.origin}`);
  }
  // client-node joins paths onto the server verbatim: a trailing slash would make '//api/v1'.
  const server = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  const kubeConfig = new KubeConfig();
  let auth: string;
  let user: Parameters<KubeConfig['loadFromClusterAndUser']>[1];
  if (settings.staticToken) {
    user = { name: 'connector', token: settings.staticToken };
    auth = 'static token from KUBERNETES_TOKEN';
  } else if (settings.clusterName) {
    const region = settings.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new AuthConfigError('EKS_CLUSTER_NAME is set but no region is known: set AWS_REGION');
    kubeConfig.addAuthenticator(
      new EksTokenAuthenticator({
        clusterName: settings.clusterName,
        region,
        ...(settings.credentials && { credentials: settings.credentials }),
        ...(settings.now && { now: settings.now }),
      }),
    );
    user = { name: 'connector', authProvider: { name: EKS_AUTH_PROVIDER, config: {} } };
    auth = `EKS token for cluster '${settings.clusterName}' in ${region}`;
  } else {
    throw new AuthConfigError(
      'KUBERNETES_API_URL is set without credentials: set EKS_CLUSTER_NAME (EKS token) or KUBERNETES_TOKEN',
    );
  }
  kubeConfig.loadFromClusterAndUser(
    {
      name: 'kubernetes',
      server,
      ...(settings.caData && { caData: pemAsBase64(settings.caData) }),
      // client-node 2.x refuses http:// unless skipTLSVerify is set (there is no TLS to verify on it anyway).
      skipTLSVerify: insecure,
    },
    user,
  );
  const tls = insecure ? 'no TLS (loopback)' : settings.caData ? 'CA from KUBERNETES_CA_DATA' : 'system CAs';
  return loaded(kubeConfig, 'api-url', server, `Kubernetes API ${server} from KUBERNETES_API_URL, ${auth}, ${tls}`);
}

/** KUBERNETES_CA_DATA as client-node wants it (base64 of PEM); a raw PEM is accepted too. */
function pemAsBase64(caData: string): string {
  const value = caData.trim();
  if (value.startsWith('-----BEGIN')) return Buffer.from(value, 'utf8').toString('base64');
  if (!Buffer.from(value, 'base64').toString('utf8').includes('-----BEGIN CERTIFICATE-----')) {
    throw new AuthConfigError(
      'KUBERNETES_CA_DATA must be the base64 of a PEM certificate (EKS certificateAuthority.data)',
    );
  }
  return value;
}

function inCluster(env: NodeJS.ProcessEnv): LoadedKubeConfig {
  const kubeConfig = new KubeConfig();
  // The pod's CA file, a ServiceAccount token re-read as it rotates, and the pod's namespace.
  kubeConfig.loadFromCluster();
  // loadFromCluster reads process.env itself; take the address from the env we were given, by the same rules.
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  const server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  kubeConfig.clusters = kubeConfig.clusters.map((cluster) => ({ ...cluster, server }));
  return loaded(
    kubeConfig,
    'in-cluster',
    server,
    `in-cluster Kubernetes API ${server} with the pod's ServiceAccount token`,
  );
}

function fromKubeconfigFiles(env: NodeJS.ProcessEnv): LoadedKubeConfig {
  const files = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  const home = env.HOME ? join(env.HOME, '.kube', 'config') : undefined;
  if (files.length === 0 && home && existsSync(home)) files.push(home);
  const [first, ...rest] = files;
  if (first === undefined) {
    // client-node's loadFromDefault would fall back to http://localhost:8080, which it then refuses to call.
    throw new AuthConfigError(
      'No Kubernetes API configured: set KUBERNETES_API_URL (with EKS_CLUSTER_NAME or KUBERNETES_TOKEN), run in a ' +
        'cluster, or set KUBECONFIG',
    );
  }
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(first);
    for (const file of rest) {
      const next = new KubeConfig();
      next.loadFromFile(file);
      // The first file that sets current-context wins, as with kubectl.
      kubeConfig.mergeConfig(next, Boolean(kubeConfig.currentContext));
    }
  } catch (error) {
    // Not the message: YAML parse errors quote the file, and a kubeconfig can hold tokens.
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.name : 'error');
    throw new AuthConfigError(`Could not load kubeconfig ${files.join(delimiter)}: ${reason}`, error);
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) {
    throw new AuthConfigError(`kubeconfig ${files.join(delimiter)} has no current-context with a cluster`);
  }
  return loaded(
    kubeConfig,
    'kubeconfig',
    cluster.server,
    `Kubernetes API ${cluster.server} from kubeconfig ${files.join(delimiter)}, context '${kubeConfig.getCurrentContext()}'`,
  );
}

function loaded(kubeConfig: KubeConfig, source: KubeConfigSource, server: string, text: string): LoadedKubeConfig {
  return { kubeConfig, source, server, describe: () => text };
}
