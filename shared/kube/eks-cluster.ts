/**
 * Where an EKS cluster's API server is and which CA signs it, from `eks:DescribeCluster`. Used when only
 * EKS_CLUSTER_NAME is configured: the CA bundle alone can crowd Lambda's 4 KB of environment, so the stack
 * may leave both out and grant DescribeCluster on that one cluster instead.
 */
import type { Cluster, EKSClient } from '@aws-sdk/client-eks';
import { deadlineAwareClient } from '../aws/clients.js';
import { AuthConfigError, ConnectorError } from '../errors.js';
import { DeferError } from '../invocation-deadline.js';

export interface EksClusterAccess {
  apiUrl: string;
  /** Base64 PEM, as DescribeCluster returns `certificateAuthority.data`. */
  caData: string;
}

export async function describeEksCluster(clusterName: string, eks?: EKSClient): Promise<EksClusterAccess> {
  // Loaded on first use: only a connector given EKS_CLUSTER_NAME without KUBERNETES_API_URL describes its cluster.
  const { DescribeClusterCommand, EKSClient, ResourceNotFoundException } = await import('./eks-sdk.js');
  let cluster: Cluster | undefined;
  try {
    const client = eks ?? deadlineAwareClient((options) => new EKSClient(options), 'EKS');
    ({ cluster } = await client.send(new DescribeClusterCommand({ name: clusterName })));
  } catch (error) {
    // Out of time in this invocation: the record is deferred, not failed.
    if (error instanceof DeferError) throw error;
    if (error instanceof ResourceNotFoundException) {
      throw new AuthConfigError(`EKS cluster '${clusterName}' (EKS_CLUSTER_NAME) does not exist in this region`, error);
    }
    if (error instanceof Error && /AccessDenied/.test(error.name)) {
      throw new AuthConfigError(
        `Not allowed to describe EKS cluster '${clusterName}': grant eks:DescribeCluster on it, or set ` +
          'KUBERNETES_API_URL and KUBERNETES_CA_DATA',
        error,
      );
    }
    throw new ConnectorError(`Describing EKS cluster '${clusterName}' failed: ${String(error)}`, {
      permanent: false,
      cause: error,
    });
  }
  const apiUrl = cluster?.endpoint;
  const caData = cluster?.certificateAuthority?.data;
  if (!apiUrl || !caData) {
    throw new AuthConfigError(`EKS cluster '${clusterName}' has no API endpoint or CA yet (status ${cluster?.status})`);
  }
  return { apiUrl, caData };
}
