/**
 * The Kubernetes API for the shared/kube client tests: the local stack's emulator (infra/local/emulators/
 * kubernetes-api.ts), accepting any bearer token so the tests see what the client sends, plus seeding helpers.
 */
import {
  type KubernetesApi,
  type KubernetesApiOptions,
  startKubernetesApi,
} from '../../../infra/local/emulators/kubernetes-api.js';

export interface SeedServiceAccount {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export const startKubeApi = (options: KubernetesApiOptions = {}): Promise<KubernetesApi> =>
  startKubernetesApi({ acceptAnyBearerToken: true, ...options });

const seeded = new WeakMap<KubernetesApi, Map<string, string[]>>();

/** Makes these the namespace's ServiceAccounts, replacing those seeded there before. */
export function seedServiceAccounts(api: KubernetesApi, namespace: string, accounts: SeedServiceAccount[]): void {
  const byNamespace = seeded.get(api) ?? new Map<string, string[]>();
  seeded.set(api, byNamespace);
  for (const name of byNamespace.get(namespace) ?? []) api.deleteServiceAccount(namespace, name);
  for (const { name, ...meta } of accounts) api.addServiceAccount(namespace, name, meta);
  byNamespace.set(
    namespace,
    accounts.map((a) => a.name),
  );
}

/** The query parameters of a recorded request. */
export const queryOf = (request: { query: string } | undefined): URLSearchParams =>
  new URLSearchParams(request?.query ?? '');
