/**
 * Amazon EKS control-plane emulator: `DescribeCluster` (`GET /clusters/{name}`, REST-JSON as @aws-sdk/client-eks
 * sends it) for the one emulated cluster, answering where its Kubernetes API server is and the CA that signs it, so
 * the functions find the cluster by EKS_CLUSTER_NAME alone, as the stack deploys them. It sits behind the local
 * stack's IAM gateway, which checks the signature and eks:DescribeCluster before a request reaches it. HTTP from
 * emulator-server.ts.
 *
 * Verified (AWS EKS API reference, DescribeCluster): the response is `{"cluster":{...}}` with `name`, `arn`,
 * `endpoint`, `certificateAuthority.data` (base64 PEM), `status` (`ACTIVE`), `version`, `identity.oidc.issuer`;
 * an unknown cluster is 404 ResourceNotFoundException. Assumed: the exact message text ("No cluster found for
 * name: <name>.").
 */
import { startEmulatorServer } from './emulator-server.js';

export interface EksCluster {
  name: string;
  /** The Kubernetes API server, e.g. https://127.0.0.1:40123. */
  endpoint: string;
  /** Base64 of the CA certificate's PEM. */
  caData: string;
  /** The cluster's OIDC issuer (service account tokens). */
  oidcIssuer: string;
  version?: string;
}

export interface EksEmulator {
  url: string;
  close(): Promise<void>;
}

export async function startEks(options: {
  region: string;
  accountId: string;
  cluster: EksCluster;
}): Promise<EksEmulator> {
  const { region, accountId, cluster } = options;
  const json = (status: number, body: unknown, errorType?: string) => ({
    status,
    headers: { 'content-type': 'application/json', ...(errorType ? { 'x-amzn-errortype': errorType } : {}) },
    body: JSON.stringify(body),
  });
  const server = await startEmulatorServer({
    maxBodyBytes: Number.POSITIVE_INFINITY,
    handle: ({ req, method }) => {
      const match = /^\/clusters\/([^/?]+)$/.exec((req.url ?? '').split('?')[0] ?? '');
      if (method !== 'GET' || !match) {
        return json(404, { message: `Not Found: ${req.method} ${req.url}` }, 'UnknownOperationException');
      }
      const name = decodeURIComponent(match[1] as string);
      if (name !== cluster.name) {
        return json(
          404,
          { message: `No cluster found for name: ${name}.`, clusterName: name },
          'ResourceNotFoundException',
        );
      }
      return json(200, {
        cluster: {
          name,
          arn: `arn:aws:eks:${region}:${accountId}:cluster/${name}`,
          createdAt: 1_700_000_000,
          version: cluster.version ?? '1.32',
          endpoint: cluster.endpoint,
          status: 'ACTIVE',
          certificateAuthority: { data: cluster.caData },
          identity: { oidc: { issuer: cluster.oidcIssuer } },
          platformVersion: 'eks.1',
        },
      });
    },
  });
  return { url: server.url, close: () => server.close() };
}
