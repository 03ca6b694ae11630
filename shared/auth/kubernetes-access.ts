/**
 * What OIDC Model 2 needs from Kubernetes: the port (TokenRequest) and the namespace discovery (to evict an entry
 * after a 401). The auth code depends on the discovery's public behaviour only (`discover`, `evict`), so tests
 * can hand it a small fake and `ServiceAccountDiscovery` fits as is.
 */
import { AuthConfigError } from '../errors.js';
import type { KubernetesPort } from '../kube/kubernetes-port.js';
import type { ServiceAccountDiscovery } from '../kube/service-account-discovery.js';

/**
 * `discover(namespace)`: the namespace's one Databricks-enabled ServiceAccount, or undefined; AuthConfigError when
 * more than one. `evict(namespace)`: forgets the namespace's cached result.
 */
export type ServiceAccountLookup = Pick<ServiceAccountDiscovery, 'discover' | 'evict'>;

export interface KubernetesAccess {
  port: KubernetesPort;
  discovery: ServiceAccountLookup;
}

/** The connector has no way to reach the Kubernetes API. */
export function kubernetesNotConfigured(what: string): AuthConfigError {
  return new AuthConfigError(
    `${what} needs the Kubernetes API, which is not configured: set KUBERNETES_API_URL (with KUBERNETES_CA_DATA, ` +
      'and EKS_CLUSTER_NAME for an EKS token or KUBERNETES_TOKEN), run in-cluster, or provide KUBECONFIG',
  );
}
