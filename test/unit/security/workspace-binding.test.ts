import { describe, expect, it } from 'vitest';
import type { AuthContext } from '../../../shared/auth/auth-context.js';
import { type AuthDeps, buildAuth } from '../../../shared/auth/resolve-auth.js';
import type { Config } from '../../../shared/config.js';
import { ConfigError } from '../../../shared/config.js';
import {
  assertConnectorCredentialAllowed,
  assertNamespaceCredentialBound,
  assertWorkspaceAllowed,
  credentialHosts,
} from '../../../shared/databricks/workspace-policy.js';
import { AuthConfigError, InvalidJobSpecError } from '../../../shared/errors.js';
import { testConfig } from '../../support/test-config.js';
import { InMemorySecrets, rejection, scriptedFetch, testAuthDeps, tokenResponse } from '../auth/fakes.js';

const DBC1 = 'https://dbc-1.cloud.databricks.com';
const DBC2 = 'https://dbc-2.cloud.databricks.com';
const WHERE = "Secrets Manager secret 'flyte/team-a/databricks-token'";

/** A parsed configuration from environment text, as the functions read it. */
const configFrom = (env: Record<string, string>, overrides: Partial<Config> = {}) => testConfig(overrides, env);
const workspaces = (map: Record<string, string[]>) => ({ NAMESPACE_WORKSPACES: JSON.stringify(map) });

function refusal(attempt: () => void): Error {
  try {
    attempt();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected a refusal');
}

describe('Function: assertWorkspaceAllowed()', () => {
  it('allows listed hosts, case-insensitively, and nothing else, naming the field and ALLOWED_DATABRICKS_HOSTS', () => {
    const config = configFrom({ ALLOWED_DATABRICKS_HOSTS: 'dbc-1.cloud.databricks.com' });
    expect(() => assertWorkspaceAllowed('https://DBC-1.cloud.databricks.com', 'team-a', config)).not.toThrow();
    const error = refusal(() => assertWorkspaceAllowed('https://evil.example.com', 'team-a', config));
    expect(error).toBeInstanceOf(InvalidJobSpecError);
    expect(error).toMatchObject({ field: 'task.databricksInstance' });
    expect(error.message).toMatch(/'evil\.example\.com' is not in ALLOWED_DATABRICKS_HOSTS/);
    // A look-alike suffix is another host.
    expect(() => assertWorkspaceAllowed('https://dbc-1.cloud.databricks.com.evil.io', 'team-a', config)).toThrow(
      InvalidJobSpecError,
    );
  });

  it('compares ports: a missing port is 443, another port is another workspace', () => {
    const plain = configFrom({ ALLOWED_DATABRICKS_HOSTS: 'dbc-1.cloud.databricks.com' });
    expect(() => assertWorkspaceAllowed(`${DBC1}:443`, 'team-a', plain)).not.toThrow();
    expect(() => assertWorkspaceAllowed(`${DBC1}:8443`, 'team-a', plain)).toThrow(
      /'dbc-1\.cloud\.databricks\.com:8443'/,
    );
    const custom = configFrom({ ALLOWED_DATABRICKS_HOSTS: 'dbc-1.cloud.databricks.com:8443' });
    expect(() => assertWorkspaceAllowed(`${DBC1}:8443`, 'team-a', custom)).not.toThrow();
    expect(() => assertWorkspaceAllowed(DBC1, 'team-a', custom)).toThrow(InvalidJobSpecError);
    // The local stack's loopback emulator, over http, by host:port.
    const loopback = configFrom({ ALLOWED_DATABRICKS_HOSTS: '127.0.0.1:4010' });
    expect(() => assertWorkspaceAllowed('http://127.0.0.1:4010', 'team-a', loopback)).not.toThrow();
    expect(() => assertWorkspaceAllowed('http://127.0.0.1:4011', 'team-a', loopback)).toThrow(InvalidJobSpecError);
  });

  it('takes *.suffix for hosts with one or more labels before the suffix, never the suffix or a look-alike', () => {
    const config = configFrom({ ALLOWED_DATABRICKS_HOSTS: '*.cloud.databricks.com' });
    expect(() => assertWorkspaceAllowed(DBC1, 'team-a', config)).not.toThrow();
    expect(() => assertWorkspaceAllowed('https://a.b.cloud.databricks.com', 'team-a', config)).not.toThrow();
    for (const host of [
      'https://cloud.databricks.com',
      'https://evilcloud.databricks.com',
      'https://x.cloud.databricks.com.evil.io',
      `${DBC1}:8443`,
    ]) {
      expect(() => assertWorkspaceAllowed(host, 'team-a', config), host).toThrow(InvalidJobSpecError);
    }
  });

  it('with ALLOWED_DATABRICKS_HOSTS unset, allows FLYTE_DATABRICKS_INSTANCE only', () => {
    const config = configFrom({ FLYTE_DATABRICKS_INSTANCE: 'dbc-1.cloud.databricks.com' });
    expect(config.ALLOWED_DATABRICKS_HOSTS).toEqual([]);
    expect(() => assertWorkspaceAllowed(DBC1, 'team-a', config)).not.toThrow();
    expect(() => assertWorkspaceAllowed(DBC2, 'team-a', config)).toThrow(/'dbc-2\.cloud\.databricks\.com' is not in/);
    // With an allowlist, the default instance is allowed beside it.
    const both = configFrom({
      FLYTE_DATABRICKS_INSTANCE: 'https://dbc-1.cloud.databricks.com/',
      ALLOWED_DATABRICKS_HOSTS: 'dbc-2.cloud.databricks.com',
    });
    expect(() => assertWorkspaceAllowed(DBC1, 'team-a', both)).not.toThrow();
    expect(() => assertWorkspaceAllowed(DBC2, 'team-a', both)).not.toThrow();
  });

  it('with neither ALLOWED_DATABRICKS_HOSTS nor FLYTE_DATABRICKS_INSTANCE, allows nothing and says what to set', () => {
    const error = refusal(() => assertWorkspaceAllowed(DBC1, 'team-a', configFrom({})));
    expect(error).toBeInstanceOf(InvalidJobSpecError);
    expect(error).toMatchObject({ field: 'task.databricksInstance' });
    expect(error.message).toMatch(/No Databricks workspace is allowed/);
    expect(error.message).toContain('ALLOWED_DATABRICKS_HOSTS');
    expect(error.message).toContain('FLYTE_DATABRICKS_INSTANCE');
  });

  it('under INSECURE_ANY_DATABRICKS_HOST allows any workspace, NAMESPACE_WORKSPACES still narrowing', () => {
    const open = configFrom({ INSECURE_ANY_DATABRICKS_HOST: 'true' });
    expect(open.INSECURE_ANY_DATABRICKS_HOST).toBe(true);
    expect(() => assertWorkspaceAllowed('https://anything.example.org', 'team-a', open)).not.toThrow();
    const narrowed = configFrom({
      INSECURE_ANY_DATABRICKS_HOST: 'true',
      ...workspaces({ 'team-a': ['dbc-1.cloud.databricks.com'] }),
    });
    expect(() => assertWorkspaceAllowed(DBC1, 'team-a', narrowed)).not.toThrow();
    expect(() => assertWorkspaceAllowed(DBC2, 'team-a', narrowed)).toThrow(InvalidJobSpecError);
    expect(() => assertWorkspaceAllowed(DBC2, 'team-b', narrowed)).not.toThrow();
  });

  it('narrows a namespace to its NAMESPACE_WORKSPACES entry, else the "*" entry', () => {
    const config = configFrom({
      ALLOWED_DATABRICKS_HOSTS: '*.cloud.databricks.com',
      ...workspaces({ 'team-a': ['dbc-1.cloud.databricks.com'], '*': ['dbc-shared.cloud.databricks.com'] }),
    });
    expect(() => assertWorkspaceAllowed(DBC1, 'team-a', config)).not.toThrow();
    // The namespace's own entry wins over "*".
    const error = refusal(() => assertWorkspaceAllowed('https://dbc-shared.cloud.databricks.com', 'team-a', config));
    expect(error).toBeInstanceOf(InvalidJobSpecError);
    expect(error).toMatchObject({ field: 'task.databricksInstance' });
    expect(error.message).toContain("not one of namespace 'team-a''s workspaces");
    expect(error.message).toContain('NAMESPACE_WORKSPACES: dbc-1.cloud.databricks.com');
    expect(() => assertWorkspaceAllowed('https://dbc-shared.cloud.databricks.com', 'team-b', config)).not.toThrow();
    expect(() => assertWorkspaceAllowed(DBC1, 'team-b', config)).toThrow(/namespace 'team-b''s workspaces/);
  });

  it('never widens the allowlist: a NAMESPACE_WORKSPACES host outside it is still refused', () => {
    const config = configFrom({
      ALLOWED_DATABRICKS_HOSTS: 'dbc-1.cloud.databricks.com',
      ...workspaces({ 'team-a': ['dbc-2.cloud.databricks.com'] }),
    });
    expect(() => assertWorkspaceAllowed(DBC2, 'team-a', config)).toThrow(/not in ALLOWED_DATABRICKS_HOSTS/);
  });

  it('NAMESPACE_WORKSPACES takes exact hosts only: a wildcard is a ConfigError naming the variable', () => {
    expect(() => configFrom(workspaces({ 'team-a': ['*.cloud.databricks.com'] }))).toThrow(ConfigError);
    expect(() => configFrom(workspaces({ 'team-a': ['*.cloud.databricks.com'] }))).toThrow(
      /NAMESPACE_WORKSPACES: entry 1: host 1 is a wildcard/,
    );
  });
});

describe('Function: credentialHosts()', () => {
  it('reads a comma-separated list of exact hosts; blank is none', () => {
    expect(credentialHosts(undefined, WHERE)).toBeUndefined();
    expect(credentialHosts('  ', WHERE)).toBeUndefined();
    expect(credentialHosts(' dbc-1.cloud.databricks.com , https://dbc-2.cloud.databricks.com:8443/', WHERE)).toEqual([
      { wildcard: false, hostname: 'dbc-1.cloud.databricks.com', port: 443 },
      { wildcard: false, hostname: 'dbc-2.cloud.databricks.com', port: 8443 },
    ]);
  });

  it.each([
    ['a wildcard', '*.cloud.databricks.com'],
    ['a URL with a path', 'https://dbc-1.cloud.databricks.com/secret-looking-path'],
    ['user info', 'secret-looking-user@dbc-1.cloud.databricks.com'],
  ])('refuses %s, naming the position and where, never the value', (_what, value) => {
    const error = refusal(() => credentialHosts(`dbc-1.cloud.databricks.com,${value}`, WHERE));
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toContain(`${WHERE} names workspace 2`);
    expect(error.message).not.toContain('secret-looking');
  });
});

describe('Function: assertNamespaceCredentialBound()', () => {
  const mapped = configFrom(
    workspaces({ 'team-a': ['dbc-2.cloud.databricks.com'], '*': ['dbc-3.cloud.databricks.com'] }),
  );
  const unmapped = configFrom({});

  it("lets the credential's own host decide, over NAMESPACE_WORKSPACES", () => {
    const named = credentialHosts('dbc-1.cloud.databricks.com', WHERE);
    expect(() => assertNamespaceCredentialBound(DBC1, 'team-a', named, WHERE, mapped)).not.toThrow();
    const error = refusal(() => assertNamespaceCredentialBound(DBC2, 'team-a', named, WHERE, mapped));
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toContain(
      `${WHERE} is bound to dbc-1.cloud.databricks.com, not to dbc-2.cloud.databricks.com`,
    );
    expect(error.message).toContain('never sent to another workspace');
    // Several hosts; ports count.
    const two = credentialHosts('dbc-1.cloud.databricks.com,dbc-2.cloud.databricks.com:8443', WHERE);
    expect(() => assertNamespaceCredentialBound(`${DBC2}:8443`, 'team-a', two, WHERE, unmapped)).not.toThrow();
    expect(() => assertNamespaceCredentialBound(DBC2, 'team-a', two, WHERE, unmapped)).toThrow(AuthConfigError);
  });

  it('without a host of its own, follows the namespace\'s NAMESPACE_WORKSPACES entry, else the "*" entry', () => {
    expect(() => assertNamespaceCredentialBound(DBC2, 'team-a', undefined, WHERE, mapped)).not.toThrow();
    expect(() => assertNamespaceCredentialBound(DBC1, 'team-a', undefined, WHERE, mapped)).toThrow(
      /binds namespace 'team-a' to dbc-2\.cloud\.databricks\.com/,
    );
    expect(() =>
      assertNamespaceCredentialBound('https://dbc-3.cloud.databricks.com', 'team-b', undefined, WHERE, mapped),
    ).not.toThrow();
    expect(() => assertNamespaceCredentialBound(DBC2, 'team-b', undefined, WHERE, mapped)).toThrow(AuthConfigError);
  });

  it('with neither, refuses, telling to add a host key beside the credentials', () => {
    const error = refusal(() => assertNamespaceCredentialBound(DBC1, 'team-a', undefined, WHERE, unmapped));
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toContain(`${WHERE} names no workspace`);
    expect(error.message).toContain("binds namespace 'team-a' to none");
    expect(error.message).toContain('add a host key (the workspace, e.g. "host": "dbc-1.cloud.databricks.com")');
    expect(error.message).toContain('or bind the namespace in NAMESPACE_WORKSPACES');
  });
});

describe('Function: assertConnectorCredentialAllowed()', () => {
  const what = 'The connector-wide PAT';

  it('refuses a workspace only a wildcard allows, though jobs may run there', () => {
    const config = configFrom({ ALLOWED_DATABRICKS_HOSTS: '*.cloud.databricks.com' });
    expect(() => assertWorkspaceAllowed(DBC1, 'team-a', config)).not.toThrow();
    const error = refusal(() => assertConnectorCredentialAllowed(DBC1, 'team-a', what, config));
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toContain(`${what} would send the connector's own credentials to dbc-1.cloud.databricks.com`);
    expect(error.message).toContain('a wildcard is not enough');
  });

  it('allows exact ALLOWED_DATABRICKS_HOSTS entries (same port) and FLYTE_DATABRICKS_INSTANCE', () => {
    const config = configFrom({
      ALLOWED_DATABRICKS_HOSTS: '*.cloud.databricks.com,dbc-2.cloud.databricks.com',
      FLYTE_DATABRICKS_INSTANCE: 'dbc-1.cloud.databricks.com',
    });
    expect(() => assertConnectorCredentialAllowed(DBC1, 'team-a', what, config)).not.toThrow();
    expect(() => assertConnectorCredentialAllowed(DBC2, 'team-a', what, config)).not.toThrow();
    expect(() => assertConnectorCredentialAllowed(`${DBC2}:8443`, 'team-a', what, config)).toThrow(AuthConfigError);
    expect(() =>
      assertConnectorCredentialAllowed('https://dbc-3.cloud.databricks.com', 'team-a', what, config),
    ).toThrow(AuthConfigError);
  });

  it("allows the namespace's NAMESPACE_WORKSPACES entry, for that namespace only", () => {
    const config = configFrom({
      ALLOWED_DATABRICKS_HOSTS: '*.cloud.databricks.com',
      ...workspaces({ 'team-a': ['dbc-1.cloud.databricks.com'] }),
    });
    expect(() => assertConnectorCredentialAllowed(DBC1, 'team-a', what, config)).not.toThrow();
    expect(() => assertConnectorCredentialAllowed(DBC1, 'team-b', what, config)).toThrow(AuthConfigError);
  });

  it('is not opened by INSECURE_ANY_DATABRICKS_HOST', () => {
    const config = configFrom({
      INSECURE_ANY_DATABRICKS_HOST: 'true',
      FLYTE_DATABRICKS_INSTANCE: 'dbc-1.cloud.databricks.com',
    });
    expect(() => assertWorkspaceAllowed(DBC2, 'team-a', config)).not.toThrow();
    expect(() => assertConnectorCredentialAllowed(DBC2, 'team-a', what, config)).toThrow(AuthConfigError);
    expect(() => assertConnectorCredentialAllowed(DBC1, 'team-a', what, config)).not.toThrow();
  });
});

describe("Function: buildAuth(): a namespace's secret bound to another workspace is never released", () => {
  const NS = 'team-a';
  const NS_PAT = 'dapi-namespace-secret-value-0001';
  const NS_ID = 'aaaa1111-2222-3333-4444-555566667777';
  const NS_SECRET = 'dose-namespace-secret-0002';
  const ENV_PAT = 'dapi-connector-secret-value-0003';
  const ENV_SECRET = 'dose-connector-secret-0004';
  const pat: AuthContext = { authType: 'pat', mode: 'pat', namespace: NS, tokenSecretName: 'databricks-token' };
  const m2m: AuthContext = {
    authType: 'oauth_m2m',
    mode: 'oauth_m2m',
    namespace: NS,
    oauthSecretName: 'databricks-oauth',
  };

  /** The job runs on DBC1, the connector's default workspace, where the connector's own credentials may go. */
  function setup(env: Record<string, string> = {}) {
    const secrets = new InMemorySecrets();
    const { fetch, requests } = scriptedFetch(tokenResponse('db-token'));
    const deps: AuthDeps = testAuthDeps({
      config: testConfig(
        {
          FLYTE_DATABRICKS_INSTANCE: DBC1,
          FLYTE_DATABRICKS_ACCESS_TOKEN: ENV_PAT,
          DATABRICKS_CLIENT_ID: 'eeee1111-2222-3333-4444-555566660000',
          DATABRICKS_CLIENT_SECRET: ENV_SECRET,
        },
        env,
      ),
      secrets,
      fetch,
    });
    return { deps, secrets, requests };
  }

  const leaks = (message: string) => [NS_PAT, NS_SECRET, ENV_PAT, ENV_SECRET].filter((s) => message.includes(s));

  it('PAT: refuses, and falls back to no other token, when the secret names another workspace', async () => {
    const { deps, secrets } = setup();
    secrets.set(NS, 'databricks-token', { token: NS_PAT, host: 'dbc-2.cloud.databricks.com' });
    const error = await rejection(buildAuth(pat, DBC1, deps).getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toContain(
      "Secrets Manager secret 'flyte/team-a/databricks-token' is bound to dbc-2.cloud.databricks.com, not to " +
        'dbc-1.cloud.databricks.com',
    );
    expect(leaks(error.message)).toEqual([]);
    // On its own workspace it is used.
    await expect(buildAuth(pat, DBC2, deps).getBearerToken()).resolves.toBe(NS_PAT);
  });

  it('PAT: a secret without host follows NAMESPACE_WORKSPACES, else is refused', async () => {
    const bound = setup(workspaces({ [NS]: ['dbc-1.cloud.databricks.com'] }));
    bound.secrets.set(NS, 'databricks-token', { token: NS_PAT });
    await expect(buildAuth(pat, DBC1, bound.deps).getBearerToken()).resolves.toBe(NS_PAT);
    const unbound = setup();
    unbound.secrets.set(NS, 'databricks-token', { token: NS_PAT });
    const error = await rejection(buildAuth(pat, DBC1, unbound.deps).getBearerToken());
    expect(error.message).toMatch(/names no workspace.*add a host key/);
    expect(leaks(error.message)).toEqual([]);
  });

  it('OAuth M2M: refuses before any token request when the secret names another workspace', async () => {
    const { deps, secrets, requests } = setup();
    secrets.set(NS, 'databricks-oauth', {
      client_id: NS_ID,
      client_secret: NS_SECRET,
      host: 'dbc-2.cloud.databricks.com',
    });
    const error = await rejection(buildAuth(m2m, DBC1, deps).getBearerToken());
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toContain(
      "Secrets Manager secret 'flyte/team-a/databricks-oauth' is bound to dbc-2.cloud.databricks.com",
    );
    expect(leaks(error.message)).toEqual([]);
    expect(requests).toHaveLength(0);
  });

  it('OAuth M2M: a secret without host and no binding makes no token request either', async () => {
    const { deps, secrets, requests } = setup();
    secrets.set(NS, 'databricks-oauth', { client_id: NS_ID, client_secret: NS_SECRET });
    const error = await rejection(buildAuth(m2m, DBC1, deps).getBearerToken());
    expect(error.message).toMatch(/names no workspace.*add a host key/);
    expect(requests).toHaveLength(0);
  });

  it('OAuth M2M: sends the pair to a workspace its host names, and only there', async () => {
    const { deps, secrets, requests } = setup();
    secrets.set(NS, 'databricks-oauth', {
      client_id: NS_ID,
      client_secret: NS_SECRET,
      host: 'dbc-1.cloud.databricks.com, dbc-2.cloud.databricks.com',
    });
    await expect(buildAuth(m2m, DBC2, deps).getBearerToken()).resolves.toBe('db-token');
    expect(requests.map((r) => r.url)).toEqual([`${DBC2}/oidc/v1/token`]);
  });
});
