/**
 * The Kubernetes API emulator's behaviour for kubectl, without kubectl (test/integration/onboarding-cli.test.ts runs
 * the real one): discovery, Tables, create / patch / update / delete with their errors, protobuf bodies, TLS and the
 * kubeconfig.
 */
import { readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type KubernetesApi,
  startKubernetesApi,
  writeKubeconfig,
} from '../../../infra/local/emulators/kubernetes-api.js';
import { humanDuration } from '../../../infra/local/emulators/kubernetes-table.js';

const TOKEN = 'operator-token';
const TABLE =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

/** Protobuf length-delimited field. */
const field = (n: number, value: Buffer | string): Buffer => {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([Buffer.from([(n << 3) | 2, bytes.length]), bytes]);
};
const envelope = (kind: string, raw: Buffer): Buffer =>
  Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    field(1, Buffer.concat([field(1, 'v1'), field(2, kind)])),
    field(2, raw),
  ]);

describe('Kubernetes API emulator for kubectl', () => {
  let k8s: KubernetesApi;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${k8s.url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        ...(body !== undefined && !Buffer.isBuffer(body) ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body) } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary API JSON
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    k8s = await startKubernetesApi({ tokens: { [TOKEN]: { user: 'operator' } } });
  });
  beforeEach(() => k8s.reset());
  afterAll(() => k8s.close());

  it('serves the discovery documents kubectl reads; /version without authentication', async () => {
    const version = await fetch(`${k8s.url}/version`);
    const api = await call('GET', '/api');
    const apis = await call('GET', '/apis');
    const v1 = await call('GET', '/api/v1');

    expect(version.status).toBe(200);
    expect(await version.json()).toMatchObject({ major: '1', gitVersion: expect.stringMatching(/^v1\./) });
    expect(api.body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    expect(apis.body).toMatchObject({ kind: 'APIGroupList', groups: [] });
    expect(v1.body.resources.map((r: { name: string }) => r.name)).toEqual([
      'namespaces',
      'secrets',
      'serviceaccounts',
      'serviceaccounts/token',
    ]);
    expect((await fetch(`${k8s.url}/api`)).status).toBe(401);
  });

  it('answers a Table when asked for one, across namespaces', async () => {
    k8s.addServiceAccount('team-b', 'zeta');
    k8s.addServiceAccount('team-a', 'alpha');
    const { body } = await call('GET', '/api/v1/serviceaccounts?limit=500', undefined, { Accept: TABLE });

    expect(body.kind).toBe('Table');
    expect(body.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Secrets', 'Age']);
    expect(body.rows.map((r: { cells: unknown[] }) => r.cells.slice(0, 2))).toEqual([
      ['alpha', 0],
      ['zeta', 0],
    ]);
    expect(body.rows[0].object).toMatchObject({
      kind: 'PartialObjectMetadata',
      metadata: { name: 'alpha', namespace: 'team-a' },
    });
    expect((await call('GET', '/api/v1/serviceaccounts')).body.kind).toBe('ServiceAccountList');
  });

  it('creates a ServiceAccount (201), refuses a duplicate (409 AlreadyExists) and a bad name (422)', async () => {
    const created = await call('POST', '/api/v1/namespaces/team-a/serviceaccounts', { metadata: { name: 'dbx' } });
    const again = await call('POST', '/api/v1/namespaces/team-a/serviceaccounts', { metadata: { name: 'dbx' } });
    const bad = await call('POST', '/api/v1/namespaces/team-a/serviceaccounts', { metadata: { name: 'Bad_Name' } });
    const elsewhere = await call('POST', '/api/v1/namespaces/team-a/serviceaccounts', {
      metadata: { name: 'x', namespace: 'team-b' },
    });

    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({ name: 'dbx', namespace: 'team-a', uid: expect.any(String) });
    expect(again).toEqual({
      status: 409,
      body: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'serviceaccounts "dbx" already exists',
        reason: 'AlreadyExists',
        details: { name: 'dbx', kind: 'serviceaccounts' },
        code: 409,
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toMatch(/^ServiceAccount "Bad_Name" is invalid: metadata\.name: Invalid value/);
    expect(elsewhere.body).toMatchObject({ code: 400, reason: 'BadRequest' });
  });

  it('merge-patches labels and annotations as kubectl label/annotate do, null removing one', async () => {
    k8s.addServiceAccount('team-a', 'dbx', { labels: { keep: 'yes' } });
    const path = '/api/v1/namespaces/team-a/serviceaccounts/dbx';
    const merge = { 'Content-Type': 'application/merge-patch+json' };

    await call('PATCH', path, { metadata: { labels: { 'flyte.org/databricks-enabled': 'true' } } }, merge);
    await call('PATCH', path, { metadata: { annotations: { 'flyte.org/databricks-client-id': 'sp-1' } } }, merge);
    const removed = await call('PATCH', path, { metadata: { labels: { keep: null } } }, merge);
    const jsonPatch = await call('PATCH', path, [], { 'Content-Type': 'application/json-patch+json' });
    const stale = await call('PATCH', path, { metadata: { resourceVersion: '1', labels: { a: 'b' } } }, merge);

    expect(removed.body.metadata.labels).toEqual({ 'flyte.org/databricks-enabled': 'true' });
    expect(k8s.getObject('serviceaccounts', 'team-a', 'dbx')?.metadata).toMatchObject({
      labels: { 'flyte.org/databricks-enabled': 'true' },
      annotations: { 'flyte.org/databricks-client-id': 'sp-1' },
    });
    expect(jsonPatch.status).toBe(415);
    expect(stale.body).toMatchObject({ code: 409, reason: 'Conflict' });
  });

  it('updates (PUT) and deletes, answering a Success Status', async () => {
    k8s.putSecret('team-a', 'tok', { token: 'a' });
    const put = await call('PUT', '/api/v1/namespaces/team-a/secrets/tok', {
      metadata: { name: 'tok' },
      stringData: { token: 'b' },
    });
    const deleted = await call('DELETE', '/api/v1/namespaces/team-a/secrets/tok');
    const gone = await call('GET', '/api/v1/namespaces/team-a/secrets/tok');

    expect(put.body.data).toEqual({ token: Buffer.from('b').toString('base64') });
    expect(deleted.body).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'tok', kind: 'secrets' },
    });
    expect(gone.body).toMatchObject({ code: 404, message: 'secrets "tok" not found' });
  });

  it('decodes the protobuf bodies kubectl create sends (ServiceAccount, Secret)', async () => {
    const protobuf = { 'Content-Type': 'application/vnd.kubernetes.protobuf' };
    const sa = envelope('ServiceAccount', field(1, Buffer.concat([field(1, 'dbx'), field(3, 'team-a')])));
    const secret = envelope(
      'Secret',
      Buffer.concat([
        field(1, Buffer.concat([field(1, 'tok'), field(3, 'team-a')])),
        field(2, Buffer.concat([field(1, 'token'), field(2, Buffer.from('dapi-1'))])),
        field(3, 'Opaque'),
      ]),
    );

    expect((await call('POST', '/api/v1/namespaces/team-a/serviceaccounts', sa, protobuf)).status).toBe(201);
    expect((await call('POST', '/api/v1/namespaces/team-a/secrets', secret, protobuf)).status).toBe(201);
    expect(k8s.getObject('serviceaccounts', 'team-a', 'dbx')).toBeDefined();
    expect(k8s.readSecret('team-a', 'tok')).toEqual({ token: 'dapi-1' });
    expect(k8s.requests.at(-1)?.body).toMatchObject({ kind: 'Secret', metadata: { name: 'tok' } });
  });

  it('serves namespaces read-only (kubectl GETs one to word a NotFound)', async () => {
    const ns = await call('GET', '/api/v1/namespaces/team-a');
    expect(ns.body).toMatchObject({ kind: 'Namespace', metadata: { name: 'team-a' }, status: { phase: 'Active' } });
    expect((await call('DELETE', '/api/v1/namespaces/team-a')).status).toBe(405);
  });

  it('words ages as kubectl does (HumanDuration)', () => {
    expect([5_000, 150_000, 720_000, 5 * 3600_000 + 60_000, 3 * 86_400_000].map(humanDuration)).toEqual([
      '5s',
      '2m30s',
      '12m',
      '5h1m',
      '3d',
    ]);
  });
});

describe('Kubernetes API emulator over TLS, and its kubeconfig', () => {
  it('writes its CA, serves https trusted by it, and writeKubeconfig points kubectl at both', async () => {
    const k8s = await startKubernetesApi({ tls: true, tokens: { t: { user: 'u' } } });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          `${k8s.url}/api`,
          { ca: k8s.caCertificate, headers: { Authorization: 'Bearer t' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      const path = writeKubeconfig({
        server: k8s.url,
        caFile: k8s.caFile as string,
        clusterName: 'local-eks',
        credentials: { accessKeyId: 'AKIA1', secretAccessKey: 's' },
      });
      const config = JSON.parse(readFileSync(path, 'utf8'));
      rmSync(dirname(path), { recursive: true, force: true });

      expect(k8s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(readFileSync(k8s.caFile as string, 'utf8')).toBe(k8s.caCertificate);
      expect(status).toBe(200);
      expect(config.clusters[0].cluster).toEqual({ server: k8s.url, 'certificate-authority': k8s.caFile });
      expect(config.users[0].user.exec).toMatchObject({
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        command: 'aws',
        args: ['--region', 'us-east-1', 'eks', 'get-token', '--cluster-name', 'local-eks', '--output', 'json'],
      });
      expect(config.users[0].user.exec.env).toContainEqual({ name: 'AWS_ACCESS_KEY_ID', value: 'AKIA1' });
    } finally {
      await k8s.close();
    }
  });
});
