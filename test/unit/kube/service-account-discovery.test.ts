import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesApi } from '../../../infra/local/emulators/kubernetes-api.js';
import { AuthConfigError } from '../../../shared/errors.js';
import { ClientNodeKubernetes } from '../../../shared/kube/client-node-kubernetes.js';
import { loadKubeConfig } from '../../../shared/kube/kube-config.js';
import { ServiceAccountDiscovery } from '../../../shared/kube/service-account-discovery.js';
import { type SeedServiceAccount, seedServiceAccounts, startKubeApi } from './kube-api-emulator.js';

const TTL_MS = 300_000;

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

function discovery(ttlMs = TTL_MS): ServiceAccountDiscovery {
  clock = 1_000_000;
  return new ServiceAccountDiscovery(port, { ttlMs, now: () => clock });
}

const labelled = (name: string, clientId = `sp-${name}`, audience?: string): SeedServiceAccount => ({
  name,
  labels: { 'flyte.org/databricks-enabled': 'true' },
  annotations: {
    'flyte.org/databricks-client-id': clientId,
    ...(audience && { 'flyte.org/databricks-audience': audience }),
  },
});

const listCalls = (namespace?: string) =>
  fake.requests.filter((r) => r.path.endsWith('/serviceaccounts') && (!namespace || r.path.includes(`/${namespace}/`)))
    .length;

describe('Class: ServiceAccountDiscovery', () => {
  describe('rules', () => {
    it('returns the one Databricks-enabled ServiceAccount', async () => {
      seedServiceAccounts(fake, 'team-a', [{ name: 'default' }, labelled('dbx', ' sp-1 ', ' aud ')]);
      await expect(discovery().discover('team-a')).resolves.toEqual({ name: 'dbx', clientId: 'sp-1', audience: 'aud' });
    });

    it('returns undefined when there is none (Model 1 applies)', async () => {
      seedServiceAccounts(fake, 'team-a', [{ name: 'default' }, labelled('blank', '  ')]);
      await expect(discovery().discover('team-a')).resolves.toBeUndefined();
    });

    it('refuses to choose between several, naming them sorted', async () => {
      seedServiceAccounts(fake, 'team-a', [labelled('zeta'), labelled('alpha'), labelled('skipped', ' ')]);
      const error = await discovery()
        .discover('team-a')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthConfigError);
      expect((error as Error).message).toBe(
        "Multiple Databricks-enabled ServiceAccounts found in namespace 'team-a': alpha, zeta. Configure exactly one.",
      );
    });
  });

  describe('cache', () => {
    it('serves hits from the cache until the TTL passes', async () => {
      seedServiceAccounts(fake, 'team-a', [labelled('dbx')]);
      const d = discovery();

      await d.discover('team-a');
      clock += TTL_MS - 1;
      await expect(d.discover('team-a')).resolves.toMatchObject({ name: 'dbx' });
      expect(listCalls()).toBe(1);

      seedServiceAccounts(fake, 'team-a', [labelled('renamed')]);
      clock += 1;
      await expect(d.discover('team-a')).resolves.toMatchObject({ name: 'renamed' });
      expect(listCalls()).toBe(2);
    });

    it('caches misses too', async () => {
      const d = discovery();
      await expect(d.discover('team-a')).resolves.toBeUndefined();
      seedServiceAccounts(fake, 'team-a', [labelled('dbx')]);
      await expect(d.discover('team-a')).resolves.toBeUndefined();
      expect(listCalls()).toBe(1);
    });

    it('keeps namespaces apart', async () => {
      seedServiceAccounts(fake, 'team-a', [labelled('a')]);
      seedServiceAccounts(fake, 'team-b', [labelled('b')]);
      const d = discovery();
      await expect(d.discover('team-a')).resolves.toMatchObject({ name: 'a' });
      await expect(d.discover('team-b')).resolves.toMatchObject({ name: 'b' });
      expect(listCalls('team-a')).toBe(1);
      expect(listCalls('team-b')).toBe(1);
    });

    it('lists again after evict, and only for that namespace', async () => {
      seedServiceAccounts(fake, 'team-a', [labelled('dbx')]);
      const d = discovery();
      await d.discover('team-a');
      await d.discover('team-b');

      seedServiceAccounts(fake, 'team-a', [labelled('dbx', 'sp-rotated')]);
      d.evict('team-a');

      await expect(d.discover('team-a')).resolves.toMatchObject({ clientId: 'sp-rotated' });
      await d.discover('team-b');
      expect(listCalls('team-a')).toBe(2);
      expect(listCalls('team-b')).toBe(1);
    });

    it('shares one list call between concurrent lookups of a namespace', async () => {
      seedServiceAccounts(fake, 'team-a', [labelled('dbx')]);
      const d = discovery();

      const results = await Promise.all([d.discover('team-a'), d.discover('team-a'), d.discover('team-a')]);

      expect(results.map((r) => r?.name)).toEqual(['dbx', 'dbx', 'dbx']);
      expect(listCalls()).toBe(1);
    });

    it('does not cache a lookup that was evicted while in flight', async () => {
      seedServiceAccounts(fake, 'team-a', [labelled('dbx')]);
      const d = discovery();

      const pending = d.discover('team-a');
      d.evict('team-a');
      await pending;
      await d.discover('team-a');

      expect(listCalls()).toBe(2);
    });

    it('does not cache errors', async () => {
      seedServiceAccounts(fake, 'team-a', [labelled('dbx')]);
      fake.injectFaults('any', [{ status: 500 }]);
      const d = discovery();

      await expect(d.discover('team-a')).rejects.toMatchObject({ permanent: false });
      await expect(d.discover('team-a')).resolves.toMatchObject({ name: 'dbx' });
      expect(listCalls()).toBe(2);
    });

    it('does not cache the several-ServiceAccounts error either', async () => {
      seedServiceAccounts(fake, 'team-a', [labelled('one'), labelled('two')]);
      const d = discovery();
      await expect(d.discover('team-a')).rejects.toThrow(AuthConfigError);

      seedServiceAccounts(fake, 'team-a', [labelled('one')]);
      await expect(d.discover('team-a')).resolves.toMatchObject({ name: 'one' });
    });

    it('caches nothing with a TTL of 0', async () => {
      const d = discovery(0);
      await d.discover('team-a');
      await d.discover('team-a');
      expect(listCalls()).toBe(2);
    });
  });
});
