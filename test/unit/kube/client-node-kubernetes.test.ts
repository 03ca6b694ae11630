import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesApi } from '../../../infra/local/emulators/kubernetes-api.js';
import { AuthConfigError, ConnectorError } from '../../../shared/errors.js';
import { ClientNodeKubernetes } from '../../../shared/kube/client-node-kubernetes.js';
import { loadKubeConfig } from '../../../shared/kube/kube-config.js';
import { queryOf, seedServiceAccounts, startKubeApi } from './kube-api-emulator.js';

const TOKEN = 'connector-static-token';
const enabled = { 'flyte.org/databricks-enabled': 'true' };

let fake: KubernetesApi;
let port: ClientNodeKubernetes;
/** Only for the test of the timeout itself. */
let impatientPort: ClientNodeKubernetes;

beforeAll(async () => {
  fake = await startKubeApi();
  const loaded = loadKubeConfig({ apiUrl: fake.url, staticToken: TOKEN }, {});
  // Generous: a loaded CI machine must not turn a slow answer into a false timeout.
  port = new ClientNodeKubernetes(loaded.kubeConfig, { describe: loaded.describe(), timeoutMs: 10_000 });
  const impatient = loadKubeConfig({ apiUrl: fake.url, staticToken: TOKEN }, {});
  impatientPort = new ClientNodeKubernetes(impatient.kubeConfig, { describe: impatient.describe(), timeoutMs: 300 });
});
afterAll(() => fake.close());
afterEach(() => {
  fake.reset();
});

async function failure(promise: Promise<unknown>): Promise<ConnectorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectorError);
  const connectorError = error as ConnectorError;
  // Whatever went wrong, a message never carries the connector's token.
  expect(connectorError.message).not.toContain(TOKEN);
  return connectorError;
}

describe('Class: ClientNodeKubernetes', () => {
  describe('Method: listDatabricksServiceAccounts', () => {
    it('lists with the label selector and the bearer token', async () => {
      await port.listDatabricksServiceAccounts('team-a');

      expect(fake.requests).toHaveLength(1);
      const [request] = fake.requests;
      expect(request?.method).toBe('GET');
      expect(request?.path).toBe('/api/v1/namespaces/team-a/serviceaccounts');
      expect(queryOf(request).get('labelSelector')).toBe('flyte.org/databricks-enabled=true');
      expect(request?.authorization).toBe(`Bearer ${TOKEN}`);
    });

    it('keeps labelled ServiceAccounts with a non-empty client id, trimming client id and audience', async () => {
      seedServiceAccounts(fake, 'team-a', [
        { name: 'default' }, // not labelled: filtered by the API
        { name: 'spark', labels: { 'flyte.org/databricks-enabled': 'false' } },
        {
          name: 'dbx',
          labels: enabled,
          annotations: { 'flyte.org/databricks-client-id': '  sp-123 \n', 'flyte.org/databricks-audience': ' aud-x ' },
        },
        { name: 'blank', labels: enabled, annotations: { 'flyte.org/databricks-client-id': '   ' } },
        { name: 'empty', labels: enabled, annotations: { 'flyte.org/databricks-client-id': '' } },
        { name: 'unannotated', labels: enabled },
        {
          name: 'no-audience',
          labels: enabled,
          annotations: { 'flyte.org/databricks-client-id': 'sp-456', 'flyte.org/databricks-audience': '  ' },
        },
      ]);

      const found = await port.listDatabricksServiceAccounts('team-a');

      expect(found).toEqual([
        { name: 'dbx', clientId: 'sp-123', audience: 'aud-x' },
        { name: 'no-audience', clientId: 'sp-456', audience: undefined },
      ]);
    });

    it('returns an empty list for a namespace without any', async () => {
      await expect(port.listDatabricksServiceAccounts('nobody')).resolves.toEqual([]);
    });
  });

  describe('Method: createServiceAccountToken', () => {
    it('POSTs a TokenRequest with the audience and lifetime, no bound object, and returns status.token', async () => {
      seedServiceAccounts(fake, 'team-a', [{ name: 'dbx' }]);

      const token = await port.createServiceAccountToken('team-a', 'dbx', 'databricks', 3600);

      expect(token).toBe(fake.tokenRequests.at(-1)?.token);
      expect(fake.tokenRequests.at(-1)).toMatchObject({ namespace: 'team-a', audiences: ['databricks'] });
      const [request] = fake.requests;
      expect(request?.method).toBe('POST');
      expect(request?.path).toBe('/api/v1/namespaces/team-a/serviceaccounts/dbx/token');
      expect(request?.authorization).toBe(`Bearer ${TOKEN}`);
      const body = request?.body as { spec: Record<string, unknown> };
      expect(body.spec).toEqual({ audiences: ['databricks'], expirationSeconds: 3600 });
      expect(body.spec).not.toHaveProperty('boundObjectRef');
    });

    it("says a missing ServiceAccount is not found, in upstream's words", async () => {
      const error = await failure(port.createServiceAccountToken('team-a', 'gone', 'databricks', 3600));
      expect(error).toBeInstanceOf(AuthConfigError);
      expect(error.permanent).toBe(true);
      expect(error.message).toContain("ServiceAccount 'team-a/gone' not found");
    });

    it('treats an empty token as an error', async () => {
      seedServiceAccounts(fake, 'team-a', [{ name: 'dbx' }]);
      // An API server that answers 201 without a token.
      fake.injectFaults('create-token', [{ status: 201, body: { kind: 'TokenRequest', status: { token: '' } } }]);
      const error = await failure(port.createServiceAccountToken('team-a', 'dbx', 'databricks', 3600));
      expect(error).toBeInstanceOf(AuthConfigError);
      expect(error.message).toContain("TokenRequest for ServiceAccount 'team-a/dbx' returned no token");
    });

    it("reports a rejected request (422 Invalid, as the API server validates it) as permanent, with the API's reason", async () => {
      seedServiceAccounts(fake, 'team-a', [{ name: 'dbx' }]);
      const error = await failure(port.createServiceAccountToken('team-a', 'dbx', 'databricks', 60));
      expect(error).not.toBeInstanceOf(AuthConfigError);
      expect(error.permanent).toBe(true);
      expect(error.message).toContain('HTTP 422');
      expect(error.message).toContain('may not specify a duration less than 10 minutes');
    });
  });

  describe('Method: readSecret', () => {
    it('base64-decodes the data to UTF-8', async () => {
      fake.putSecret('team-a', 'databricks-oauth', { client_id: 'sp-1', client_secret: 'sëcret ✓' });
      await expect(port.readSecret('team-a', 'databricks-oauth')).resolves.toEqual({
        client_id: 'sp-1',
        client_secret: 'sëcret ✓',
      });
      expect(fake.requests[0]?.path).toBe('/api/v1/namespaces/team-a/secrets/databricks-oauth');
    });

    it('returns a secret without the expected keys as it is', async () => {
      fake.putSecret('team-a', 'databricks-token', { other: 'x' });
      await expect(port.readSecret('team-a', 'databricks-token')).resolves.toEqual({ other: 'x' });
    });

    it('returns undefined for a missing secret', async () => {
      await expect(port.readSecret('team-a', 'databricks-token')).resolves.toBeUndefined();
    });

    it('fails on 403 instead of reporting "not found"', async () => {
      fake.putSecret('team-a', 'databricks-token', { token: 'dapi-value' });
      fake.injectFaults('get-secret', [{ status: 403 }]);
      const error = await failure(port.readSecret('team-a', 'databricks-token'));
      expect(error).toBeInstanceOf(AuthConfigError);
      expect(error.message).toContain("may not get secrets 'databricks-token' in namespace 'team-a'");
      expect(error.message).toContain('resources ["secrets"], verbs ["get"]');
    });
  });

  describe('error mapping', () => {
    it.each([
      {
        call: () => port.listDatabricksServiceAccounts('team-a'),
        what: "list serviceaccounts in namespace 'team-a'",
        rule: 'resources ["serviceaccounts"], verbs ["get", "list"]',
      },
      {
        call: () => port.createServiceAccountToken('team-a', 'dbx', 'databricks', 3600),
        what: "create serviceaccounts/token 'dbx' in namespace 'team-a'",
        rule: 'resources ["serviceaccounts/token"], verbs ["create"]',
      },
      {
        call: () => port.readSecret('team-a', 'databricks-token'),
        what: "get secrets 'databricks-token' in namespace 'team-a'",
        rule: 'resources ["secrets"], verbs ["get"]',
      },
    ])('403 to $what names the RBAC rule needed', async ({ call, what, rule }) => {
      fake.injectFaults('any', [{ status: 403 }]);
      const error = await failure(call());
      expect(error).toBeInstanceOf(AuthConfigError);
      expect(error.permanent).toBe(true);
      expect(error.message).toContain(`Forbidden: the connector may not ${what}`);
      expect(error.message).toContain(rule);
      expect(error.message).toContain(fake.url);
      expect(error.message).toContain('Kubernetes said: injected fault');
    });

    it('401 says the API rejected the credentials, permanently', async () => {
      fake.injectFaults('any', [{ status: 401 }]);
      const error = await failure(port.listDatabricksServiceAccounts('team-a'));
      expect(error).toBeInstanceOf(AuthConfigError);
      expect(error.permanent).toBe(true);
      expect(error.message).toMatch(/^the Kubernetes API rejected the connector's credentials \(Kubernetes API http/);
    });

    it.each([500, 503, 429])('%i is transient, so SQS retries', async (status) => {
      fake.putSecret('team-a', 'databricks-token', { token: 'dapi-value' });
      fake.injectFaults('any', [{ status }]);
      const error = await failure(port.readSecret('team-a', 'databricks-token'));
      expect(error).not.toBeInstanceOf(AuthConfigError);
      expect(error.permanent).toBe(false);
      expect(error.message).toContain(`HTTP ${status}`);
      expect(error.message).not.toContain('dapi-value');
    });

    it('a request that gets no answer times out as a transient error', async () => {
      fake.injectFaults('any', ['hang']);
      const started = Date.now();
      const error = await failure(impatientPort.listDatabricksServiceAccounts('team-a'));
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error.permanent).toBe(false);
      expect(error.message).toContain('TimeoutError');
    });

    it('a refused connection is a transient error', async () => {
      const closed = await startKubeApi();
      const url = closed.url;
      await closed.close();
      const unreachable = new ClientNodeKubernetes(loadKubeConfig({ apiUrl: url, staticToken: TOKEN }, {}).kubeConfig);

      const error = await failure(unreachable.readSecret('team-a', 'databricks-token'));

      expect(error.permanent).toBe(false);
      expect(error.message).toContain('ECONNREFUSED');
      expect(error.message).toContain(url);
    });
  });
});
