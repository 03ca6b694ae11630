/**
 * What the functions use of @aws-sdk/client-eks, in a module of their own: it is imported dynamically (only a
 * connector given EKS_CLUSTER_NAME alone describes its cluster), and a dynamic import of the package itself would
 * bundle every EKS command into the lazy chunk.
 */
export { DescribeClusterCommand, EKSClient, ResourceNotFoundException } from '@aws-sdk/client-eks';
