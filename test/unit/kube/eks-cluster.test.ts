import { DescribeClusterCommand, EKSClient, ResourceNotFoundException } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuthConfigError, ConnectorError } from '../../../shared/errors.js';
import { withClusterAccess } from '../../../shared/kube/create-kubernetes.js';
import { describeEksCluster } from '../../../shared/kube/eks-cluster.js';

const eks = mockClient(EKSClient);
const client = () => new EKSClient({ region: 'us-east-1' });

describe('Function: describeEksCluster()', () => {
  beforeEach(() => eks.reset());

  it('reads the endpoint and CA of the named cluster', async () => {
    eks.on(DescribeClusterCommand, { name: 'flyte-prod' }).resolves({
      cluster: {
        endpoint: 'https://ABC.gr7.us-east-1.eks.amazonaws.com',
        certificateAuthority: { data: 'LS0tLS1C' },
      },
    });
    await expect(describeEksCluster('flyte-prod', client())).resolves.toEqual({
      apiUrl: 'https://ABC.gr7.us-east-1.eks.amazonaws.com',
      caData: 'LS0tLS1C',
    });
  });

  it('names the cluster and the variable when it does not exist, and the grant when denied', async () => {
    eks
      .on(DescribeClusterCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'No cluster found', $metadata: {} }));
    await expect(describeEksCluster('nope', client())).rejects.toThrow(
      /EKS cluster 'nope' \(EKS_CLUSTER_NAME\) does not exist/,
    );
    eks.reset();
    eks.on(DescribeClusterCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const denied = await describeEksCluster('flyte-prod', client()).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AuthConfigError);
    expect((denied as Error).message).toMatch(/eks:DescribeCluster.*KUBERNETES_API_URL/);
  });

  it('treats other failures as transient and a cluster without an endpoint as a configuration error', async () => {
    eks
      .on(DescribeClusterCommand)
      .rejectsOnce(Object.assign(new Error('boom'), { name: 'ServiceUnavailableException' }));
    const transient = await describeEksCluster('flyte-prod', client()).catch((e: unknown) => e);
    expect(transient).toBeInstanceOf(ConnectorError);
    expect((transient as ConnectorError).permanent).toBe(false);
    eks.reset();
    eks.on(DescribeClusterCommand).resolves({ cluster: { status: 'CREATING' } });
    await expect(describeEksCluster('flyte-prod', client())).rejects.toThrow(
      /no API endpoint or CA yet \(status CREATING\)/,
    );
  });
});

describe('Function: withClusterAccess()', () => {
  const base = {
    KUBERNETES_API_URL: undefined,
    KUBERNETES_CA_DATA: undefined,
    EKS_CLUSTER_NAME: undefined,
    KUBERNETES_TOKEN: undefined,
    NAMESPACE_DISCOVERY_CACHE_SECONDS: 300,
    SECRET_CACHE_SECONDS: 60,
  };
  const access = async (name: string) => ({ apiUrl: `https://${name}.eks.example`, caData: 'Q0E=' });

  it('fills the API server and CA from DescribeCluster when only the cluster name is set', async () => {
    await expect(withClusterAccess({ ...base, EKS_CLUSTER_NAME: 'c1' }, access)).resolves.toMatchObject({
      KUBERNETES_API_URL: 'https://c1.eks.example',
      KUBERNETES_CA_DATA: 'Q0E=',
      EKS_CLUSTER_NAME: 'c1',
    });
  });

  it('leaves an explicit API URL, and a configuration without a cluster, as they are', async () => {
    const explicit = { ...base, EKS_CLUSTER_NAME: 'c1', KUBERNETES_API_URL: 'https://given' };
    await expect(withClusterAccess(explicit, access)).resolves.toBe(explicit);
    await expect(withClusterAccess(base, access)).resolves.toBe(base);
  });
});
