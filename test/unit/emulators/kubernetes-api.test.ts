import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubernetesApi, startKubernetesApi } from '../../../infra/local/emulators/kubernetes-api.js';

const ADMIN = 'admin-token';
const CONNECTOR = 'connector-token';
const CONNECTOR_USER = 'system:serviceaccount:flyte:connector';
const LABEL = 'flyte.org/databricks-enabled';
const TOKEN_REQUEST = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest' };

/** client-node 2.0.1 refuses an http:// server unless skipTLSVerify is set (there is no TLS to verify). */
function coreApi(server: string, token: string): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'local', server, skipTLSVerify: true }],
    users: [{ name: 'user', token }],
    contexts: [{ name: 'local', cluster: 'local', user: 'user' }],
    currentContext: 'local',
  });
  return kc.makeApiClient(CoreV1Api);
}

/** The ApiException the call rejects with, and its Status body (undefined when the client drops it, as on 401). */
async function apiError(
  call: Promise<unknown>,
): Promise<{ code: number; status: Record<string, unknown> | undefined }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiException);
  const { code, body } = err as ApiException<unknown>;
  return { code, status: typeof body === 'string' ? (JSON.parse(body) as Record<string, unknown>) : undefined };
}

describe('Kubernetes API emulator', () => {
  let k8s: KubernetesApi;
  let admin: CoreV1Api;
  let connector: CoreV1Api;

  beforeAll(async () => {
    k8s = await startKubernetesApi({
      tokens: { [ADMIN]: { user: 'admin', groups: ['system:masters'] }, [CONNECTOR]: { user: CONNECTOR_USER } },
    });
    admin = coreApi(k8s.url, ADMIN);
    connector = coreApi(k8s.url, CONNECTOR);
    k8s.addServiceAccount('team-a', 'databricks', {
      labels: { [LABEL]: 'true', team: 'a' },
      annotations: { 'flyte.org/databricks-client-id': 'sp-app-id' },
    });
    k8s.addServiceAccount('team-a', 'disabled', { labels: { [LABEL]: 'false' } });
    k8s.addServiceAccount('team-a', 'plain');
    k8s.addServiceAccount('team-b', 'databricks', { labels: { [LABEL]: 'true' } });
    k8s.putSecret('team-a', 'databricks-token', { token: 'dapi-123' });
  });
  afterAll(async () => {
    await k8s.close();
  });

  it('lists ServiceAccounts of one namespace by label selector', async () => {
    const names = async (labelSelector: string): Promise<string[]> =>
      (await connector.listNamespacedServiceAccount({ namespace: 'team-a', labelSelector })).items.map(
        (sa) => sa.metadata?.name ?? '',
      );
    const list = await connector.listNamespacedServiceAccount({ namespace: 'team-a', labelSelector: `${LABEL}=true` });

    expect(list.kind).toBe('ServiceAccountList');
    expect(list.items).toHaveLength(1);
    expect(list.items[0]?.metadata).toMatchObject({
      name: 'databricks',
      namespace: 'team-a',
      labels: { [LABEL]: 'true', team: 'a' },
      annotations: { 'flyte.org/databricks-client-id': 'sp-app-id' },
    });
    expect(list.items[0]?.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(await names(LABEL)).toEqual(['databricks', 'disabled']);
    expect(await names(`${LABEL}!=true`)).toEqual(['disabled', 'plain']);
    expect(await names(`!${LABEL}`)).toEqual(['plain']);
    expect(await names(`${LABEL}=true,team=b`)).toEqual([]);
    expect(await names(`${LABEL} in (true,false),team notin (a)`)).toEqual(['disabled']);
    expect(await names('')).toEqual(['databricks', 'disabled', 'plain']);
  });

  it('answers a malformed label selector with 400 BadRequest', async () => {
    const { code, status } = await apiError(
      connector.listNamespacedServiceAccount({ namespace: 'team-a', labelSelector: 'a b c' }),
    );
    expect(code).toBe(400);
    expect(status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400 });
  });

  it('gets one ServiceAccount, and 404s a missing one with a NotFound Status', async () => {
    const sa = await connector.readNamespacedServiceAccount({ name: 'databricks', namespace: 'team-b' });
    const { code, status } = await apiError(
      connector.readNamespacedServiceAccount({ name: 'ghost', namespace: 'team-a' }),
    );

    expect(sa).toMatchObject({
      kind: 'ServiceAccount',
      apiVersion: 'v1',
      metadata: { name: 'databricks', namespace: 'team-b' },
    });
    expect(code).toBe(404);
    expect(status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'serviceaccounts "ghost" not found',
      reason: 'NotFound',
      details: { name: 'ghost', kind: 'serviceaccounts' },
      code: 404,
    });
  });

  it('serves a Secret with base64 data, and 404s a missing one', async () => {
    const secret = await connector.readNamespacedSecret({ name: 'databricks-token', namespace: 'team-a' });
    const { code, status } = await apiError(
      connector.readNamespacedSecret({ name: 'databricks-oauth', namespace: 'team-a' }),
    );

    expect(secret.type).toBe('Opaque');
    expect(secret.data?.token).toBe(Buffer.from('dapi-123').toString('base64'));
    expect(Buffer.from(secret.data?.token ?? '', 'base64').toString('utf8')).toBe('dapi-123');
    expect(code).toBe(404);
    expect(status?.message).toBe('secrets "databricks-oauth" not found');
  });

  it('mints a TokenRequest JWT that verifies against the published JWKS', async () => {
    const created = await connector.createNamespacedServiceAccountToken({
      name: 'databricks',
      namespace: 'team-a',
      body: { ...TOKEN_REQUEST, spec: { audiences: ['databricks'], expirationSeconds: 3600 } },
    });
    const token = created.status?.token ?? '';
    const discovery = (await (await fetch(`${k8s.url}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: k8s.issuer,
      audience: 'databricks',
      algorithms: ['RS256'],
    });
    const sa = await connector.readNamespacedServiceAccount({ name: 'databricks', namespace: 'team-a' });

    expect(discovery).toMatchObject({ issuer: k8s.url, jwks_uri: `${k8s.url}/openid/v1/jwks` });
    expect(created).toMatchObject({
      kind: 'TokenRequest',
      metadata: { name: 'databricks', namespace: 'team-a' },
      spec: { audiences: ['databricks'], expirationSeconds: 3600 },
    });
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: k8s.oidc.kid });
    expect(payload).toMatchObject({
      iss: k8s.url,
      sub: 'system:serviceaccount:team-a:databricks',
      aud: ['databricks'],
      'kubernetes.io': { namespace: 'team-a', serviceaccount: { name: 'databricks', uid: sa.metadata?.uid } },
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
    expect(payload.nbf).toBe(payload.iat);
    expect(created.status?.expirationTimestamp?.getTime()).toBe((payload.exp as number) * 1000);
    expect(k8s.tokenRequests.at(-1)).toMatchObject({
      namespace: 'team-a',
      serviceAccount: 'databricks',
      audiences: ['databricks'],
      expirationSeconds: 3600,
      requester: CONNECTOR_USER,
      token,
    });
  });

  it('defaults empty audiences to the API server audience and the lifetime to an hour', async () => {
    const created = await connector.createNamespacedServiceAccountToken({
      name: 'databricks',
      namespace: 'team-a',
      body: { ...TOKEN_REQUEST, spec: { audiences: [] } },
    });
    const { payload } = await jwtVerify(
      created.status?.token ?? '',
      createRemoteJWKSet(new URL(`${k8s.url}/openid/v1/jwks`)),
      {
        audience: k8s.issuer,
      },
    );

    expect(created.spec?.audiences).toEqual([k8s.issuer]);
    expect(created.spec?.expirationSeconds).toBe(3600);
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
  });

  it('rejects a lifetime under 10 minutes with 422 Invalid, as the API server validates it', async () => {
    const { code, status } = await apiError(
      connector.createNamespacedServiceAccountToken({
        name: 'databricks',
        namespace: 'team-a',
        body: { ...TOKEN_REQUEST, spec: { audiences: ['databricks'], expirationSeconds: 599 } },
      }),
    );

    expect(code).toBe(422);
    expect(status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes',
      reason: 'Invalid',
      details: {
        group: 'authentication.k8s.io',
        kind: 'TokenRequest',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: 'Invalid value: 599: may not specify a duration less than 10 minutes',
            field: 'spec.expirationSeconds',
          },
        ],
      },
      code: 422,
    });
  });

  it('404s a TokenRequest for a missing ServiceAccount, before validating the lifetime', async () => {
    const { code, status } = await apiError(
      connector.createNamespacedServiceAccountToken({
        name: 'ghost',
        namespace: 'team-a',
        body: { ...TOKEN_REQUEST, spec: { audiences: ['databricks'], expirationSeconds: 60 } },
      }),
    );
    expect(code).toBe(404);
    expect(status).toMatchObject({ reason: 'NotFound', message: 'serviceaccounts "ghost" not found' });
  });

  it('rejects a TokenRequest whose metadata names another ServiceAccount', async () => {
    const { code, status } = await apiError(
      connector.createNamespacedServiceAccountToken({
        name: 'databricks',
        namespace: 'team-a',
        body: { ...TOKEN_REQUEST, metadata: { name: 'plain' }, spec: { audiences: ['databricks'] } },
      }),
    );
    expect(code).toBe(422);
    expect(status?.message).toBe(
      'TokenRequest.authentication.k8s.io "databricks" is invalid: metadata.name: Invalid value: "plain": must match the service account name if specified',
    );
  });

  it('answers RBAC denials with 403 Forbidden Statuses worded like the API server', async () => {
    k8s.deny(CONNECTOR_USER, { verb: 'create', resource: 'serviceaccounts/token' });
    k8s.deny(CONNECTOR, { verb: 'list', resource: 'serviceaccounts', namespace: 'team-b' });
    try {
      const token = await apiError(
        connector.createNamespacedServiceAccountToken({
          name: 'databricks',
          namespace: 'team-a',
          body: { ...TOKEN_REQUEST, spec: { audiences: ['databricks'] } },
        }),
      );
      const list = await apiError(connector.listNamespacedServiceAccount({ namespace: 'team-b' }));
      const adminToken = await admin.createNamespacedServiceAccountToken({
        name: 'databricks',
        namespace: 'team-a',
        body: { ...TOKEN_REQUEST, spec: { audiences: ['databricks'] } },
      });

      expect(token.code).toBe(403);
      expect(token.status).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `serviceaccounts "databricks" is forbidden: User "${CONNECTOR_USER}" cannot create resource "serviceaccounts/token" in API group "" in the namespace "team-a"`,
        reason: 'Forbidden',
        details: { name: 'databricks', kind: 'serviceaccounts' },
        code: 403,
      });
      expect(list.code).toBe(403);
      expect(list.status).toMatchObject({
        message: `serviceaccounts is forbidden: User "${CONNECTOR_USER}" cannot list resource "serviceaccounts" in API group "" in the namespace "team-b"`,
        details: { kind: 'serviceaccounts' },
      });
      expect(adminToken.status?.token).toBeTruthy();
    } finally {
      k8s.clearDenials();
    }
  });

  it('consults the RBAC hook with user, verb, resource, namespace and name', async () => {
    const seen: unknown[][] = [];
    k8s.setRbac((...args) => {
      seen.push(args);
      return args[2] !== 'secrets';
    });
    try {
      const { code, status } = await apiError(
        connector.readNamespacedSecret({ name: 'databricks-token', namespace: 'team-a' }),
      );
      expect(code).toBe(403);
      expect(status?.message).toBe(
        `secrets "databricks-token" is forbidden: User "${CONNECTOR_USER}" cannot get resource "secrets" in API group "" in the namespace "team-a"`,
      );
      expect(seen).toEqual([[CONNECTOR_USER, 'get', 'secrets', 'team-a', 'databricks-token']]);
    } finally {
      k8s.setRbac(undefined);
    }
  });

  it('answers an unknown or missing bearer token with 401 Unauthorized', async () => {
    const { code } = await apiError(coreApi(k8s.url, 'nope').listNamespacedServiceAccount({ namespace: 'team-a' }));
    const raw = await fetch(`${k8s.url}/api/v1/namespaces/team-a/secrets/databricks-token`);

    expect(code).toBe(401);
    expect(raw.status).toBe(401);
    expect(raw.headers.get('content-type')).toBe('application/json');
    expect(raw.headers.get('content-length')).toBe('129');
    expect(raw.headers.get('cache-control')).toBe('no-cache, private');
    expect(await raw.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
    expect(k8s.requests.at(-1)).toMatchObject({ status: 401, user: undefined, authError: 'no credentials' });
  });

  it('404s unknown paths with a Status, after authentication', async () => {
    const response = await fetch(`${k8s.url}/api/v1/namespaces/team-a/configmaps/x`, {
      headers: { Authorization: `Bearer ${ADMIN}` },
    });
    const unauthenticated = await fetch(`${k8s.url}/apis/unknown`);

    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'the server could not find the requested resource',
      code: 404,
    });
    expect(unauthenticated.status).toBe(401);
  });

  it('serves the OIDC discovery document and JWKS without authentication', async () => {
    const jwks = (await (await fetch(`${k8s.url}/openid/v1/jwks`)).json()) as { keys: { kid: string; alg: string }[] };
    const token = (
      await connector.createNamespacedServiceAccountToken({
        name: 'databricks',
        namespace: 'team-b',
        body: { ...TOKEN_REQUEST, spec: { audiences: ['databricks'] } },
      })
    ).status?.token;

    expect(jwks.keys.map((k) => [k.kid, k.alg])).toEqual([[decodeProtectedHeader(token ?? '').kid, 'RS256']]);
  });

  it('injects faults per route, then recovers', async () => {
    k8s.injectFaults('create-token', [{ status: 503 }]);
    k8s.injectFaults('get-secret', ['reset']);
    const failed = await apiError(
      connector.createNamespacedServiceAccountToken({
        name: 'databricks',
        namespace: 'team-a',
        body: { ...TOKEN_REQUEST, spec: { audiences: ['databricks'] } },
      }),
    );
    const reset = await connector.readNamespacedSecret({ name: 'databricks-token', namespace: 'team-a' }).then(
      () => 'ok',
      (err: unknown) => String(err),
    );
    const recovered = await connector.createNamespacedServiceAccountToken({
      name: 'databricks',
      namespace: 'team-a',
      body: { ...TOKEN_REQUEST, spec: { audiences: ['databricks'] } },
    });

    expect(failed.code).toBe(503);
    expect(failed.status).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
    expect(reset).not.toBe('ok');
    expect(recovered.status?.token).toBeTruthy();
    expect(k8s.requests.filter((r) => r.status === 0).map((r) => r.path)).toEqual([
      '/api/v1/namespaces/team-a/secrets/databricks-token',
    ]);
  });
});

describe('Kubernetes API emulator: token expiration cap', () => {
  it('shortens a TokenRequest beyond the server maximum and warns', async () => {
    const k8s = await startKubernetesApi({ tokens: { t: { user: 'u' } }, maxTokenExpirationSeconds: 1800 });
    try {
      k8s.addServiceAccount('ns', 'sa');
      const response = await fetch(`${k8s.url}/api/v1/namespaces/ns/serviceaccounts/sa/token`, {
        method: 'POST',
        headers: { Authorization: 'Bearer t', 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...TOKEN_REQUEST, spec: { audiences: ['x'], expirationSeconds: 7200 } }),
      });
      const body = (await response.json()) as { spec: { expirationSeconds: number } };

      expect(response.status).toBe(201);
      expect(response.headers.get('warning')).toBe(
        '299 - "requested expiration of 7200 seconds shortened to 1800 seconds"',
      );
      expect(body.spec.expirationSeconds).toBe(1800);
    } finally {
      await k8s.close();
    }
  });
});
