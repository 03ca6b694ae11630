/**
 * The one entry point to Kubernetes: handlers `await import()` this module only when Model 2 or Kubernetes
 * secrets are in play, so the client is never loaded otherwise. Call it once per warm container and keep the
 * result: the discovery and secret caches live in it.
 */
import type { Config } from '../config.js';
import { ClientNodeKubernetes } from './client-node-kubernetes.js';
import { describeEksCluster, type EksClusterAccess } from './eks-cluster.js';
import { type KubeConfigSettings, loadKubeConfig } from './kube-config.js';
import type { KubernetesPort } from './kubernetes-port.js';
import { KubernetesSecrets } from './kubernetes-secrets.js';
import { ServiceAccountDiscovery } from './service-account-discovery.js';

export { isKubernetesConfigured } from './kubernetes-configured.js';

export type KubernetesConfig = Pick<
  Config,
  | 'KUBERNETES_API_URL'
  | 'KUBERNETES_CA_DATA'
  | 'EKS_CLUSTER_NAME'
  | 'KUBERNETES_TOKEN'
  | 'NAMESPACE_DISCOVERY_CACHE_SECONDS'
  | 'SECRET_CACHE_SECONDS'
>;

export interface Kubernetes {
  port: KubernetesPort;
  discovery: ServiceAccountDiscovery;
  secrets: KubernetesSecrets;
  /** Which API and how the connector authenticates to it, for messages and logs. Never a token. */
  describe: string;
}

/**
 * @param env where AWS_REGION, in-cluster and KUBECONFIG settings are read
 * @param overrides tests only: EKS signing credentials and clock
 */
export function createKubernetes(
  config: KubernetesConfig,
  env: NodeJS.ProcessEnv = process.env,
  overrides: Pick<KubeConfigSettings, 'credentials' | 'now'> = {},
): Kubernetes {
  const loaded = loadKubeConfig(
    {
      apiUrl: config.KUBERNETES_API_URL,
      caData: config.KUBERNETES_CA_DATA,
      clusterName: config.EKS_CLUSTER_NAME,
      staticToken: config.KUBERNETES_TOKEN,
      ...overrides,
    },
    env,
  );
  const describe = loaded.describe();
  const port = new ClientNodeKubernetes(loaded.kubeConfig, { describe });
  return {
    port,
    discovery: new ServiceAccountDiscovery(port, { ttlMs: config.NAMESPACE_DISCOVERY_CACHE_SECONDS * 1000 }),
    secrets: new KubernetesSecrets(port, { cacheMs: config.SECRET_CACHE_SECONDS * 1000 }),
    describe,
  };
}

/**
 * The configuration with the API server filled in from eks:DescribeCluster when only EKS_CLUSTER_NAME is set.
 * An explicit KUBERNETES_API_URL is taken as it is (with KUBERNETES_CA_DATA, or the system trust store).
 */
export async function withClusterAccess(
  config: KubernetesConfig,
  describeCluster: (name: string) => Promise<EksClusterAccess> = describeEksCluster,
): Promise<KubernetesConfig> {
  if (config.KUBERNETES_API_URL || !config.EKS_CLUSTER_NAME) return config;
  const access = await describeCluster(config.EKS_CLUSTER_NAME);
  return { ...config, KUBERNETES_API_URL: access.apiUrl, KUBERNETES_CA_DATA: access.caData };
}
