/**
 * The Kubernetes API emulator's discovery documents: `/version`, `/api`, `/apis` and `/api/v1`, which kubectl reads
 * (and caches) before any resource call to map `serviceaccounts`/`sa`/`secret` to a path.
 *
 * Verified (kubectl 1.32 at -v=8 against this emulator; apimachinery types): kubectl first asks `/api` and `/apis`
 * for aggregated discovery (Accept `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,...,
 * application/json`) and falls back to the legacy documents served here when the answer is plain JSON; the legacy
 * shapes are `APIVersions` {versions, serverAddressByClientCIDRs}, `APIGroupList` {groups}, `APIResourceList`
 * {groupVersion, resources: [{name, singularName, namespaced, kind, verbs, shortNames?}]}, with subresources listed
 * as `<resource>/<sub>` (`serviceaccounts/token`: group authentication.k8s.io, version v1, kind TokenRequest).
 *
 * Assumed: no API groups besides the core one are needed (none are served); the version numbers reported; namespaces
 * are served read-only.
 */
import type { Reply } from './kubernetes-status.js';

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update'];

const RESOURCES = {
  kind: 'APIResourceList',
  groupVersion: 'v1',
  resources: [
    {
      name: 'namespaces',
      singularName: 'namespace',
      namespaced: false,
      kind: 'Namespace',
      verbs: ['get', 'list'],
      shortNames: ['ns'],
    },
    { name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: VERBS },
    {
      name: 'serviceaccounts',
      singularName: 'serviceaccount',
      namespaced: true,
      kind: 'ServiceAccount',
      verbs: VERBS,
      shortNames: ['sa'],
    },
    {
      name: 'serviceaccounts/token',
      singularName: '',
      namespaced: true,
      group: 'authentication.k8s.io',
      version: 'v1',
      kind: 'TokenRequest',
      verbs: ['create'],
    },
  ],
};

export const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-eks-local',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** The discovery document at `pathname`, or undefined when it is not one. `/version` needs no authentication. */
export function discovery(pathname: string, serverAddress: string): Reply | undefined {
  switch (pathname.replace(/\/+$/, '') || '/') {
    case '/version':
      return { status: 200, body: VERSION };
    case '/api':
      return {
        status: 200,
        body: {
          kind: 'APIVersions',
          versions: ['v1'],
          serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
        },
      };
    case '/apis':
      return { status: 200, body: { kind: 'APIGroupList', apiVersion: 'v1', groups: [] } };
    case '/api/v1':
      return { status: 200, body: RESOURCES };
    default:
      return undefined;
  }
}

export const isPublicPath = (pathname: string): boolean =>
  ['/version', '/healthz', '/livez', '/readyz'].includes(pathname.replace(/\/+$/, ''));
