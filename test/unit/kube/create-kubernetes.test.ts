import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesApi } from '../../../infra/local/emulators/kubernetes-api.js';
import {
  createKubernetes,
  isKubernetesConfigured,
  type KubernetesConfig,
} from '../../../shared/kube/create-kubernetes.js';
import { seedServiceAccounts, startKubeApi } from './kube-api-emulator.js';

let fake: KubernetesApi;

beforeAll(async () => {
  fake = await startKubeApi();
});
afterAll(() => fake.close());

const config = (overrides: Partial<KubernetesConfig> = {}): KubernetesConfig => ({
  KUBERNETES_API_URL: fake.url,
  KUBERNETES_CA_DATA: undefined,
  EKS_CLUSTER_NAME: undefined,
  KUBERNETES_TOKEN: 'local-token',
  NAMESPACE_DISCOVERY_CACHE_SECONDS: 300,
  SECRET_CACHE_SECONDS: 60,
  ...overrides,
});

describe('Function: createKubernetes()', () => {
  it('wires discovery, TokenRequest and secrets to the configured API', async () => {
    seedServiceAccounts(fake, 'team-a', [
      {
        name: 'dbx',
        labels: { 'flyte.org/databricks-enabled': 'true' },
        annotations: { 'flyte.org/databricks-client-id': 'sp-1' },
      },
    ]);
    fake.putSecret('team-a', 'databricks-token', { token: 'dapi-1' });

    const kube = createKubernetes(config(), {});

    const sa = await kube.discovery.discover('team-a');
    expect(sa).toEqual({ name: 'dbx', clientId: 'sp-1', audience: undefined });
    const token = await kube.port.createServiceAccountToken('team-a', 'dbx', 'databricks', 3600);
    expect(token).toBe(fake.tokenRequests.at(-1)?.token);
    expect(fake.tokenRequests.at(-1)).toMatchObject({
      namespace: 'team-a',
      serviceAccount: 'dbx',
      audiences: ['databricks'],
    });
    await expect(kube.secrets.read('team-a', 'databricks-token')).resolves.toEqual({ token: 'dapi-1' });
    expect(kube.describe).toBe(
      `Kubernetes API ${fake.url} from KUBERNETES_API_URL, static token from KUBERNETES_TOKEN, no TLS (loopback)`,
    );
    expect(new Set(fake.requests.map((r) => r.authorization))).toEqual(new Set(['Bearer local-token']));
  });

  it('caches discovery for NAMESPACE_DISCOVERY_CACHE_SECONDS', async () => {
    const kube = createKubernetes(config({ NAMESPACE_DISCOVERY_CACHE_SECONDS: 300 }), {});
    fake.clearLogs();
    await kube.discovery.discover('team-z');
    await kube.discovery.discover('team-z');
    expect(fake.requests).toHaveLength(1);
  });

  it('signs EKS tokens when EKS_CLUSTER_NAME is set, in the region from the environment', async () => {
    const kube = createKubernetes(
      config({ KUBERNETES_TOKEN: undefined, EKS_CLUSTER_NAME: 'flyte-prod' }),
      { AWS_REGION: 'eu-west-1' },
      { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } },
    );
    fake.clearLogs();
    await kube.port.listDatabricksServiceAccounts('team-a');
    expect(fake.requests[0]?.authorization).toMatch(/^Bearer k8s-aws-v1\./);
    expect(kube.describe).toContain("EKS token for cluster 'flyte-prod' in eu-west-1");
  });
});

describe('Function: isKubernetesConfigured()', () => {
  const none = { KUBERNETES_API_URL: undefined, EKS_CLUSTER_NAME: undefined };
  it.each([
    [{ ...none, KUBERNETES_API_URL: 'https://kube.example' }, {}, true],
    [{ ...none, EKS_CLUSTER_NAME: 'flyte-prod' }, {}, true],
    [none, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, true],
    [none, { KUBECONFIG: '/home/me/.kube/config' }, true],
    [none, { HOME: '/home/me' }, false],
  ])('%j with env %j -> %s', (cfg, env, expected) => {
    expect(isKubernetesConfigured(cfg, env)).toBe(expected);
  });
});
