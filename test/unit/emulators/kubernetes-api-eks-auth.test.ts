import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubernetesApi, startKubernetesApi } from '../../../infra/local/emulators/kubernetes-api.js';
import { verifyEksToken } from '../../../infra/local/emulators/kubernetes-eks-token.js';
import { createEksToken } from '../../../shared/kube/eks-token.js';

const KEY_ID = 'AKIALAMBDAROLE';
const SECRET = 'lambda-secret';
const ROLE_USER = `arn:aws:iam::123456789012:role/${KEY_ID}`;

interface TokenParts {
  cluster?: string;
  secret?: string;
  signingDate?: Date;
  expiresIn?: number;
  host?: string;
  scheme?: string;
  signClusterHeader?: boolean;
  extraQuery?: Record<string, string>;
}

/**
 * Builds `k8s-aws-v1.` + base64url(presigned GetCallerIdentity URL) the way aws-iam-authenticator does, with the
 * defects the negative cases need; well-formed tokens come from the product's builder (shared/kube/eks-token.ts).
 */
async function eksToken(parts: TokenParts = {}): Promise<string> {
  const host = parts.host ?? 'sts.us-east-1.amazonaws.com';
  const signer = new SignatureV4({
    service: 'sts',
    region: 'us-east-1',
    credentials: { accessKeyId: KEY_ID, secretAccessKey: parts.secret ?? SECRET },
    sha256: Hash.bind(null, 'sha256'),
  });
  const headers: Record<string, string> = { host };
  if (parts.signClusterHeader !== false) headers['x-k8s-aws-id'] = parts.cluster ?? 'local-eks';
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname: host,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15', ...parts.extraQuery },
      headers,
    },
    { expiresIn: parts.expiresIn ?? 60, ...(parts.signingDate ? { signingDate: parts.signingDate } : {}) },
  );
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `k8s-aws-v1.${Buffer.from(`${parts.scheme ?? 'https'}://${host}/?${query}`).toString('base64url')}`;
}

function coreApi(server: string, token: string): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'eks', server, skipTLSVerify: true }],
    users: [{ name: 'lambda', token }],
    contexts: [{ name: 'eks', cluster: 'eks', user: 'lambda' }],
    currentContext: 'eks',
  });
  return kc.makeApiClient(CoreV1Api);
}

describe('Kubernetes API emulator: EKS (aws-iam-authenticator) tokens', () => {
  let k8s: KubernetesApi;

  beforeAll(async () => {
    k8s = await startKubernetesApi({
      clusterName: 'local-eks',
      acceptEksTokens: { region: 'us-east-1', credentials: { [KEY_ID]: SECRET } },
    });
    k8s.addServiceAccount('team-a', 'databricks', { labels: { 'flyte.org/databricks-enabled': 'true' } });
  });
  afterAll(async () => {
    await k8s.close();
  });

  /** Status of a list call with this bearer token, and the authenticator's reason when it was refused. */
  async function attempt(token: string): Promise<{ status: number; authError: string | undefined }> {
    const status = await coreApi(k8s.url, token)
      .listNamespacedServiceAccount({ namespace: 'team-a' })
      .then(
        () => 200,
        (err: unknown) => (err instanceof ApiException ? err.code : -1),
      );
    return { status, authError: k8s.requests.at(-1)?.authError };
  }

  it('accepts a presigned GetCallerIdentity token for this cluster and maps it to the role principal', async () => {
    const list = await coreApi(k8s.url, await eksToken()).listNamespacedServiceAccount({
      namespace: 'team-a',
      labelSelector: 'flyte.org/databricks-enabled=true',
    });

    expect(list.items.map((sa) => sa.metadata?.name)).toEqual(['databricks']);
    expect(k8s.requests.at(-1)).toMatchObject({ status: 200, user: ROLE_USER });
  });

  it("accepts the product's EKS token, one for the global STS endpoint, and one for another region's STS", async () => {
    const credentials = { accessKeyId: KEY_ID, secretAccessKey: SECRET };
    const { token } = await createEksToken({ clusterName: 'local-eks', region: 'us-east-1', credentials });
    const elsewhere = await createEksToken({ clusterName: 'local-eks', region: 'eu-west-1', credentials });
    expect((await attempt(token)).status).toBe(200);
    expect((await attempt(await eksToken({ host: 'sts.amazonaws.com' }))).status).toBe(200);
    expect((await attempt(elsewhere.token)).status).toBe(200);
  });

  it('refuses a token for another cluster: the signed x-k8s-aws-id does not match (401)', async () => {
    const result = await attempt(await eksToken({ cluster: 'prod-eks' }));
    expect(result.status).toBe(401);
    expect(result.authError).toContain('SignatureDoesNotMatch');
  });

  it('refuses a tampered token (401)', async () => {
    const token = await eksToken();
    const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
    const signature = url.searchParams.get('X-Amz-Signature') ?? '';
    url.searchParams.set('X-Amz-Signature', `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`);
    const tampered = `k8s-aws-v1.${Buffer.from(url.toString()).toString('base64url')}`;
    const withOtherAction = `k8s-aws-v1.${Buffer.from(url.toString().replace('GetCallerIdentity', 'AssumeRole')).toString('base64url')}`;

    expect(await attempt(tampered)).toMatchObject({
      status: 401,
      authError: expect.stringContaining('SignatureDoesNotMatch'),
    });
    expect(await attempt(withOtherAction)).toMatchObject({
      status: 401,
      authError: expect.stringContaining('unexpected action parameter'),
    });
  });

  it('refuses an expired token: X-Amz-Date older than 15 minutes (401)', async () => {
    const result = await attempt(await eksToken({ signingDate: new Date(Date.now() - 16 * 60_000) }));
    expect(result.status).toBe(401);
    expect(result.authError).toContain('X-Amz-Date parameter is expired');
    expect((await attempt(await eksToken({ signingDate: new Date(Date.now() - 14 * 60_000) }))).status).toBe(200);
  });

  it('refuses tokens signed with the wrong secret or by an unknown key (401)', async () => {
    expect((await attempt(await eksToken({ secret: 'wrong' }))).authError).toContain('SignatureDoesNotMatch');
    const { token: unknown } = await createEksToken({
      clusterName: 'local-eks',
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: SECRET },
    });
    expect(await attempt(unknown)).toMatchObject({
      status: 401,
      authError: expect.stringContaining('InvalidClientTokenId'),
    });
  });

  it('applies the authenticator format checks', async () => {
    const cases: [string, string][] = [
      [await eksToken({ signClusterHeader: false }), 'did not sign the x-k8s-aws-id header'],
      [await eksToken({ expiresIn: 901 }), 'invalid X-Amz-Expires'],
      [await eksToken({ scheme: 'http' }), 'unexpected scheme "http"'],
      [await eksToken({ host: 'sts.attacker.example' }), 'unexpected hostname'],
      [await eksToken({ extraQuery: { Foo: 'bar' } }), 'non-whitelisted query parameter "Foo"'],
      [`${await eksToken()}==`, 'illegal base64'],
      [`k8s-aws-v2.${(await eksToken()).slice('k8s-aws-v1.'.length)}`, 'missing expected "k8s-aws-v1." prefix'],
      [`k8s-aws-v1.${'A'.repeat(4100)}`, 'token is too large'],
    ];
    for (const [token, reason] of cases) {
      expect(await attempt(token)).toEqual({ status: 401, authError: expect.stringContaining(reason) });
    }
  });

  it('verifyEksToken: a URL re-pointed at another STS host fails, because the host header is signed', async () => {
    const token = await eksToken();
    const url = Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8');
    const moved = `k8s-aws-v1.${Buffer.from(url.replace('sts.us-east-1.amazonaws.com', 'sts.amazonaws.com')).toString('base64url')}`;
    const check = { clusterName: 'local-eks', region: 'us-east-1', credentials: { [KEY_ID]: SECRET }, now: Date.now() };

    expect(verifyEksToken(token, check)).toEqual({ ok: true, accessKeyId: KEY_ID });
    expect(verifyEksToken(moved, check)).toEqual({
      ok: false,
      reason: expect.stringContaining('SignatureDoesNotMatch'),
    });
  });

  it('subjects the EKS principal to RBAC by its role ARN', async () => {
    k8s.deny(ROLE_USER, { verb: 'list', resource: 'serviceaccounts' });
    try {
      const err = await coreApi(k8s.url, await eksToken())
        .listNamespacedServiceAccount({ namespace: 'team-a' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiException);
      expect((err as ApiException<string>).code).toBe(403);
      expect(JSON.parse((err as ApiException<string>).body).message).toBe(
        `serviceaccounts is forbidden: User "${ROLE_USER}" cannot list resource "serviceaccounts" in API group "" in the namespace "team-a"`,
      );
    } finally {
      k8s.clearDenials();
    }
  });
});
