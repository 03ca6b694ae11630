import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesApi } from '../../../infra/local/emulators/kubernetes-api.js';
import { AuthConfigError } from '../../../shared/errors.js';
import { ClientNodeKubernetes } from '../../../shared/kube/client-node-kubernetes.js';
import { loadKubeConfig } from '../../../shared/kube/kube-config.js';
import { startKubeApi } from './kube-api-emulator.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-key-never-printed' };
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

let fake: KubernetesApi;
let dir: string;

beforeAll(async () => {
  fake = await startKubeApi();
  dir = mkdtempSync(join(tmpdir(), 'kube-config-'));
});
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  fake.reset();
});

function kubeconfigYaml(server: string, token: string, context = 'dev'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${context}`,
    'clusters:',
    `- name: ${context}-cluster`,
    '  cluster:',
    `    server: ${server}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    `- name: ${context}-user`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${context}`,
    '  context:',
    `    cluster: ${context}-cluster`,
    `    user: ${context}-user`,
    '',
  ].join('\n');
}

function writeKubeconfig(name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

/** The Authorization header the fake API saw on a list call made through this config. */
async function authorizationSent(loaded: ReturnType<typeof loadKubeConfig>): Promise<string | undefined> {
  fake.clearLogs();
  await new ClientNodeKubernetes(loaded.kubeConfig).listDatabricksServiceAccounts('ns');
  return fake.requests.at(-1)?.authorization;
}

describe('Function: loadKubeConfig()', () => {
  describe('explicit API URL', () => {
    it('sends the static token, and describes the choice without it', async () => {
      const loaded = loadKubeConfig({ apiUrl: `${fake.url}/`, staticToken: 'static-secret-token' }, {});

      expect(loaded.source).toBe('api-url');
      expect(loaded.server).toBe(fake.url); // trailing slash dropped: client-node would request '//api/v1'
      expect(loaded.describe()).toContain(`Kubernetes API ${fake.url} from KUBERNETES_API_URL`);
      expect(loaded.describe()).toContain('KUBERNETES_TOKEN');
      expect(loaded.describe()).not.toContain('static-secret-token');
      expect(await authorizationSent(loaded)).toBe('Bearer static-secret-token');
    });

    it('wins over in-cluster and KUBECONFIG settings', () => {
      const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', KUBECONFIG: '/nowhere' };
      expect(loadKubeConfig({ apiUrl: fake.url, staticToken: 't' }, env).source).toBe('api-url');
    });

    it('prefers the static token over an EKS token when both are configured', async () => {
      const loaded = loadKubeConfig(
        { apiUrl: fake.url, staticToken: 'static', clusterName: 'c', region: 'us-east-1' },
        {},
      );
      expect(await authorizationSent(loaded)).toBe('Bearer static');
    });

    it('sends an EKS token for the cluster and signs a new one once 14 minutes have passed', async () => {
      let now = new Date('2026-01-01T00:00:00Z');
      let signings = 0;
      const loaded = loadKubeConfig(
        {
          apiUrl: fake.url,
          clusterName: 'flyte-prod',
          region: 'eu-central-1',
          credentials: async () => {
            signings++;
            return credentials;
          },
          now: () => now,
        },
        {},
      );
      expect(loaded.describe()).toContain("EKS token for cluster 'flyte-prod' in eu-central-1");
      const port = new ClientNodeKubernetes(loaded.kubeConfig);
      const amzDate = (header: string | undefined) => {
        expect(header).toMatch(/^Bearer k8s-aws-v1\.[A-Za-z0-9_-]+$/);
        const url = new URL(Buffer.from(header?.slice('Bearer k8s-aws-v1.'.length) ?? '', 'base64url').toString());
        expect(url.host).toBe('sts.eu-central-1.amazonaws.com');
        return url.searchParams.get('X-Amz-Date');
      };

      // Two concurrent first calls share one signing.
      await Promise.all([port.listDatabricksServiceAccounts('a'), port.listDatabricksServiceAccounts('b')]);
      expect(signings).toBe(1);
      const [first, second] = fake.requests.map((r) => r.authorization);
      expect(first).toBe(second);
      expect(amzDate(first)).toBe('20260101T000000Z');

      now = new Date('2026-01-01T00:13:59Z');
      await port.listDatabricksServiceAccounts('a');
      expect(fake.requests.at(-1)?.authorization).toBe(first);
      expect(signings).toBe(1);

      now = new Date('2026-01-01T00:14:01Z');
      await port.listDatabricksServiceAccounts('a');
      const refreshed = fake.requests.at(-1)?.authorization;
      expect(refreshed).not.toBe(first);
      expect(amzDate(refreshed)).toBe('20260101T001401Z');
      expect(signings).toBe(2);
    });

    it('takes the EKS region from AWS_REGION when none is given', () => {
      const loaded = loadKubeConfig({ apiUrl: fake.url, clusterName: 'c', credentials }, { AWS_REGION: 'sa-east-1' });
      expect(loaded.describe()).toContain("cluster 'c' in sa-east-1");
    });

    it('turns a failure to get AWS credentials into a transient error', async () => {
      const loaded = loadKubeConfig(
        {
          apiUrl: fake.url,
          clusterName: 'c',
          region: 'us-east-1',
          credentials: async () => {
            throw Object.assign(new Error('Could not load credentials from any providers'), {
              name: 'CredentialsProviderError',
            });
          },
        },
        {},
      );
      const error = await new ClientNodeKubernetes(loaded.kubeConfig).readSecret('ns', 's').catch((e: unknown) => e);
      expect(error).toMatchObject({ permanent: false });
      expect((error as Error).message).toContain("Could not sign an EKS token for cluster 'c'");
      expect((error as Error).message).toContain('CredentialsProviderError');
      expect(fake.requests).toHaveLength(0);
    });

    it('passes the CA on as base64 PEM, accepting a raw PEM too', () => {
      const base64 = Buffer.from(PEM).toString('base64');
      const https = 'https://ABC.gr7.eu-west-1.eks.amazonaws.com';
      const fromBase64 = loadKubeConfig({ apiUrl: https, caData: base64, staticToken: 't' }, {});
      const fromPem = loadKubeConfig({ apiUrl: https, caData: PEM, staticToken: 't' }, {});

      expect(fromBase64.kubeConfig.getCurrentCluster()?.caData).toBe(base64);
      expect(fromPem.kubeConfig.getCurrentCluster()?.caData).toBe(Buffer.from(PEM.trim()).toString('base64'));
      expect(fromBase64.kubeConfig.getCurrentCluster()?.skipTLSVerify).toBe(false);
      expect(fromBase64.describe()).toContain('CA from KUBERNETES_CA_DATA');
    });

    it.each([
      [{ apiUrl: 'not a url', staticToken: 't' }, 'KUBERNETES_API_URL is not a valid URL'],
      [{ apiUrl: 'http://kube.example.com', staticToken: 't' }, 'must be https://'],
      [{ apiUrl: 'https://kube.example.com' }, 'set EKS_CLUSTER_NAME (EKS token) or KUBERNETES_TOKEN'],
      [{ apiUrl: 'https://kube.example.com', clusterName: 'c' }, 'set AWS_REGION'],
      [{ apiUrl: 'https://kube.example.com', staticToken: 't', caData: 'bm90IGEgY2VydA==' }, 'KUBERNETES_CA_DATA'],
    ])('refuses %j with an AuthConfigError', (settings, message) => {
      expect(() => loadKubeConfig(settings, {})).toThrow(AuthConfigError);
      expect(() => loadKubeConfig(settings, {})).toThrow(message);
    });
  });

  describe('in-cluster', () => {
    it('is chosen when KUBERNETES_SERVICE_HOST is set, even with KUBECONFIG present', () => {
      const kubeconfig = writeKubeconfig('ignored.yaml', kubeconfigYaml(fake.url, 'kc-token'));
      const env = { KUBERNETES_SERVICE_HOST: '10.100.0.1', KUBERNETES_SERVICE_PORT: '443', KUBECONFIG: kubeconfig };

      const loaded = loadKubeConfig({}, env);

      expect(loaded.source).toBe('in-cluster');
      expect(loaded.server).toBe('https://10.100.0.1:443');
      expect(loaded.kubeConfig.getCurrentCluster()?.server).toBe('https://10.100.0.1:443');
      expect(loaded.kubeConfig.getCurrentCluster()?.caFile).toBe(
        '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
      );
      // The pod's projected token, re-read by client-node as it rotates.
      expect(loaded.kubeConfig.getCurrentUser()?.authProvider?.config?.tokenFile).toBe(
        '/var/run/secrets/kubernetes.io/serviceaccount/token',
      );
      expect(loaded.describe()).toBe(
        "in-cluster Kubernetes API https://10.100.0.1:443 with the pod's ServiceAccount token",
      );
    });

    it('brackets an IPv6 service host', () => {
      const loaded = loadKubeConfig({}, { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' });
      expect(loaded.server).toBe('https://[fd00::1]:6443');
    });
  });

  describe('kubeconfig', () => {
    it('loads KUBECONFIG and uses its current context and token', async () => {
      const file = writeKubeconfig('config.yaml', kubeconfigYaml(fake.url, 'kubeconfig-secret-token'));

      const loaded = loadKubeConfig({}, { KUBECONFIG: file });

      expect(loaded.source).toBe('kubeconfig');
      expect(loaded.server).toBe(fake.url);
      expect(loaded.describe()).toBe(`Kubernetes API ${fake.url} from kubeconfig ${file}, context 'dev'`);
      expect(await authorizationSent(loaded)).toBe('Bearer kubeconfig-secret-token');
    });

    it('merges several KUBECONFIG files, the first current-context winning as with kubectl', () => {
      const first = writeKubeconfig('first.yaml', kubeconfigYaml('https://first.example:6443', 'a', 'first'));
      const second = writeKubeconfig('second.yaml', kubeconfigYaml('https://second.example:6443', 'b', 'second'));

      const loaded = loadKubeConfig({}, { KUBECONFIG: [first, second].join(delimiter) });

      expect(loaded.server).toBe('https://first.example:6443');
      expect(loaded.kubeConfig.getContexts().map((c) => c.name)).toEqual(['first', 'second']);
    });

    it('falls back to ~/.kube/config', () => {
      const home = join(dir, 'home');
      mkdirSync(join(home, '.kube'), { recursive: true });
      writeFileSync(join(home, '.kube', 'config'), kubeconfigYaml('https://home.example:6443', 'h'));

      const loaded = loadKubeConfig({}, { HOME: home });

      expect(loaded.source).toBe('kubeconfig');
      expect(loaded.server).toBe('https://home.example:6443');
    });

    it('reports a missing file without quoting any file content', () => {
      expect(() => loadKubeConfig({}, { KUBECONFIG: join(dir, 'missing.yaml') })).toThrow(
        /Could not load kubeconfig .*missing\.yaml: ENOENT/,
      );
    });

    it('refuses to guess when nothing is configured', () => {
      const emptyHome = mkdtempSync(join(dir, 'empty-'));
      expect(() => loadKubeConfig({}, { HOME: emptyHome })).toThrow(AuthConfigError);
      expect(() => loadKubeConfig({}, { HOME: emptyHome })).toThrow(
        /No Kubernetes API configured: set KUBERNETES_API_URL/,
      );
    });
  });
});

describe('TLS to the API (as to an EKS endpoint with its own CA)', () => {
  let tlsFake: KubernetesApi;
  beforeAll(async () => {
    tlsFake = await startKubeApi({ tls: true });
  });
  afterAll(() => tlsFake.close());

  it('trusts the server through KUBERNETES_CA_DATA', async () => {
    const loaded = loadKubeConfig(
      {
        apiUrl: tlsFake.url,
        caData: Buffer.from(tlsFake.caCertificate ?? '').toString('base64'),
        staticToken: 'tls-token',
      },
      {},
    );
    await new ClientNodeKubernetes(loaded.kubeConfig).listDatabricksServiceAccounts('ns');
    expect(tlsFake.requests.at(-1)?.authorization).toBe('Bearer tls-token');
  });

  it('refuses an unknown CA, permanently, asking for KUBERNETES_CA_DATA', async () => {
    const loaded = loadKubeConfig({ apiUrl: tlsFake.url, staticToken: 'tls-token' }, {});
    const before = tlsFake.requests.length;

    const error = await new ClientNodeKubernetes(loaded.kubeConfig)
      .listDatabricksServiceAccounts('ns')
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AuthConfigError);
    expect((error as Error).message).toContain("Could not verify the Kubernetes API's TLS certificate");
    expect((error as Error).message).toContain('set KUBERNETES_CA_DATA');
    expect(tlsFake.requests.length).toBe(before); // the token never left
  });
});
