/**
 * What an operator does to onboard a namespace, with the real tools against the local emulators: kubectl (authenticated
 * by `aws eks get-token`, as an EKS kubeconfig is, over TLS with the emulator's CA) labels and annotates a
 * ServiceAccount, mints a token and stores a Secret; the AWS CLI manages the namespace's Secrets Manager secret.
 * Skipped when kubectl or the AWS CLI is not installed (Debian packages `kubectl` and `awscli`).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubernetesApi, startKubernetesApi, writeKubeconfig } from '../../infra/local/emulators/kubernetes-api.js';
import { type SecretsManagerEmulator, startSecretsManager } from '../../infra/local/emulators/secrets-manager.js';

const run = promisify(execFile);
const installed = (command: string, args: string[]): boolean =>
  spawnSync(command, args, { stdio: 'ignore' }).status === 0;
const missing = ['kubectl', 'aws'].filter((tool) =>
  tool === 'kubectl' ? !installed('kubectl', ['version', '--client']) : !installed('aws', ['--version']),
);

const KEY = { accessKeyId: 'AKIAONBOARDING', secretAccessKey: 'onboarding-secret' };
const OPERATOR = `arn:aws:iam::123456789012:role/${KEY.accessKeyId}`;
const NAMESPACE = 'team-a';
const LABEL = 'flyte.org/databricks-enabled';
const CLIENT_ID = 'flyte.org/databricks-client-id';

if (missing.length > 0) console.warn(`onboarding-cli: skipped, not installed: ${missing.join(', ')}`);

describe.skipIf(missing.length > 0)(`onboarding with kubectl and the AWS CLI (needs: kubectl, aws)`, () => {
  let k8s: KubernetesApi;
  let sm: SecretsManagerEmulator;
  let dir: string;
  let kubeconfig: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'onboarding-cli-'));
    k8s = await startKubernetesApi({
      tls: { directory: dir },
      clusterName: 'local-eks',
      acceptEksTokens: { region: 'us-east-1', credentials: { [KEY.accessKeyId]: KEY.secretAccessKey } },
    });
    k8s.addServiceAccount('kube-system', 'aws-node');
    sm = await startSecretsManager({ credentials: { [KEY.accessKeyId]: KEY.secretAccessKey } });
    // Nothing from the machine's own AWS or kube config may leak in: empty config files, a fresh HOME.
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    env = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_CONFIG_FILE: empty,
      AWS_SHARED_CREDENTIALS_FILE: empty,
      AWS_ACCESS_KEY_ID: KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_PAGER: '',
    };
    kubeconfig = writeKubeconfig({
      server: k8s.url,
      caFile: k8s.caFile as string,
      clusterName: k8s.clusterName,
      credentials: KEY,
      path: join(dir, 'kubeconfig'),
      env: { AWS_CONFIG_FILE: empty, AWS_SHARED_CREDENTIALS_FILE: empty },
    });
  }, 30_000);
  afterAll(async () => {
    await k8s?.close();
    await sm?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const kubectl = async (...args: string[]): Promise<string> =>
    (await run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], { env })).stdout;
  const kubectlFails = (...args: string[]): Promise<string> =>
    kubectl(...args).then(
      (out) => `unexpected success: ${out}`,
      (err: { stderr?: string }) => err.stderr ?? String(err),
    );
  const secretsManager = async (...args: string[]): Promise<Record<string, unknown>> => {
    const { stdout } = await run('aws', ['--endpoint-url', sm.url, '--output', 'json', 'secretsmanager', ...args], {
      env,
    });
    return stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, unknown>);
  };
  const secretsManagerFails = (...args: string[]): Promise<string> =>
    secretsManager(...args).then(
      (out) => `unexpected success: ${JSON.stringify(out)}`,
      (err: { stderr?: string }) => err.stderr ?? String(err),
    );

  it('kubectl, signed in with aws eks get-token over TLS, lists ServiceAccounts in all namespaces', async () => {
    const out = await kubectl('get', 'serviceaccounts', '-A');

    expect(out.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+SECRETS\s+AGE$/);
    expect(out).toMatch(/kube-system\s+aws-node\s+0\s+\S+/);
    const listed = k8s.requests.find((r) => r.path === '/api/v1/serviceaccounts');
    expect(listed).toMatchObject({ method: 'GET', status: 200, user: OPERATOR });
  }, 60_000);

  it('creates, labels and annotates a ServiceAccount; a second create is AlreadyExists', async () => {
    expect(await kubectl('create', 'serviceaccount', 'databricks', '-n', NAMESPACE)).toContain(
      'serviceaccount/databricks created',
    );
    expect(await kubectl('label', 'serviceaccount', 'databricks', '-n', NAMESPACE, `${LABEL}=true`)).toContain(
      'serviceaccount/databricks labeled',
    );
    expect(await kubectl('annotate', 'serviceaccount', 'databricks', '-n', NAMESPACE, `${CLIENT_ID}=sp-1`)).toContain(
      'serviceaccount/databricks annotated',
    );

    const sa = k8s.getObject('serviceaccounts', NAMESPACE, 'databricks');
    expect(sa?.metadata).toMatchObject({ labels: { [LABEL]: 'true' }, annotations: { [CLIENT_ID]: 'sp-1' } });
    expect(await kubectlFails('create', 'serviceaccount', 'databricks', '-n', NAMESPACE)).toContain(
      'serviceaccounts "databricks" already exists',
    );
    expect(await kubectlFails('get', 'serviceaccount', 'ghost', '-n', NAMESPACE)).toContain(
      'serviceaccounts "ghost" not found',
    );
    expect(await kubectl('get', 'serviceaccounts', '-n', NAMESPACE, '-l', `${LABEL}=true`, '-o', 'name')).toBe(
      'serviceaccount/databricks\n',
    );
  }, 60_000);

  it('mints a ServiceAccount token for an audience', async () => {
    const token = (await kubectl('create', 'token', 'databricks', '-n', NAMESPACE, '--audience', 'databricks')).trim();

    expect(decodeJwt(token)).toMatchObject({
      aud: ['databricks'],
      sub: `system:serviceaccount:${NAMESPACE}:databricks`,
      iss: k8s.issuer,
    });
    expect(k8s.tokenRequests.at(-1)).toMatchObject({
      namespace: NAMESPACE,
      serviceAccount: 'databricks',
      audiences: ['databricks'],
      requester: OPERATOR,
      token,
    });
  }, 60_000);

  it('stores a generic Secret', async () => {
    expect(
      await kubectl('create', 'secret', 'generic', 'databricks-token', '-n', NAMESPACE, '--from-literal=token=dapi-1'),
    ).toContain('secret/databricks-token created');

    expect(k8s.readSecret(NAMESPACE, 'databricks-token')).toEqual({ token: 'dapi-1' });
    expect(k8s.getObject('secrets', NAMESPACE, 'databricks-token')).toMatchObject({ type: 'Opaque' });
  }, 60_000);

  it('the AWS CLI creates, versions, reads, lists, describes, tags and deletes a secret', async () => {
    const name = `flyte/${NAMESPACE}/databricks-pat`;
    const created = await secretsManager('create-secret', '--name', name, '--secret-string', 'dapi-1');
    expect(created).toMatchObject({ Name: name, ARN: expect.stringContaining(`:secret:${name}-`) });
    expect(sm.inspect(name)?.versions).toEqual([
      { versionId: created.VersionId, stages: ['AWSCURRENT'], secretString: 'dapi-1' },
    ]);

    const put = await secretsManager('put-secret-value', '--secret-id', name, '--secret-string', 'dapi-2');
    expect(put).toMatchObject({ VersionStages: ['AWSCURRENT'] });
    expect(sm.inspect(name)?.versions.map((v) => [v.secretString, v.stages])).toEqual([
      ['dapi-1', ['AWSPREVIOUS']],
      ['dapi-2', ['AWSCURRENT']],
    ]);

    expect(await secretsManager('get-secret-value', '--secret-id', name)).toMatchObject({
      SecretString: 'dapi-2',
      VersionId: put.VersionId,
    });
    const listed = await secretsManager('list-secrets', '--filters', `Key=name,Values=flyte/${NAMESPACE}/`);
    expect((listed.SecretList as { Name: string }[]).map((s) => s.Name)).toEqual([name]);

    await secretsManager('tag-resource', '--secret-id', name, '--tags', `Key=namespace,Value=${NAMESPACE}`);
    expect(sm.inspect(name)?.tags).toEqual({ namespace: NAMESPACE });
    expect(await secretsManager('describe-secret', '--secret-id', name)).toMatchObject({
      Name: name,
      Tags: [{ Key: 'namespace', Value: NAMESPACE }],
      VersionIdsToStages: { [created.VersionId as string]: ['AWSPREVIOUS'], [put.VersionId as string]: ['AWSCURRENT'] },
    });

    expect(await secretsManagerFails('create-secret', '--name', name, '--secret-string', 'x')).toContain(
      'ResourceExistsException',
    );
    expect(await secretsManagerFails('get-secret-value', '--secret-id', 'flyte/nobody')).toContain(
      'ResourceNotFoundException',
    );

    await secretsManager('delete-secret', '--secret-id', name, '--recovery-window-in-days', '7');
    expect(sm.inspect(name)?.deletionDate).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    expect(await secretsManagerFails('get-secret-value', '--secret-id', name)).toContain('InvalidRequestException');

    await secretsManager('delete-secret', '--secret-id', name, '--force-delete-without-recovery');
    expect(sm.inspect(name)).toBeUndefined();
    expect(sm.requests.filter((r) => r.status === 200).map((r) => r.operation)).toEqual([
      'CreateSecret',
      'PutSecretValue',
      'GetSecretValue',
      'ListSecrets',
      'TagResource',
      'DescribeSecret',
      'DeleteSecret',
      'DeleteSecret',
    ]);
  }, 90_000);
});
