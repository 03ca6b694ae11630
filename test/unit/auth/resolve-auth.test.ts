import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetWebIdentityTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuthContext, authContextSchema } from '../../../shared/auth/auth-context.js';
import type { KubernetesAccess } from '../../../shared/auth/kubernetes-access.js';
import { OAuthM2MAuth } from '../../../shared/auth/oauth-m2m.js';
import { OidcConnectorIdentityAuth } from '../../../shared/auth/oidc-connector-identity.js';
import { OidcNamespaceSaAuth } from '../../../shared/auth/oidc-namespace-sa.js';
import { PatAuth } from '../../../shared/auth/pat.js';
import { type AuthDeps, buildAuth, selectAuthContext } from '../../../shared/auth/resolve-auth.js';
import { SecretsManagerSecrets } from '../../../shared/auth/secrets-manager-secrets.js';
import { sharedTokenCache, TokenCache } from '../../../shared/auth/token-cache.js';
import type { Config } from '../../../shared/config.js';
import { AuthConfigError } from '../../../shared/errors.js';
import type { TaskSpec } from '../../../shared/jobs/submit-request.js';
import type { DatabricksServiceAccount } from '../../../shared/kube/kubernetes-port.js';
import { testConfig } from '../../support/test-config.js';
import {
  FakeDiscovery,
  FakeKubernetes,
  fakeJwt,
  InMemorySecrets,
  kubernetesAccess,
  rejection,
  scriptedFetch,
  tokenResponse,
} from './fakes.js';

const NS = 'team-a';
const NS_ID = 'aaaa1111-2222-3333-4444-555566667777';
const NS_SECRET = 'dose-namespace-secret-0001';
const ENV_ID = 'eeee1111-2222-3333-4444-555566660000';
const ENV_SECRET = 'dose-connector-secret-0002';
const ENV_PAT = 'dapi0123456789abcdef0123456789abcdef';
const NS_PAT = 'dapifedcba9876543210fedcba9876543210';
const SA: DatabricksServiceAccount = { name: 'flyte-databricks', clientId: 'sa-client-0000-1111', audience: undefined };
const IRSA = '/var/run/secrets/eks.amazonaws.com/serviceaccount/token';
const DEFAULT_FILE = '/var/run/secrets/databricks/token';
/** OIDC_TOKEN_FILE_DIRS in these tests: where a task's databricksOidcTokenFile may be. */
const TASK_DIR = '/var/run/secrets/tasks';
const SECRETS = [NS_SECRET, ENV_SECRET, ENV_PAT, NS_PAT];

interface Scenario {
  task?: Partial<TaskSpec>;
  /** Overrides of the functions' defaults (testConfig), in parsed form. */
  config?: Partial<Config>;
  /** Namespace secrets by name. */
  namespace?: Record<string, Record<string, string>>;
  /** undefined: Kubernetes not configured. */
  serviceAccount?: DatabricksServiceAccount | Error | 'none';
  files?: string[];
}

function deps(scenario: Scenario) {
  const secrets = new InMemorySecrets();
  for (const [name, values] of Object.entries(scenario.namespace ?? {})) secrets.set(NS, name, values);
  const discovery =
    scenario.serviceAccount === undefined
      ? undefined
      : new FakeDiscovery(scenario.serviceAccount === 'none' ? {} : { [NS]: scenario.serviceAccount });
  const files = scenario.files ?? [];
  const taskFileChecks: { path: string; dirs: readonly string[] }[] = [];
  return {
    secrets,
    discovery,
    taskFileChecks,
    select: {
      config: testConfig(scenario.config),
      secrets,
      secretSource: 'secrets-manager' as const,
      discovery: async () => discovery,
      fileExists: (path: string) => files.includes(path),
      // Stands in for resolveTaskTokenFile: an existing file inside OIDC_TOKEN_FILE_DIRS, else the uniform refusal.
      taskTokenFile: async (path: string, dirs: readonly string[]) => {
        taskFileChecks.push({ path, dirs });
        if (files.includes(path) && dirs.some((dir) => path.startsWith(`${dir}/`))) return path;
        throw new AuthConfigError('task databricksOidcTokenFile is not a token file this connector may read');
      },
    },
  };
}

function select(scenario: Scenario): Promise<AuthContext> {
  return selectAuthContext(NS, { databricksConf: {}, ...scenario.task }, deps(scenario).select);
}

const nsOauth = { 'databricks-oauth': { client_id: NS_ID, client_secret: NS_SECRET } };
const nsToken = { 'databricks-token': { token: NS_PAT } };
const m2mEnv = { DATABRICKS_CLIENT_ID: ENV_ID, DATABRICKS_CLIENT_SECRET: ENV_SECRET };

describe('Function: selectAuthContext()', () => {
  it.each<[string, Scenario, Partial<AuthContext>]>([
    // 1. The task's databricksAuthType.
    [
      'the task type beats FLYTE_DATABRICKS_AUTH_TYPE and the namespace',
      { task: { databricksAuthType: 'pat' }, config: { FLYTE_DATABRICKS_AUTH_TYPE: 'oauth_m2m' }, namespace: nsOauth },
      { mode: 'pat', reason: 'task databricksAuthType=pat', tokenSecretName: 'databricks-token' },
    ],
    // 2. FLYTE_DATABRICKS_AUTH_TYPE, when set explicitly.
    [
      'FLYTE_DATABRICKS_AUTH_TYPE beats auto-detect',
      { config: { FLYTE_DATABRICKS_AUTH_TYPE: 'pat' }, namespace: nsOauth },
      { mode: 'pat', reason: 'FLYTE_DATABRICKS_AUTH_TYPE=pat' },
    ],
    // 3a. Auto-detect, the namespace first.
    [
      'a labelled ServiceAccount wins over namespace secrets (Model 2), default audience',
      { serviceAccount: SA, namespace: { ...nsOauth, ...nsToken }, config: m2mEnv },
      {
        authType: 'oidc_federation',
        mode: 'oidc_model2',
        clientId: SA.clientId,
        serviceAccount: SA.name,
        oidcAudience: 'databricks',
        reason:
          "auto-detect: namespace 'team-a' has ServiceAccount 'flyte-databricks' labelled " +
          'flyte.org/databricks-enabled=true (OIDC Model 2)',
      },
    ],
    [
      "Model 2 takes the SA's audience annotation first",
      {
        serviceAccount: { ...SA, audience: 'from-annotation' },
        config: { FLYTE_DATABRICKS_OIDC_AUDIENCE: 'from-env' },
      },
      { mode: 'oidc_model2', oidcAudience: 'from-annotation' },
    ],
    [
      // A task may repeat the audience the namespace chose, never pick another (refused below).
      "Model 2 accepts a task databricksOidcAudience and databricksClientId equal to the SA's",
      {
        serviceAccount: { ...SA, audience: 'from-annotation' },
        task: { databricksOidcAudience: 'from-annotation', databricksClientId: SA.clientId },
        config: { FLYTE_DATABRICKS_OIDC_AUDIENCE: 'e' },
      },
      { mode: 'oidc_model2', oidcAudience: 'from-annotation', clientId: SA.clientId },
    ],
    [
      'Model 2 then FLYTE_DATABRICKS_OIDC_AUDIENCE',
      { serviceAccount: SA, config: { FLYTE_DATABRICKS_OIDC_AUDIENCE: 'from-env' } },
      { mode: 'oidc_model2', oidcAudience: 'from-env' },
    ],
    [
      'the namespace OAuth secret (M2M) wins over its token secret and the connector',
      {
        serviceAccount: 'none',
        namespace: { ...nsOauth, ...nsToken },
        config: { FLYTE_DATABRICKS_ACCESS_TOKEN: ENV_PAT },
      },
      {
        authType: 'oauth_m2m',
        mode: 'oauth_m2m',
        clientId: NS_ID,
        oauthSecretName: 'databricks-oauth',
        reason: "auto-detect: namespace 'team-a' has Secrets Manager secret 'flyte/team-a/databricks-oauth'",
      },
    ],
    [
      "the task's databricksOauthSecret names the secret looked for",
      { task: { databricksOauthSecret: 'team-oauth' }, namespace: { 'team-oauth': nsOauth['databricks-oauth'] } },
      { mode: 'oauth_m2m', oauthSecretName: 'team-oauth', clientId: NS_ID },
    ],
    [
      'FLYTE_DATABRICKS_OAUTH_SECRET_NAME names it otherwise',
      {
        config: { FLYTE_DATABRICKS_OAUTH_SECRET_NAME: 'oauth-m2m' },
        namespace: { 'oauth-m2m': nsOauth['databricks-oauth'] },
      },
      { mode: 'oauth_m2m', oauthSecretName: 'oauth-m2m' },
    ],
    [
      'the namespace token secret (PAT), under the task name',
      { task: { databricksTokenSecret: 'my-pat' }, namespace: { 'my-pat': { token: NS_PAT } }, config: m2mEnv },
      {
        mode: 'pat',
        tokenSecretName: 'my-pat',
        reason: "auto-detect: namespace 'team-a' has Secrets Manager secret 'flyte/team-a/my-pat'",
      },
    ],
    // 3b. Then the connector's own configuration.
    [
      'DATABRICKS_CLIENT_ID and an existing token file: Model 1 (file)',
      {
        serviceAccount: 'none',
        config: { DATABRICKS_CLIENT_ID: ENV_ID, AWS_WEB_IDENTITY_TOKEN_FILE: IRSA },
        files: [IRSA],
      },
      {
        mode: 'oidc_model1_file',
        clientId: ENV_ID,
        oidcTokenFile: IRSA,
        reason:
          'auto-detect: connector has DATABRICKS_CLIENT_ID + AWS_WEB_IDENTITY_TOKEN_FILE; no Model 2 ServiceAccount in ' +
          "namespace 'team-a'; Model 1, token file from AWS_WEB_IDENTITY_TOKEN_FILE",
      },
    ],
    [
      'DATABRICKS_CLIENT_ID and OIDC_SUBJECT_TOKEN_SOURCE=sts: Model 1 (STS)',
      {
        config: {
          DATABRICKS_CLIENT_ID: ENV_ID,
          OIDC_SUBJECT_TOKEN_SOURCE: 'sts',
          FLYTE_DATABRICKS_OIDC_AUDIENCE: 'aud',
        },
      },
      { mode: 'oidc_model1_sts', clientId: ENV_ID, oidcAudience: 'aud' },
    ],
    [
      'DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET: M2M, pinned to the connector client',
      { config: m2mEnv },
      {
        mode: 'oauth_m2m',
        clientId: ENV_ID,
        reason: 'auto-detect: connector has DATABRICKS_CLIENT_ID + DATABRICKS_CLIENT_SECRET',
      },
    ],
    [
      'a connector-wide PAT',
      { config: { FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID: 'connector/pat' } },
      { mode: 'pat', reason: 'auto-detect: connector has FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID' },
    ],
    [
      'a client id alone configures nothing: PAT, the default',
      { config: { DATABRICKS_CLIENT_ID: ENV_ID } },
      {
        mode: 'pat',
        reason: "auto-detect: nothing configured in namespace 'team-a' or the connector; pat is the default",
      },
    ],
    ['nothing at all: PAT, the default', {}, { mode: 'pat', tokenSecretName: 'databricks-token' }],
    // oidc_federation, explicitly.
    [
      'oidc_federation with a discovered SA: Model 2',
      { task: { databricksAuthType: 'oidc_federation' }, serviceAccount: SA, config: { DATABRICKS_CLIENT_ID: ENV_ID } },
      { mode: 'oidc_model2', clientId: SA.clientId, serviceAccount: SA.name },
    ],
    [
      // The client id is the operator's (a task may only repeat it); the task's token file comes first.
      "oidc_federation without an SA: Model 1, the operator's client id, the task's token file first",
      {
        task: {
          databricksAuthType: 'oidc_federation',
          databricksClientId: ENV_ID,
          databricksOidcTokenFile: `${TASK_DIR}/t`,
        },
        serviceAccount: 'none',
        config: {
          DATABRICKS_CLIENT_ID: ENV_ID,
          FLYTE_DATABRICKS_OIDC_TOKEN_FILE: '/f',
          AWS_WEB_IDENTITY_TOKEN_FILE: IRSA,
          OIDC_TOKEN_FILE_DIRS: [TASK_DIR],
        },
        files: [`${TASK_DIR}/t`, '/f', IRSA, DEFAULT_FILE],
      },
      {
        mode: 'oidc_model1_file',
        clientId: ENV_ID,
        oidcTokenFile: `${TASK_DIR}/t`,
        reason:
          "task databricksAuthType=oidc_federation; no Model 2 ServiceAccount in namespace 'team-a'; Model 1, token " +
          'file from task databricksOidcTokenFile',
      },
    ],
    [
      'Model 1 files: FLYTE_DATABRICKS_OIDC_TOKEN_FILE before AWS_WEB_IDENTITY_TOKEN_FILE',
      {
        task: { databricksAuthType: 'oidc_federation' },
        config: {
          DATABRICKS_CLIENT_ID: ENV_ID,
          FLYTE_DATABRICKS_OIDC_TOKEN_FILE: '/f',
          AWS_WEB_IDENTITY_TOKEN_FILE: IRSA,
        },
        files: ['/f', IRSA],
      },
      { mode: 'oidc_model1_file', oidcTokenFile: '/f' },
    ],
    [
      'Model 1 files: AWS_WEB_IDENTITY_TOKEN_FILE before the well-known path',
      {
        config: {
          FLYTE_DATABRICKS_AUTH_TYPE: 'oidc_federation',
          DATABRICKS_CLIENT_ID: ENV_ID,
          AWS_WEB_IDENTITY_TOKEN_FILE: IRSA,
        },
        files: [IRSA, DEFAULT_FILE],
      },
      { mode: 'oidc_model1_file', oidcTokenFile: IRSA },
    ],
    [
      'Model 1 files: the well-known path last',
      {
        config: { FLYTE_DATABRICKS_AUTH_TYPE: 'oidc_federation', DATABRICKS_CLIENT_ID: ENV_ID },
        files: [DEFAULT_FILE],
      },
      { mode: 'oidc_model1_file', oidcTokenFile: DEFAULT_FILE },
    ],
    [
      // A task may repeat FLYTE_DATABRICKS_OIDC_AUDIENCE, never choose another (refused below).
      'Model 1, source auto and no file: STS, with the configured audience',
      {
        task: { databricksAuthType: 'oidc_federation', databricksOidcAudience: 'cfg-aud' },
        config: { DATABRICKS_CLIENT_ID: ENV_ID, FLYTE_DATABRICKS_OIDC_AUDIENCE: 'cfg-aud' },
      },
      {
        mode: 'oidc_model1_sts',
        clientId: ENV_ID,
        oidcAudience: 'cfg-aud',
        reason:
          'task databricksAuthType=oidc_federation; Kubernetes is not configured, so no Model 2 discovery; Model 1, ' +
          'STS GetWebIdentityToken',
      },
    ],
    [
      'Model 1, source sts: STS even when a file exists',
      {
        task: { databricksAuthType: 'oidc_federation' },
        config: { DATABRICKS_CLIENT_ID: ENV_ID, OIDC_SUBJECT_TOKEN_SOURCE: 'sts', AWS_WEB_IDENTITY_TOKEN_FILE: IRSA },
        files: [IRSA],
      },
      { mode: 'oidc_model1_sts', oidcAudience: 'databricks' },
    ],
    // oauth_m2m, explicitly.
    [
      'oauth_m2m with the id in the connector secret: the task id pins it, resolved at token time',
      {
        task: { databricksAuthType: 'oauth_m2m', databricksClientId: 'pinned-client' },
        config: { DATABRICKS_CLIENT_SECRET_SECRET_ID: 'connector/m2m' },
      },
      { mode: 'oauth_m2m', clientId: 'pinned-client' },
    ],
  ])('%s', async (_label, scenario, expected) => {
    const context = await select(scenario);
    expect(context).toMatchObject({ namespace: NS, secretSource: 'secrets-manager', ...expected });
    expect(authContextSchema.parse(context)).toEqual(context);
    const stored = JSON.stringify(context);
    for (const secret of SECRETS) expect(stored).not.toContain(secret);
  });

  it.each<[string, Scenario, RegExp[]]>([
    [
      'two connector-level families (OIDC and M2M) and no explicit type',
      { serviceAccount: 'none', config: { ...m2mEnv, AWS_WEB_IDENTITY_TOKEN_FILE: IRSA }, files: [IRSA] },
      [
        // In the chain's order: M2M before Model 1.
        /oauth_m2m \(DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET\); oidc_federation \(DATABRICKS_CLIENT_ID, AWS_WEB_IDENTITY_TOKEN_FILE\)/,
        /Set FLYTE_DATABRICKS_AUTH_TYPE/,
        /namespace 'team-a' to Databricks: the namespace has no credentials of its own/,
      ],
    ],
    [
      'two connector-level families (M2M and PAT)',
      { config: { ...m2mEnv, FLYTE_DATABRICKS_ACCESS_TOKEN: ENV_PAT } },
      [/oauth_m2m \(DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET\); pat \(FLYTE_DATABRICKS_ACCESS_TOKEN\)/],
    ],
    [
      'oidc_federation without an SA and without a client id',
      { task: { databricksAuthType: 'oidc_federation' }, serviceAccount: 'none' },
      [
        /no Model 2 ServiceAccount in namespace 'team-a', and Model 1 \(the connector's identity\) has no service principal/,
        // The operator chooses Model 1's principal; a task cannot supply it.
        /the operator sets NAMESPACE_OIDC_CLIENT_IDS or DATABRICKS_CLIENT_ID/,
        /flyte\.org\/databricks-enabled=true/,
      ],
    ],
    [
      'oidc_federation, source file, and no file exists',
      {
        config: {
          FLYTE_DATABRICKS_AUTH_TYPE: 'oidc_federation',
          DATABRICKS_CLIENT_ID: ENV_ID,
          OIDC_SUBJECT_TOKEN_SOURCE: 'file',
          AWS_WEB_IDENTITY_TOKEN_FILE: IRSA,
        },
      },
      [
        /cannot run without a subject token file \(OIDC_SUBJECT_TOKEN_SOURCE=file\)/,
        /looked at AWS_WEB_IDENTITY_TOKEN_FILE \('.*token', missing\), \/var\/run\/secrets\/databricks\/token \('\/var\/run\/secrets\/databricks\/token', missing\)/,
        /or set OIDC_SUBJECT_TOKEN_SOURCE=sts/,
      ],
    ],
    [
      "Model 1 with a task client id other than the operator's",
      {
        task: { databricksAuthType: 'oidc_federation', databricksClientId: 'task-client' },
        serviceAccount: 'none',
        config: { DATABRICKS_CLIENT_ID: ENV_ID, OIDC_SUBJECT_TOKEN_SOURCE: 'sts' },
      },
      [
        /task\.databricksClientId 'task-client' is not the service principal the operator configured \(DATABRICKS_CLIENT_ID: 'eeee\.\.\.0000'\)/,
      ],
    ],
    [
      'Model 1 (STS) with a task audience other than FLYTE_DATABRICKS_OIDC_AUDIENCE',
      {
        task: { databricksAuthType: 'oidc_federation', databricksOidcAudience: 'task-aud' },
        config: { DATABRICKS_CLIENT_ID: ENV_ID, FLYTE_DATABRICKS_OIDC_AUDIENCE: 'cfg-aud' },
      },
      [
        /task\.databricksOidcAudience is not the audience the operator configured \(FLYTE_DATABRICKS_OIDC_AUDIENCE 'cfg-aud'\)/,
      ],
    ],
    [
      // No silent fallback to the operator's files: the task named one, and it is refused.
      'Model 1 with a task token file outside OIDC_TOKEN_FILE_DIRS, even when operator files exist',
      {
        task: { databricksAuthType: 'oidc_federation', databricksOidcTokenFile: '/etc/elsewhere/token' },
        config: { DATABRICKS_CLIENT_ID: ENV_ID, OIDC_TOKEN_FILE_DIRS: [TASK_DIR], AWS_WEB_IDENTITY_TOKEN_FILE: IRSA },
        files: ['/etc/elsewhere/token', IRSA],
      },
      [/task databricksOidcTokenFile is not a token file this connector may read/],
    ],
    [
      "Model 2 with a task audience other than the SA's annotation",
      {
        serviceAccount: { ...SA, audience: 'from-annotation' },
        task: { databricksOidcAudience: 'from-task' },
      },
      [
        /task\.databricksOidcAudience is not the audience the operator chose \('from-annotation', from the flyte\.org\/databricks-audience annotation\)/,
      ],
    ],
    [
      'Model 2 with a task audience other than FLYTE_DATABRICKS_OIDC_AUDIENCE (the SA names none)',
      {
        serviceAccount: SA,
        task: { databricksOidcAudience: 'from-task' },
        config: { FLYTE_DATABRICKS_OIDC_AUDIENCE: 'e' },
      },
      [/not the audience the operator chose \('e', from FLYTE_DATABRICKS_OIDC_AUDIENCE\)/],
    ],
    [
      "Model 2 with a task client id other than the SA's",
      { serviceAccount: SA, task: { databricksClientId: ENV_ID } },
      [
        /task\.databricksClientId 'eeee\.\.\.0000' is not the service principal the ServiceAccount's flyte\.org\/databricks-client-id names \('sa-c\.\.\.1111'\)/,
      ],
    ],
    [
      'oauth_m2m with no credentials anywhere',
      { task: { databricksAuthType: 'oauth_m2m' } },
      [/'flyte\/team-a\/databricks-oauth' does not exist/, /DATABRICKS_CLIENT_ID is unset/],
    ],
    [
      'oauth_m2m with a namespace secret missing client_secret (the env secret is not used to complete it)',
      {
        task: { databricksAuthType: 'oauth_m2m' },
        namespace: { 'databricks-oauth': { client_id: NS_ID } },
        config: m2mEnv,
      },
      [/'flyte\/team-a\/databricks-oauth' has no non-empty 'client_secret' key/],
    ],
    [
      'oauth_m2m with a task client id that does not match the namespace pair',
      { task: { databricksAuthType: 'oauth_m2m', databricksClientId: ENV_ID }, namespace: nsOauth, config: m2mEnv },
      [/databricksClientId 'eeee\.\.\.0000' does not match the client 'aaaa\.\.\.7777'/],
    ],
    [
      'oauth_m2m with DATABRICKS_CLIENT_SECRET but no DATABRICKS_CLIENT_ID',
      { config: { FLYTE_DATABRICKS_AUTH_TYPE: 'oauth_m2m', DATABRICKS_CLIENT_SECRET: ENV_SECRET } },
      [/DATABRICKS_CLIENT_SECRET is set without DATABRICKS_CLIENT_ID/],
    ],
    [
      'an ambiguous namespace (discovery refuses)',
      {
        serviceAccount: new AuthConfigError("Multiple Databricks-enabled ServiceAccounts found in namespace 'team-a'"),
      },
      [/Multiple Databricks-enabled ServiceAccounts/],
    ],
  ])('refuses %s', async (_label, scenario, messages) => {
    const error = await rejection(select(scenario));
    expect(error).toBeInstanceOf(AuthConfigError);
    for (const message of messages) expect(error.message).toMatch(message);
    for (const secret of SECRETS) expect(error.message).not.toContain(secret);
  });

  it('leaves the client id unresolved when it lives in the connector secret and nothing pins it', async () => {
    const context = await select({
      task: { databricksAuthType: 'oauth_m2m' },
      config: { DATABRICKS_CLIENT_SECRET_SECRET_ID: 'connector/m2m' },
    });
    expect(context.mode).toBe('oauth_m2m');
    expect(context).not.toHaveProperty('clientId');
  });

  it('looks at the namespace before the connector, and only as far as needed', async () => {
    const scenario = deps({ serviceAccount: 'none', namespace: nsOauth, config: m2mEnv });
    await selectAuthContext(NS, { databricksConf: {} }, scenario.select);
    expect(scenario.discovery?.discovered).toEqual([NS]);
    // The OAuth secret is read when it is detected and again when M2M selects (through the source's cache in the
    // functions); the token secret after it is never looked at.
    expect(new Set(scenario.secrets.reads)).toEqual(new Set(['team-a/databricks-oauth']));
  });

  it("checks a task's token file against OIDC_TOKEN_FILE_DIRS through the injected check, and keeps its answer", async () => {
    const scenario = deps({
      task: { databricksAuthType: 'oidc_federation', databricksOidcTokenFile: `${TASK_DIR}/t` },
      config: { DATABRICKS_CLIENT_ID: ENV_ID, OIDC_TOKEN_FILE_DIRS: [TASK_DIR] },
      files: [`${TASK_DIR}/t`],
    });
    const context = await selectAuthContext(
      NS,
      { databricksConf: {}, databricksAuthType: 'oidc_federation', databricksOidcTokenFile: `${TASK_DIR}/t` },
      { ...scenario.select, taskTokenFile: async () => `${TASK_DIR}/..data/t-real` },
    );
    expect(context).toMatchObject({ mode: 'oidc_model1_file', oidcTokenFile: `${TASK_DIR}/..data/t-real` });
  });
});

const sts = mockClient(STSClient);

function buildDeps(
  overrides: Omit<Partial<AuthDeps>, 'config'> & {
    config?: Partial<Config>;
    env?: Record<string, string>;
    serviceAccounts?: Record<string, DatabricksServiceAccount>;
  } = {},
) {
  const { config, env, serviceAccounts, ...rest } = overrides;
  const secrets = new InMemorySecrets();
  const { fetch, requests } = scriptedFetch(tokenResponse('db-token', 3600));
  const port = new FakeKubernetes();
  const discovery = new FakeDiscovery(serviceAccounts);
  const authDeps: AuthDeps = {
    secrets,
    secretsManager: new SecretsManagerSecrets(new SecretsManagerClient({ region: 'us-east-1' }), {
      nameTemplate: 'flyte/{namespace}/{name}',
      cacheMs: 0,
    }),
    kubernetes: async (): Promise<KubernetesAccess> => kubernetesAccess(port, discovery),
    sts: () => new STSClient({ region: 'eu-west-1' }),
    fetch,
    tokenCache: new TokenCache(),
    ...rest,
    // The jobs here run on the connector's default workspace, so its own credentials may go there.
    // The connector's Model 1 principal is the operator's DATABRICKS_CLIENT_ID, checked again at every rebuild.
    config: testConfig({ FLYTE_DATABRICKS_INSTANCE: HOST, DATABRICKS_CLIENT_ID: ENV_ID, ...config }, env),
  };
  return { authDeps, secrets, requests, port, discovery };
}

const HOST = 'https://dbc-9.cloud.databricks.com';
/** How a namespace's own credentials name the workspace they belong to (a secret's `host`, the SA annotation). */
const HOST_NAME = 'dbc-9.cloud.databricks.com';

describe('Function: buildAuth()', () => {
  afterEach(() => {
    sts.reset();
    sharedTokenCache.clear();
  });

  it.each<[string, AuthContext, new (...args: never[]) => unknown, string]>([
    [
      'a first-release context (no mode) as PAT',
      { authType: 'pat', namespace: NS, tokenSecretName: 'legacy' },
      PatAuth,
      "pat (namespace 'team-a', Secrets Manager secret 'flyte/team-a/legacy')",
    ],
    [
      'a first-release context without a secret name, under the default name',
      { authType: 'pat', namespace: NS },
      PatAuth,
      "pat (namespace 'team-a', Secrets Manager secret 'flyte/team-a/databricks-token')",
    ],
    [
      'oauth_m2m',
      { authType: 'oauth_m2m', mode: 'oauth_m2m', namespace: NS, oauthSecretName: 'o', clientId: NS_ID },
      OAuthM2MAuth,
      "oauth_m2m (namespace 'team-a', client 'aaaa...7777', Secrets Manager secret 'flyte/team-a/o', else the connector's DATABRICKS_CLIENT_ID)",
    ],
    [
      'oidc_model1_file',
      { authType: 'oidc_federation', mode: 'oidc_model1_file', namespace: NS, clientId: ENV_ID, oidcTokenFile: IRSA },
      OidcConnectorIdentityAuth,
      `oidc_federation model 1 (namespace 'team-a', connector identity, client 'eeee...0000', subject token file '${IRSA}')`,
    ],
    [
      'oidc_model1_sts (audience from the config when not stored)',
      { authType: 'oidc_federation', mode: 'oidc_model1_sts', namespace: NS, clientId: ENV_ID },
      OidcConnectorIdentityAuth,
      "oidc_federation model 1 (namespace 'team-a', connector identity, client 'eeee...0000', STS GetWebIdentityToken, audience 'cfg-aud')",
    ],
    [
      'oidc_model2',
      {
        authType: 'oidc_federation',
        mode: 'oidc_model2',
        namespace: NS,
        clientId: SA.clientId,
        serviceAccount: SA.name,
        oidcAudience: 'aud-2',
      },
      OidcNamespaceSaAuth,
      "oidc_federation model 2 (namespace 'team-a', ServiceAccount 'flyte-databricks', client 'sa-c...1111', audience 'aud-2')",
    ],
    [
      'an oidc context without mode, by its fields (service account: Model 2)',
      { authType: 'oidc_federation', namespace: NS, clientId: SA.clientId, serviceAccount: SA.name },
      OidcNamespaceSaAuth,
      "oidc_federation model 2 (namespace 'team-a', ServiceAccount 'flyte-databricks', client 'sa-c...1111', audience 'cfg-aud')",
    ],
  ])('rebuilds %s', (_label, context, Strategy, description) => {
    const auth = buildAuth(
      context,
      HOST,
      buildDeps({ config: { FLYTE_DATABRICKS_OIDC_AUDIENCE: 'cfg-aud' } }).authDeps,
    );
    expect(auth).toBeInstanceOf(Strategy);
    expect(auth.describe()).toBe(description);
  });

  it.each<[string, AuthContext, RegExp]>([
    [
      'Model 2 without a client id',
      { authType: 'oidc_federation', mode: 'oidc_model2', namespace: NS, serviceAccount: SA.name },
      /Cannot rebuild the OIDC Model 2 strategy without clientId/,
    ],
    [
      'Model 2 without a service account',
      { authType: 'oidc_federation', mode: 'oidc_model2', namespace: NS, clientId: SA.clientId },
      /Cannot rebuild the OIDC Model 2 strategy without serviceAccount/,
    ],
    [
      'Model 1 (file) without the file',
      { authType: 'oidc_federation', mode: 'oidc_model1_file', namespace: NS, clientId: ENV_ID },
      /Cannot rebuild the OIDC Model 1 strategy without oidcTokenFile/,
    ],
    [
      'a mode that contradicts the auth type',
      { authType: 'pat', mode: 'oidc_model2', namespace: NS },
      /mode 'oidc_model2' with authType 'pat'/,
    ],
  ])('refuses %s', (_label, context, message) => {
    const build = () => buildAuth(context, HOST, buildDeps().authDeps);
    expect(build).toThrow(AuthConfigError);
    expect(build).toThrow(message);
  });

  it('M2M end to end: the stored client id pins the pair, the host is the workspace', async () => {
    const { authDeps, secrets, requests } = buildDeps({ config: m2mEnv });
    // The namespace's pair names its workspace (`host`): it is sent there only.
    secrets.set(NS, 'databricks-oauth', { client_id: NS_ID, client_secret: NS_SECRET, host: HOST_NAME });
    const context = await selectAuthContext(NS, { databricksConf: {} }, deps({ namespace: nsOauth }).select);
    const auth = buildAuth(authContextSchema.parse(JSON.parse(JSON.stringify(context))), HOST, authDeps);
    await expect(auth.getBearerToken()).resolves.toBe('db-token');
    expect(requests[0]?.url).toBe(`${HOST}/oidc/v1/token`);
    expect(requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from(`${NS_ID}:${NS_SECRET}`).toString('base64')}`);

    // The namespace now holds another principal: the job stays on the one it was accepted with.
    secrets.set(NS, 'databricks-oauth', { client_id: ENV_ID, client_secret: ENV_SECRET, host: HOST_NAME });
    const error = await rejection(
      buildAuth(context, HOST, { ...authDeps, tokenCache: new TokenCache() }).getBearerToken(),
    );
    expect(error.message).toContain("pinned to client 'aaaa...7777'");
    for (const secret of SECRETS) expect(error.message).not.toContain(secret);
  });

  it('Model 1 (file) end to end, through the injected reader', async () => {
    const jwt = fakeJwt('connector');
    const reads: string[] = [];
    const { authDeps, requests } = buildDeps({
      readFile: async (path) => {
        reads.push(path);
        return `${jwt}\n`;
      },
    });
    const context: AuthContext = {
      authType: 'oidc_federation',
      mode: 'oidc_model1_file',
      namespace: NS,
      clientId: ENV_ID,
      oidcTokenFile: IRSA,
    };
    await expect(buildAuth(context, HOST, authDeps).getBearerToken()).resolves.toBe('db-token');
    expect(reads).toEqual([IRSA]);
    expect(requests[0]?.form).toMatchObject({ subject_token: jwt, client_id: ENV_ID });
  });

  it('Model 1 (STS) end to end, with the configured duration', async () => {
    sts.on(GetWebIdentityTokenCommand).resolves({ WebIdentityToken: fakeJwt('role') });
    const { authDeps, requests } = buildDeps({ config: { OIDC_STS_DURATION_SECONDS: 1200 } });
    const context: AuthContext = {
      authType: 'oidc_federation',
      mode: 'oidc_model1_sts',
      namespace: NS,
      clientId: ENV_ID,
      oidcAudience: 'databricks',
    };
    await expect(buildAuth(context, HOST, authDeps).getBearerToken()).resolves.toBe('db-token');
    expect(sts.commandCalls(GetWebIdentityTokenCommand)[0]?.args[0].input).toEqual({
      Audience: ['databricks'],
      SigningAlgorithm: 'RS256',
      DurationSeconds: 1200,
    });
    expect(requests[0]?.form.subject_token).toBe(fakeJwt('role'));
  });

  it('Model 2 end to end, with the configured TokenRequest expiration; invalidate() evicts discovery', async () => {
    // Discovery finds the same ServiceAccount before the TokenRequest, bound to the workspace by its annotation.
    const { authDeps, port, discovery, requests } = buildDeps({
      config: { KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS: 7200 },
      serviceAccounts: { [NS]: { ...SA, audience: 'sa-aud', hosts: HOST_NAME } },
    });
    const context = await select({ serviceAccount: { ...SA, audience: 'sa-aud' } });
    const auth = buildAuth(context, HOST, authDeps);
    await expect(auth.getBearerToken()).resolves.toBe('db-token');
    expect(port.tokenRequests).toEqual([
      { namespace: NS, serviceAccount: SA.name, audience: 'sa-aud', expirationSeconds: 7200 },
    ]);
    expect(requests[0]?.form).toMatchObject({ subject_token: 'k8s-jwt-1', client_id: SA.clientId });
    auth.invalidate();
    expect(discovery.evicted).toEqual([NS]);
  });

  it('Model 2 without Kubernetes fails at token time naming the settings', async () => {
    const { authDeps } = buildDeps({ kubernetes: async () => undefined });
    const context = await select({ serviceAccount: SA });
    const error = await rejection(buildAuth(context, HOST, authDeps).getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toMatch(/KUBERNETES_API_URL.*EKS_CLUSTER_NAME.*in-cluster.*KUBECONFIG/);
  });

  it("strategies built per invocation share the container's token cache by default", async () => {
    const { fetch, requests } = scriptedFetch(tokenResponse('shared-token'));
    const { authDeps } = buildDeps({ fetch, config: m2mEnv });
    const { tokenCache: _ignored, ...withoutCache } = authDeps;
    const context: AuthContext = { authType: 'oauth_m2m', mode: 'oauth_m2m', namespace: NS, clientId: ENV_ID };
    await expect(buildAuth(context, HOST, withoutCache).getBearerToken()).resolves.toBe('shared-token');
    await expect(buildAuth(context, HOST, withoutCache).getBearerToken()).resolves.toBe('shared-token');
    expect(requests).toHaveLength(1);
  });
});

describe("Function: buildAuth(): the connector's own credentials stay on workspaces the operator named", () => {
  const OTHER = 'https://dbc-tenant-picked.cloud.databricks.com';
  const model1: AuthContext = {
    authType: 'oidc_federation',
    mode: 'oidc_model1_sts',
    namespace: NS,
    clientId: ENV_ID,
  };

  it('refuses Model 1 (the connector identity) on a workspace the operator did not name exactly', () => {
    const { authDeps } = buildDeps();
    expect(() => buildAuth(model1, OTHER, authDeps)).toThrow(AuthConfigError);
    expect(() => buildAuth(model1, OTHER, authDeps)).toThrow(/ALLOWED_DATABRICKS_HOSTS/);
    expect(() => buildAuth(model1, HOST, authDeps)).not.toThrow();
    // A wildcard lets jobs run there, but is not enough for the connector's own identity (anyone can create a
    // workspace under it).
    const wildcard = buildDeps({ env: { ALLOWED_DATABRICKS_HOSTS: '*.cloud.databricks.com' } }).authDeps;
    expect(() => buildAuth(model1, OTHER, wildcard)).toThrow(/a wildcard is not enough/);
    const exact = buildDeps({ env: { ALLOWED_DATABRICKS_HOSTS: 'dbc-tenant-picked.cloud.databricks.com' } }).authDeps;
    expect(() => buildAuth(model1, OTHER, exact)).not.toThrow();
    const bound = buildDeps({
      env: { NAMESPACE_WORKSPACES: JSON.stringify({ [NS]: ['dbc-tenant-picked.cloud.databricks.com'] }) },
    }).authDeps;
    expect(() => buildAuth(model1, OTHER, bound)).not.toThrow();
    expect(() => buildAuth({ ...model1, namespace: 'team-b' }, OTHER, bound)).toThrow(AuthConfigError);
  });

  it("refuses the connector-wide PAT elsewhere; the namespace's own secret goes where its host says", async () => {
    const pat: AuthContext = { authType: 'pat', mode: 'pat', namespace: NS, tokenSecretName: 'databricks-token' };
    const { authDeps, secrets } = buildDeps({ config: { FLYTE_DATABRICKS_ACCESS_TOKEN: ENV_PAT } });
    const refused = await rejection(buildAuth(pat, OTHER, authDeps).getBearerToken());
    expect(refused).toBeInstanceOf(AuthConfigError);
    expect(refused.message).toMatch(/connector-wide PAT.*dbc-tenant-picked/);
    expect(refused.message).not.toContain(ENV_PAT);
    await expect(buildAuth(pat, HOST, authDeps).getBearerToken()).resolves.toBe(ENV_PAT);
    // A namespace secret naming no workspace (and no NAMESPACE_WORKSPACES) is never sent, nor replaced by the
    // connector's PAT.
    secrets.set(NS, 'databricks-token', { token: 'dapi-namespace-own' });
    const unbound = await rejection(buildAuth(pat, OTHER, authDeps).getBearerToken());
    expect(unbound).toBeInstanceOf(AuthConfigError);
    expect(unbound.message).toMatch(/names no workspace.*add a host key/);
    expect(unbound.message).not.toContain('dapi-namespace-own');
    secrets.set(NS, 'databricks-token', {
      token: 'dapi-namespace-own',
      host: 'dbc-tenant-picked.cloud.databricks.com',
    });
    await expect(buildAuth(pat, OTHER, authDeps).getBearerToken()).resolves.toBe('dapi-namespace-own');
  });

  it("refuses the connector's OAuth client elsewhere when the namespace has no secret", async () => {
    const m2m: AuthContext = { authType: 'oauth_m2m', mode: 'oauth_m2m', namespace: NS, oauthSecretName: 'o' };
    const { authDeps } = buildDeps({
      config: { DATABRICKS_CLIENT_ID: ENV_ID, DATABRICKS_CLIENT_SECRET: 'env-secret' },
    });
    const refused = await rejection(buildAuth(m2m, OTHER, authDeps).getBearerToken());
    expect(refused.message).toMatch(/connector's OAuth client/);
    await expect(buildAuth(m2m, HOST, authDeps).getBearerToken()).resolves.toBe('db-token');
  });
});
