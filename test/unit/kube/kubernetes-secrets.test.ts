import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesApi } from '../../../infra/local/emulators/kubernetes-api.js';
import { AuthConfigError } from '../../../shared/errors.js';
import { ClientNodeKubernetes } from '../../../shared/kube/client-node-kubernetes.js';
import { loadKubeConfig } from '../../../shared/kube/kube-config.js';
import { KubernetesSecrets } from '../../../shared/kube/kubernetes-secrets.js';
import { startKubeApi } from './kube-api-emulator.js';

const CACHE_MS = 60_000;

let fake: KubernetesApi;
let port: ClientNodeKubernetes;
let clock: number;

beforeAll(async () => {
  fake = await startKubeApi();
  port = new ClientNodeKubernetes(loadKubeConfig({ apiUrl: fake.url, staticToken: 't' }, {}).kubeConfig);
});
afterAll(() => fake.close());
afterEach(() => {
  fake.reset();
});

function secrets(cacheMs = CACHE_MS): KubernetesSecrets {
  clock = 5_000_000;
  return new KubernetesSecrets(port, { cacheMs, now: () => clock });
}

const reads = () => fake.requests.filter((r) => r.path.includes('/secrets/')).length;

describe('Class: KubernetesSecrets', () => {
  it('names itself and where a secret lives, for messages', () => {
    const s = secrets();
    expect(s.kind).toBe('Kubernetes');
    expect(s.locate('team-a', 'databricks-token')).toBe("Kubernetes Secret 'team-a/databricks-token'");
  });

  it('reads the namespace Secret, decoded and trimmed like the Secrets Manager source', async () => {
    fake.putSecret('team-a', 'databricks-oauth', { client_id: 'sp-1\n', client_secret: ' s3cret ' });
    await expect(secrets().read('team-a', 'databricks-oauth')).resolves.toEqual({
      client_id: 'sp-1',
      client_secret: 's3cret',
    });
  });

  it('reuses a value for cacheMs, then reads again', async () => {
    fake.putSecret('team-a', 'databricks-token', { token: 'dapi-1' });
    const s = secrets();

    await s.read('team-a', 'databricks-token');
    fake.putSecret('team-a', 'databricks-token', { token: 'dapi-2' });
    clock += CACHE_MS - 1;
    await expect(s.read('team-a', 'databricks-token')).resolves.toEqual({ token: 'dapi-1' });
    expect(reads()).toBe(1);

    clock += 1;
    await expect(s.read('team-a', 'databricks-token')).resolves.toEqual({ token: 'dapi-2' });
    expect(reads()).toBe(2);
  });

  it('forgets a value on invalidate (a rotated secret after a 401)', async () => {
    fake.putSecret('team-a', 'databricks-token', { token: 'dapi-1' });
    const s = secrets();
    await s.read('team-a', 'databricks-token');

    fake.putSecret('team-a', 'databricks-token', { token: 'dapi-rotated' });
    s.invalidate('team-a', 'databricks-token');

    await expect(s.read('team-a', 'databricks-token')).resolves.toEqual({ token: 'dapi-rotated' });
    expect(reads()).toBe(2);
  });

  it('returns undefined for a missing Secret, and remembers that briefly', async () => {
    const s = secrets();
    await expect(s.read('team-a', 'databricks-token')).resolves.toBeUndefined();
    await expect(s.read('team-a', 'databricks-token')).resolves.toBeUndefined();
    expect(reads()).toBe(1);
  });

  it('keeps secrets of different namespaces apart', async () => {
    fake.putSecret('team-a', 'databricks-token', { token: 'a' });
    fake.putSecret('team-b', 'databricks-token', { token: 'b' });
    const s = secrets();
    await expect(s.read('team-a', 'databricks-token')).resolves.toEqual({ token: 'a' });
    await expect(s.read('team-b', 'databricks-token')).resolves.toEqual({ token: 'b' });
  });

  it('fails when denied, and does not cache the failure', async () => {
    fake.putSecret('team-a', 'databricks-token', { token: 'dapi-1' });
    fake.injectFaults('any', [{ status: 403 }]);
    const s = secrets();

    await expect(s.read('team-a', 'databricks-token')).rejects.toThrow(AuthConfigError);
    await expect(s.read('team-a', 'databricks-token')).resolves.toEqual({ token: 'dapi-1' });
  });

  it('reads every time with cacheMs 0', async () => {
    fake.putSecret('team-a', 'databricks-token', { token: 'dapi-1' });
    const s = secrets(0);
    await s.read('team-a', 'databricks-token');
    await s.read('team-a', 'databricks-token');
    expect(reads()).toBe(2);
  });
});
