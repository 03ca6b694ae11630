import { describe, expect, it } from 'vitest';
import type { AuthContext } from '../../../shared/auth/auth-context.js';
import { type AuthDeps, buildAuth, type SelectDeps, selectAuthContext } from '../../../shared/auth/resolve-auth.js';
import type { Config } from '../../../shared/config.js';
import { AuthConfigError } from '../../../shared/errors.js';
import type { TaskSpec } from '../../../shared/jobs/submit-request.js';
import type { DatabricksServiceAccount } from '../../../shared/kube/kubernetes-port.js';
import { testConfig } from '../../support/test-config.js';
import {
  FakeDiscovery,
  FakeKubernetes,
  InMemorySecrets,
  kubernetesAccess,
  rejection,
  scriptedFetch,
  testAuthDeps,
  tokenResponse,
} from './fakes.js';

const CONNECTOR_ID = 'eeee1111-2222-3333-4444-555566660000';
const TEAM_A_ID = 'aaaa1111-2222-3333-4444-555566667777';
const STAR_ID = 'ssss1111-2222-3333-4444-555566669999';
const TOKEN_DIR = '/var/run/secrets/tasks';
const HOST = 'https://dbc-1.cloud.databricks.com';
const HOST_NAME = 'dbc-1.cloud.databricks.com';
const SA: DatabricksServiceAccount = {
  name: 'flyte-databricks',
  clientId: 'bbbb1111-2222-3333-4444-555566668888',
  audience: undefined,
  hosts: HOST_NAME,
};

const oidc = (task: Partial<TaskSpec> = {}): TaskSpec => ({
  databricksConf: {},
  databricksAuthType: 'oidc_federation',
  ...task,
});

function selectDeps(
  options: {
    config?: Partial<Config>;
    env?: Record<string, string>;
    serviceAccount?: DatabricksServiceAccount;
    files?: string[];
    taskTokenFile?: SelectDeps['taskTokenFile'];
  } = {},
): SelectDeps {
  const files = options.files ?? [];
  const discovery = new FakeDiscovery(options.serviceAccount ? { 'team-a': options.serviceAccount } : {});
  return {
    config: testConfig({ OIDC_SUBJECT_TOKEN_SOURCE: 'sts', ...options.config }, options.env),
    secrets: new InMemorySecrets(),
    secretSource: 'secrets-manager',
    discovery: async () => discovery,
    fileExists: (path) => files.includes(path),
    ...(options.taskTokenFile ? { taskTokenFile: options.taskTokenFile } : {}),
  };
}

const clientIds = { NAMESPACE_OIDC_CLIENT_IDS: JSON.stringify({ 'team-a': TEAM_A_ID }) };

describe('OIDC Model 1: the operator chooses the service principal', () => {
  it("uses the namespace's NAMESPACE_OIDC_CLIENT_IDS entry, and DATABRICKS_CLIENT_ID for other namespaces", async () => {
    const deps = selectDeps({ config: { DATABRICKS_CLIENT_ID: CONNECTOR_ID }, env: clientIds });
    await expect(selectAuthContext('team-a', oidc(), deps)).resolves.toMatchObject({
      mode: 'oidc_model1_sts',
      clientId: TEAM_A_ID,
    });
    await expect(selectAuthContext('team-b', oidc(), deps)).resolves.toMatchObject({
      mode: 'oidc_model1_sts',
      clientId: CONNECTOR_ID,
    });
  });

  it('uses the "*" entry for namespaces without their own, before DATABRICKS_CLIENT_ID', async () => {
    const deps = selectDeps({
      config: { DATABRICKS_CLIENT_ID: CONNECTOR_ID },
      env: { NAMESPACE_OIDC_CLIENT_IDS: JSON.stringify({ 'team-a': TEAM_A_ID, '*': STAR_ID }) },
    });
    await expect(selectAuthContext('team-b', oidc(), deps)).resolves.toMatchObject({ clientId: STAR_ID });
    await expect(selectAuthContext('team-a', oidc(), deps)).resolves.toMatchObject({ clientId: TEAM_A_ID });
  });

  it('needs no DATABRICKS_CLIENT_ID for a mapped namespace, and auto-detects Model 1 from the map', async () => {
    const deps = selectDeps({ env: clientIds });
    const context = await selectAuthContext('team-a', { databricksConf: {} }, deps);
    expect(context).toMatchObject({ mode: 'oidc_model1_sts', clientId: TEAM_A_ID });
    expect(context.reason).toContain(
      'auto-detect: connector has NAMESPACE_OIDC_CLIENT_IDS + OIDC_SUBJECT_TOKEN_SOURCE=sts',
    );
    // Another namespace has no principal: Model 1 does not apply to it.
    const other = await selectAuthContext('team-b', { databricksConf: {} }, deps);
    expect(other.mode).toBe('pat');
  });

  it("refuses a task client id other than the operator's, masked, whatever the token source", async () => {
    for (const [config, files] of [
      [{ DATABRICKS_CLIENT_ID: CONNECTOR_ID }, []],
      [
        { DATABRICKS_CLIENT_ID: CONNECTOR_ID, OIDC_SUBJECT_TOKEN_SOURCE: 'file', AWS_WEB_IDENTITY_TOKEN_FILE: '/irsa' },
        ['/irsa'],
      ],
    ] as const) {
      const deps = selectDeps({ config, files: [...files] });
      const error = await rejection(
        selectAuthContext('team-a', oidc({ databricksClientId: 'ffff9999-0000-1111-2222-333344445555' }), deps),
      );
      expect(error).toBeInstanceOf(AuthConfigError);
      expect(error.message).toContain("task.databricksClientId 'ffff...5555' is not the service principal");
      expect(error.message).toContain("(DATABRICKS_CLIENT_ID: 'eeee...0000')");
      expect(error.message).toContain('remove databricksClientId from the task');
    }
  });

  it('refuses DATABRICKS_CLIENT_ID from a task of a namespace the map gives another principal', async () => {
    const deps = selectDeps({ config: { DATABRICKS_CLIENT_ID: CONNECTOR_ID }, env: clientIds });
    const error = await rejection(selectAuthContext('team-a', oidc({ databricksClientId: CONNECTOR_ID }), deps));
    expect(error.message).toContain("(NAMESPACE_OIDC_CLIENT_IDS: 'aaaa...7777')");
    // Repeating the operator's choice is accepted.
    await expect(selectAuthContext('team-a', oidc({ databricksClientId: TEAM_A_ID }), deps)).resolves.toMatchObject({
      clientId: TEAM_A_ID,
    });
  });

  it('refuses a task STS audience other than FLYTE_DATABRICKS_OIDC_AUDIENCE; the same one is accepted', async () => {
    const deps = selectDeps({
      config: { DATABRICKS_CLIENT_ID: CONNECTOR_ID, FLYTE_DATABRICKS_OIDC_AUDIENCE: 'ops-aud' },
    });
    const error = await rejection(selectAuthContext('team-a', oidc({ databricksOidcAudience: 'other-aud' }), deps));
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toContain("(FLYTE_DATABRICKS_OIDC_AUDIENCE 'ops-aud')");
    await expect(selectAuthContext('team-a', oidc({ databricksOidcAudience: 'ops-aud' }), deps)).resolves.toMatchObject(
      { mode: 'oidc_model1_sts', oidcAudience: 'ops-aud' },
    );
  });
});

describe("OIDC Model 1: a task's token file", () => {
  const config = {
    DATABRICKS_CLIENT_ID: CONNECTOR_ID,
    OIDC_SUBJECT_TOKEN_SOURCE: 'auto' as const,
    OIDC_TOKEN_FILE_DIRS: [TOKEN_DIR],
    AWS_WEB_IDENTITY_TOKEN_FILE: '/irsa',
  };

  it('goes through taskTokenFile with OIDC_TOKEN_FILE_DIRS, and the job keeps the path it answers', async () => {
    const checked: [string, readonly string[]][] = [];
    const deps = selectDeps({
      config,
      files: ['/irsa'],
      taskTokenFile: async (path, dirs) => {
        checked.push([path, dirs]);
        return `${TOKEN_DIR}/..2025/token`;
      },
    });
    const context = await selectAuthContext('team-a', oidc({ databricksOidcTokenFile: `${TOKEN_DIR}/token` }), deps);
    expect(checked).toEqual([[`${TOKEN_DIR}/token`, [TOKEN_DIR]]]);
    expect(context).toMatchObject({
      mode: 'oidc_model1_file',
      clientId: CONNECTOR_ID,
      oidcTokenFile: `${TOKEN_DIR}/..2025/token`,
    });
    expect(context.reason).toContain('token file from task databricksOidcTokenFile');
  });

  it("propagates the check's refusal instead of falling back to the operator's file", async () => {
    const deps = selectDeps({
      config,
      files: ['/irsa'],
      taskTokenFile: async () => {
        throw new AuthConfigError('task databricksOidcTokenFile is not a token file this connector may read');
      },
    });
    const error = await rejection(selectAuthContext('team-a', oidc({ databricksOidcTokenFile: '/etc/shadow' }), deps));
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toBe('task databricksOidcTokenFile is not a token file this connector may read');
  });

  it('is refused by the real check when OIDC_TOKEN_FILE_DIRS names no directory, before any file is touched', async () => {
    const deps = selectDeps({ config: { ...config, OIDC_TOKEN_FILE_DIRS: [] }, files: ['/irsa'] });
    const error = await rejection(selectAuthContext('team-a', oidc({ databricksOidcTokenFile: '/irsa' }), deps));
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toMatch(/inside one of OIDC_TOKEN_FILE_DIRS \(none configured\)/);
  });

  it('is checked again when the job is rebuilt: a stored path outside OIDC_TOKEN_FILE_DIRS is refused, nothing sent', async () => {
    const { fetch, requests } = scriptedFetch(tokenResponse('db-token'));
    const deps: AuthDeps = testAuthDeps({
      config: testConfig({ ...config, FLYTE_DATABRICKS_INSTANCE: HOST }),
      secrets: new InMemorySecrets(),
      fetch,
    });
    const context: AuthContext = {
      authType: 'oidc_federation',
      mode: 'oidc_model1_file',
      namespace: 'team-a',
      clientId: CONNECTOR_ID,
      oidcTokenFile: '/etc/elsewhere/token',
    };
    const error = await rejection(buildAuth(context, HOST, deps).getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    // The same refusal as at submit: it says nothing about the file, only the rule.
    expect(error.message).toMatch(/task databricksOidcTokenFile is not a token file this connector may read/);
    expect(error.message).not.toContain('/etc/elsewhere/token');
    expect(requests).toHaveLength(0);
  });
});

describe('OIDC Model 2: the ServiceAccount chooses', () => {
  it("refuses a task client id or audience other than the ServiceAccount's", async () => {
    const deps = selectDeps({ serviceAccount: { ...SA, audience: 'sa-aud' } });
    const byClient = await rejection(selectAuthContext('team-a', oidc({ databricksClientId: CONNECTOR_ID }), deps));
    expect(byClient).toBeInstanceOf(AuthConfigError);
    expect(byClient.message).toContain("task.databricksClientId 'eeee...0000' is not the service principal");
    expect(byClient.message).toContain("('bbbb...8888')");
    const byAudience = await rejection(selectAuthContext('team-a', oidc({ databricksOidcAudience: 'other' }), deps));
    expect(byAudience.message).toContain("('sa-aud', from the flyte.org/databricks-audience annotation)");
    await expect(
      selectAuthContext('team-a', oidc({ databricksClientId: SA.clientId, databricksOidcAudience: 'sa-aud' }), deps),
    ).resolves.toMatchObject({ mode: 'oidc_model2', clientId: SA.clientId, oidcAudience: 'sa-aud' });
  });

  it('refuses a task audience other than FLYTE_DATABRICKS_OIDC_AUDIENCE when the ServiceAccount names none', async () => {
    const deps = selectDeps({ serviceAccount: SA, config: { FLYTE_DATABRICKS_OIDC_AUDIENCE: 'ops-aud' } });
    const error = await rejection(selectAuthContext('team-a', oidc({ databricksOidcAudience: 'other' }), deps));
    expect(error.message).toContain("('ops-aud', from FLYTE_DATABRICKS_OIDC_AUDIENCE)");
  });
});

describe('OIDC Model 2: the ServiceAccount is checked again before every TokenRequest', () => {
  const context: AuthContext = {
    authType: 'oidc_federation',
    mode: 'oidc_model2',
    namespace: 'team-a',
    clientId: SA.clientId,
    serviceAccount: SA.name,
    oidcAudience: 'databricks',
  };

  function model2(current: DatabricksServiceAccount | undefined, env: Record<string, string> = {}) {
    const byNamespace: Record<string, DatabricksServiceAccount> = current ? { 'team-a': current } : {};
    const port = new FakeKubernetes();
    const discovery = new FakeDiscovery(byNamespace);
    const { fetch, requests } = scriptedFetch(tokenResponse('db-token'));
    const deps: AuthDeps = testAuthDeps({
      config: testConfig({}, env),
      secrets: new InMemorySecrets(),
      kubernetes: async () => kubernetesAccess(port, discovery),
      fetch,
    });
    return { auth: buildAuth(context, HOST, deps), byNamespace, port, discovery, requests };
  }

  it('mints a token while the ServiceAccount is unchanged and bound to the workspace', async () => {
    const { auth, port, discovery, requests } = model2(SA);
    await expect(auth.getBearerToken()).resolves.toBe('db-token');
    expect(discovery.discovered).toEqual(['team-a']);
    expect(port.tokenRequests).toHaveLength(1);
    expect(requests).toHaveLength(1);
  });

  it.each<[string, DatabricksServiceAccount | undefined, RegExp]>([
    [
      're-annotated with another client id',
      { ...SA, clientId: 'cccc1111-2222-3333-4444-555566661111' },
      /is no longer the namespace's Databricks-enabled ServiceAccount for client 'bbbb\.\.\.8888'/,
    ],
    ['replaced by another ServiceAccount', { ...SA, name: 'other-sa' }, /no longer the namespace's/],
    ['removed or relabelled', undefined, /relabelled, re-annotated or removed/],
    [
      'annotated with another workspace',
      { ...SA, hosts: 'dbc-2.cloud.databricks.com' },
      /ServiceAccount 'team-a\/flyte-databricks' is bound to dbc-2\.cloud\.databricks\.com, not to dbc-1\.cloud\.databricks\.com/,
    ],
    [
      'without a workspace annotation and no NAMESPACE_WORKSPACES',
      { ...SA, hosts: undefined },
      /ServiceAccount 'team-a\/flyte-databricks' names no workspace.*NAMESPACE_WORKSPACES/,
    ],
  ])('refuses a ServiceAccount %s, before any TokenRequest', async (_what, current, message) => {
    const { auth, port, requests } = model2(current);
    const error = await rejection(auth.getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toMatch(message);
    expect(port.tokenRequests).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('takes NAMESPACE_WORKSPACES when the ServiceAccount names no workspace', async () => {
    const { auth, port } = model2(
      { ...SA, hosts: undefined },
      { NAMESPACE_WORKSPACES: JSON.stringify({ 'team-a': [HOST_NAME] }) },
    );
    await expect(auth.getBearerToken()).resolves.toBe('db-token');
    expect(port.tokenRequests).toHaveLength(1);
  });

  it('sees a change made after the first token: the next TokenRequest is refused', async () => {
    const { auth, byNamespace, port } = model2(SA);
    await expect(auth.getBearerToken()).resolves.toBe('db-token');
    byNamespace['team-a'] = { ...SA, clientId: 'cccc1111-2222-3333-4444-555566661111' };
    auth.invalidate();
    const error = await rejection(auth.getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(port.tokenRequests).toHaveLength(1);
  });
});
