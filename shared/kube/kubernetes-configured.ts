/**
 * Whether a Kubernetes API is configured at all, decided without loading @kubernetes/client-node (~500 ms to
 * import unbundled), so handlers can check it eagerly and import `create-kubernetes.js` only when it is.
 */
import type { Config } from '../config.js';

export function isKubernetesConfigured(
  config: Pick<Config, 'KUBERNETES_API_URL' | 'EKS_CLUSTER_NAME'>,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  // EKS_CLUSTER_NAME alone is enough: the API server and CA come from eks:DescribeCluster.
  return Boolean(config.KUBERNETES_API_URL || config.EKS_CLUSTER_NAME || env.KUBERNETES_SERVICE_HOST || env.KUBECONFIG);
}
