import { describe, expect, it } from 'vitest';
import type { KubernetesAccess } from '../../../shared/auth/kubernetes-access.js';
import { OidcNamespaceSaAuth } from '../../../shared/auth/oidc-namespace-sa.js';
import { TokenCache } from '../../../shared/auth/token-cache.js';
import { AuthConfigError } from '../../../shared/errors.js';
import {
  FakeDiscovery,
  FakeKubernetes,
  kubernetesAccess,
  noSleep,
  oauthError,
  rejection,
  scriptedFetch,
  tokenResponse,
} from './fakes.js';

const HOST = 'https://dbc-1.cloud.databricks.com';
const CLIENT_ID = 'bbbb1111-2222-3333-4444-555566668888';

function model2(
  options: {
    kubernetes?: () => Promise<KubernetesAccess | undefined>;
    replies?: Parameters<typeof scriptedFetch>;
    cache?: TokenCache;
  } = {},
) {
  const port = new FakeKubernetes();
  const discovery = new FakeDiscovery();
  const { fetch, requests } = scriptedFetch(...(options.replies ?? [tokenResponse('db-1'), tokenResponse('db-2')]));
  const auth = new OidcNamespaceSaAuth({
    host: HOST,
    namespace: 'team-b',
    serviceAccount: 'flyte-databricks',
    clientId: CLIENT_ID,
    audience: 'databricks-team-b',
    expirationSeconds: 1800,
    kubernetes: options.kubernetes ?? (async () => kubernetesAccess(port, discovery)),
    tokenCache: options.cache ?? new TokenCache(),
    http: { fetch, ...noSleep },
  });
  return { auth, port, discovery, requests };
}

describe('Class: OidcNamespaceSaAuth', () => {
  it('mints a TokenRequest JWT (audience, expiration) and exchanges it for the SA client id', async () => {
    const { auth, port, requests } = model2();
    await expect(auth.getBearerToken()).resolves.toBe('db-1');
    expect(port.tokenRequests).toEqual([
      {
        namespace: 'team-b',
        serviceAccount: 'flyte-databricks',
        audience: 'databricks-team-b',
        expirationSeconds: 1800,
      },
    ]);
    expect(requests[0]?.form).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: 'k8s-jwt-1',
      client_id: CLIENT_ID,
      scope: 'all-apis',
    });
    expect(auth.cacheKey).toBe(`oidc2|${HOST}|${CLIENT_ID}|team-b:flyte-databricks|databricks-team-b`);
  });

  it('reuses the token, and on invalidate() drops it, evicts the discovery entry and mints a new JWT', async () => {
    const { auth, port, discovery, requests } = model2();
    await auth.getBearerToken();
    await auth.getBearerToken();
    expect(port.tokenRequests).toHaveLength(1);
    auth.invalidate();
    expect(discovery.evicted).toEqual(['team-b']);
    await expect(auth.getBearerToken()).resolves.toBe('db-2');
    expect(port.tokenRequests).toHaveLength(2);
    expect(requests[1]?.form.subject_token).toBe('k8s-jwt-2');
  });

  it('evicts the discovery entry even when invalidated before any token was fetched', async () => {
    const discovery = new FakeDiscovery();
    const { auth } = model2({ kubernetes: async () => kubernetesAccess(new FakeKubernetes(), discovery) });
    auth.invalidate();
    await new Promise((resolve) => setImmediate(resolve));
    expect(discovery.evicted).toEqual(['team-b']);
  });

  it('says how to configure Kubernetes when it is not configured', async () => {
    const { auth, requests } = model2({ kubernetes: async () => undefined });
    const error = await rejection(auth.getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    for (const hint of ['KUBERNETES_API_URL', 'EKS_CLUSTER_NAME', 'in-cluster', 'KUBECONFIG']) {
      expect(error.message).toContain(hint);
    }
    expect(requests).toHaveLength(0);
  });

  it('keeps the ServiceAccount JWT out of a refused exchange', async () => {
    const { auth } = model2({ replies: [oauthError(401, 'invalid_client', 'subject k8s-jwt-1 not trusted')] });
    const error = await rejection(auth.getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toContain('invalid_client');
    expect(error.message).not.toContain('k8s-jwt-1');
  });

  it('describes itself with the ServiceAccount, masked client id and audience', () => {
    expect(model2().auth.describe()).toBe(
      "oidc_federation model 2 (namespace 'team-b', ServiceAccount 'flyte-databricks', client 'bbbb...8888', " +
        "audience 'databricks-team-b')",
    );
  });
});
