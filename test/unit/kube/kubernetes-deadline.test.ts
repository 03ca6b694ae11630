/**
 * Kubernetes calls within the invocation's deadline (shared/invocation-deadline.ts), over a real socket to the fake
 * API on 127.0.0.1: a request's timeout is what is left of the invocation when that is shorter, a request is not
 * started with less than a second left, and a call cut short (headers or body) is a DeferError, so the record is
 * deferred rather than failed. Outside a deadline the configured timeout applies as before. EKS DescribeCluster, the
 * one AWS call of this module, is bounded the same way. Requests are counted; times only with wide margins.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { EKSClient } from '@aws-sdk/client-eks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesApi } from '../../../infra/local/emulators/kubernetes-api.js';
import { deadlineAwareClient } from '../../../shared/aws/clients.js';
import { ConnectorError } from '../../../shared/errors.js';
import { DeferError, runWithDeadline } from '../../../shared/invocation-deadline.js';
import { ClientNodeKubernetes } from '../../../shared/kube/client-node-kubernetes.js';
import { describeEksCluster } from '../../../shared/kube/eks-cluster.js';
import { loadKubeConfig } from '../../../shared/kube/kube-config.js';
import { KubernetesSecrets } from '../../../shared/kube/kubernetes-secrets.js';
import { startKubeApi } from './kube-api-emulator.js';

const TOKEN = 'connector-static-token';

let fake: KubernetesApi;
/** A 10 s timeout per request: anything shorter seen here comes from the deadline. */
let port: ClientNodeKubernetes;

beforeAll(async () => {
  fake = await startKubeApi();
  const loaded = loadKubeConfig({ apiUrl: fake.url, staticToken: TOKEN }, {});
  port = new ClientNodeKubernetes(loaded.kubeConfig, { describe: loaded.describe(), timeoutMs: 10_000 });
});
afterAll(() => fake.close());
afterEach(() => {
  fake.reset();
});

async function settle(call: () => Promise<unknown>): Promise<{ error: unknown; endedAt: number }> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, endedAt: Date.now() };
}

describe('Kubernetes calls within the invocation deadline', () => {
  it('a hung request ends by the deadline, not at its 10 s timeout, as a DeferError naming the call', async () => {
    fake.injectFaults('any', ['hang']);
    const deadline = Date.now() + 1500;
    const { error, endedAt } = await settle(() =>
      runWithDeadline(deadline, () => port.listDatabricksServiceAccounts('team-a')),
    );

    expect(error).toBeInstanceOf(DeferError);
    expect((error as DeferError).message).toMatch(/No answer in time to list serviceaccounts in namespace 'team-a'/);
    expect((error as DeferError).message).not.toContain(TOKEN);
    expect(fake.requests).toHaveLength(1);
    expect(endedAt - deadline).toBeLessThan(3000);
  });

  it('a body that stalls after the headers is cut at the deadline too (through the secret cache)', async () => {
    fake.injectFaults('any', [{ slowBodyMs: 60_000 }]);
    const secrets = new KubernetesSecrets(port, { cacheMs: 60_000 });
    const deadline = Date.now() + 1500;
    const { error, endedAt } = await settle(() =>
      runWithDeadline(deadline, () => secrets.read('team-a', 'databricks-token')),
    );

    expect(error).toBeInstanceOf(DeferError);
    expect(fake.requests).toHaveLength(1);
    expect(endedAt - deadline).toBeLessThan(3000);
    // Not cached: once the API answers, the next read gets the secret.
    fake.putSecret('team-a', 'databricks-token', { token: 'dapi-value' });
    await expect(secrets.read('team-a', 'databricks-token')).resolves.toEqual({ token: 'dapi-value' });
  });

  it('with less than a second left no request is made', async () => {
    const { error } = await settle(() =>
      runWithDeadline(Date.now() + 500, () => port.createServiceAccountToken('team-a', 'runner', 'aud', 3600)),
    );
    expect(error).toBeInstanceOf(DeferError);
    expect(fake.requests).toHaveLength(0);
  });

  it('outside a deadline the configured timeout still applies, as a transient error', async () => {
    fake.injectFaults('any', ['hang']);
    const impatient = loadKubeConfig({ apiUrl: fake.url, staticToken: TOKEN }, {});
    const shortPort = new ClientNodeKubernetes(impatient.kubeConfig, { timeoutMs: 300 });
    const { error } = await settle(() => shortPort.listDatabricksServiceAccounts('team-a'));

    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).not.toBeInstanceOf(DeferError);
    expect((error as ConnectorError).permanent).toBe(false);
    expect((error as ConnectorError).message).toContain('TimeoutError');
  });
});

describe('EKS DescribeCluster within the invocation deadline', () => {
  let server: Server;
  let endpoint: string;
  const sockets = new Set<Socket>();
  let requests = 0;

  beforeAll(async () => {
    // Never answers.
    server = createServer(() => {
      requests += 1;
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('a hung DescribeCluster is deferred at the deadline, not reported as a failed cluster lookup', async () => {
    const eks = deadlineAwareClient(
      (options) =>
        new EKSClient({
          ...options,
          endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        }),
      'EKS',
    );
    const deadline = Date.now() + 1500;
    const { error, endedAt } = await settle(() => runWithDeadline(deadline, () => describeEksCluster('flyte', eks)));

    expect(error).toBeInstanceOf(DeferError);
    expect(requests).toBe(1);
    expect(endedAt - deadline).toBeLessThan(3000);
  });
});
