import { describe, expect, it } from 'vitest';
import { PLACEHOLDERS } from '../../../infra/local/template/local-context.js';
import { type LocalEnvironmentOverrides, overrideEnvironment } from '../../../infra/local/template/local-overrides.js';

const HOST = PLACEHOLDERS.databricksHost;
const TEMPLATE_ENV: Record<string, string> = {
  JOBS_TABLE_NAME: 'FlyteDatabricksLambda-JobsTable',
  FLYTE_DATABRICKS_INSTANCE: HOST,
  ALLOWED_DATABRICKS_HOSTS: HOST,
  NAMESPACE_WORKSPACES: JSON.stringify({ '*': [HOST], team: [HOST, 'other.cloud.databricks.com'] }),
  OIDC_TOKEN_FILE_DIRS: PLACEHOLDERS.tokenFileDir,
  CALLER_NAMESPACES: JSON.stringify({ 'arn:aws:iam::123456789012:user/caller': ['*'] }),
  POLL_INTERVAL_MIN_SECONDS: '10',
  POLL_INTERVAL_MAX_SECONDS: '180',
  MAX_RECEIVE_COUNT: '5',
  POWERTOOLS_LOG_LEVEL: 'INFO',
};
const ENDPOINTS = {
  databricksUrl: 'http://127.0.0.1:40123',
  tokenFileDir: '/tmp/fdl-stack-xyz/tokens',
  aws: {
    DYNAMODB: 'http://127.0.0.1:40001',
    SQS: 'http://127.0.0.1:40002',
    SECRETS_MANAGER: 'http://127.0.0.1:40003',
    STS: 'http://127.0.0.1:40004',
    EKS: 'http://127.0.0.1:40005',
  },
};

/** Every variable whose value differs between the two environments (added, changed or removed). */
function changedNames(before: Record<string, string>, after: Record<string, string>): string[] {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((name) => before[name] !== after[name])
    .sort();
}

/** The variable each difference line names. */
function namesIn(differences: string[]): string[] {
  return differences.map((line) => line.slice(0, line.indexOf(':'))).sort();
}

describe('overrideEnvironment', () => {
  it('replaces the placeholders with the emulators', () => {
    const { env } = overrideEnvironment(TEMPLATE_ENV, { endpoints: ENDPOINTS });
    expect(env.FLYTE_DATABRICKS_INSTANCE).toBe('http://127.0.0.1:40123');
    expect(env.ALLOWED_DATABRICKS_HOSTS).toBe('127.0.0.1:40123');
    expect(JSON.parse(env.NAMESPACE_WORKSPACES ?? '')).toEqual({
      '*': ['127.0.0.1:40123'],
      team: ['127.0.0.1:40123', 'other.cloud.databricks.com'],
    });
    expect(env.OIDC_TOKEN_FILE_DIRS).toBe('/tmp/fdl-stack-xyz/tokens');
    expect(env.ALLOW_INSECURE_LOOPBACK_DATABRICKS).toBe('true');
    expect(Object.values(env).join('\n')).not.toContain(HOST);
    // What the overrides do not touch stays the template's.
    expect(env.JOBS_TABLE_NAME).toBe(TEMPLATE_ENV.JOBS_TABLE_NAME);
    expect(env.CALLER_NAMESPACES).toBe(TEMPLATE_ENV.CALLER_NAMESPACES);
    expect(env.POLL_INTERVAL_MIN_SECONDS).toBe('10');
  });

  it('leaves a real workspace the template names as it is', () => {
    const real = {
      FLYTE_DATABRICKS_INSTANCE: 'dbc-1.cloud.databricks.com',
      ALLOWED_DATABRICKS_HOSTS: 'dbc-1.cloud.databricks.com',
    };
    const { env, differences } = overrideEnvironment(real, { endpoints: { ...ENDPOINTS, aws: {} } });
    expect(env.FLYTE_DATABRICKS_INSTANCE).toBe('dbc-1.cloud.databricks.com');
    expect(env.ALLOWED_DATABRICKS_HOSTS).toBe('dbc-1.cloud.databricks.com');
    expect(namesIn(differences)).toEqual(['ALLOW_INSECURE_LOOPBACK_DATABRICKS']);
  });

  it('adds the AWS endpoint URLs', () => {
    const { env } = overrideEnvironment(TEMPLATE_ENV, { endpoints: ENDPOINTS });
    expect(env).toMatchObject({
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:40001',
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:40002',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:40003',
      AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:40004',
      AWS_ENDPOINT_URL_EKS: 'http://127.0.0.1:40005',
    });
  });

  it('adds further allowed hosts', () => {
    const { env, differences } = overrideEnvironment(TEMPLATE_ENV, {
      endpoints: ENDPOINTS,
      extraAllowedHosts: ['127.0.0.1:40999'],
    });
    expect(env.ALLOWED_DATABRICKS_HOSTS).toBe('127.0.0.1:40123,127.0.0.1:40999');
    // One line for the variable, with both reasons.
    const lines = differences.filter((line) => line.startsWith('ALLOWED_DATABRICKS_HOSTS:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('the workspace emulator host');
    expect(lines[0]).toContain("the scenario's further workspaces");
  });

  it("binds the scenario's callers", () => {
    const callers = { 'arn:aws:iam::123456789012:user/alice': ['team-a'], AIDAALICE: ['team-a', 'team-b'] };
    const { env, differences } = overrideEnvironment(TEMPLATE_ENV, { endpoints: ENDPOINTS, callerNamespaces: callers });
    expect(JSON.parse(env.CALLER_NAMESPACES ?? '')).toEqual(callers);
    expect(env.INSECURE_ANY_CALLER_ANY_NAMESPACE).toBeUndefined();
    expect(namesIn(differences)).toContain('CALLER_NAMESPACES');
  });

  it("'insecure-any' drops CALLER_NAMESPACES for INSECURE_ANY_CALLER_ANY_NAMESPACE, and says so", () => {
    const { env, differences } = overrideEnvironment(TEMPLATE_ENV, {
      endpoints: ENDPOINTS,
      callerNamespaces: 'insecure-any',
    });
    expect(env.CALLER_NAMESPACES).toBeUndefined();
    expect('CALLER_NAMESPACES' in env).toBe(false);
    expect(env.INSECURE_ANY_CALLER_ANY_NAMESPACE).toBe('true');
    expect(differences.find((line) => line.startsWith('CALLER_NAMESPACES:'))).toMatch(/template value -> \(not set\)/);
    expect(differences.find((line) => line.startsWith('INSECURE_ANY_CALLER_ANY_NAMESPACE:'))).toMatch(
      /^\S+: \(not set\) ->/,
    );
  });

  it('a function without CALLER_NAMESPACES gets no caller override', () => {
    const { CALLER_NAMESPACES: _, ...sweeper } = TEMPLATE_ENV;
    for (const callerNamespaces of ['insecure-any' as const, { a: ['b'] }]) {
      const { env } = overrideEnvironment(sweeper, { endpoints: ENDPOINTS, callerNamespaces });
      expect(env.CALLER_NAMESPACES).toBeUndefined();
      expect(env.INSECURE_ANY_CALLER_ANY_NAMESPACE).toBeUndefined();
    }
  });

  it('applies the timing overrides where the function has the variables', () => {
    const timing = { pollIntervalSeconds: { min: 0, max: 1 }, maxReceiveCount: 2 };
    const { env } = overrideEnvironment(TEMPLATE_ENV, { endpoints: ENDPOINTS, timing, logLevel: 'ERROR' });
    expect(env).toMatchObject({
      POLL_INTERVAL_MIN_SECONDS: '0',
      POLL_INTERVAL_MAX_SECONDS: '1',
      MAX_RECEIVE_COUNT: '2',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      AWS_LAMBDA_LOG_LEVEL: 'ERROR',
    });
    const {
      POLL_INTERVAL_MIN_SECONDS: _a,
      POLL_INTERVAL_MAX_SECONDS: _b,
      MAX_RECEIVE_COUNT: _c,
      ...api
    } = TEMPLATE_ENV;
    const apiEnv = overrideEnvironment(api, { endpoints: ENDPOINTS, timing }).env;
    expect(apiEnv.POLL_INTERVAL_MIN_SECONDS).toBeUndefined();
    expect(apiEnv.POLL_INTERVAL_MAX_SECONDS).toBeUndefined();
    expect(apiEnv.MAX_RECEIVE_COUNT).toBeUndefined();
  });

  it('lists every change in differences, one line per variable, and nothing unchanged', () => {
    const overrides: LocalEnvironmentOverrides = {
      endpoints: ENDPOINTS,
      timing: { pollIntervalSeconds: { min: 0, max: 2 }, maxReceiveCount: 3 },
      callerNamespaces: 'insecure-any',
      extraAllowedHosts: ['127.0.0.1:40999'],
      logLevel: 'WARN',
      // One equal to the template's: not a difference.
      extra: { STALE_AFTER_SECONDS: '5', JOBS_TABLE_NAME: TEMPLATE_ENV.JOBS_TABLE_NAME as string },
    };
    const { env, differences } = overrideEnvironment(TEMPLATE_ENV, overrides);
    expect(namesIn(differences)).toEqual(changedNames(TEMPLATE_ENV, env));
    expect(namesIn(differences)).toContain('STALE_AFTER_SECONDS');
    expect(namesIn(differences)).not.toContain('JOBS_TABLE_NAME');
    expect(new Set(namesIn(differences)).size).toBe(differences.length);
    // The template's own environment is not changed in place.
    expect(TEMPLATE_ENV.CALLER_NAMESPACES).toBeDefined();
    expect(TEMPLATE_ENV.FLYTE_DATABRICKS_INSTANCE).toBe(HOST);
  });

  it('never writes a value into differences, a secret least of all', () => {
    const secret = 'dapi0123456789abcdef-SECRET-VALUE';
    const withSecret = { ...TEMPLATE_ENV, DATABRICKS_TOKEN: 'template-secret-value-42' };
    const { env, differences } = overrideEnvironment(withSecret, {
      endpoints: ENDPOINTS,
      callerNamespaces: { 'arn:aws:iam::123456789012:user/alice': ['team-a'] },
      extra: { DATABRICKS_TOKEN: secret, DATABRICKS_CLIENT_SECRET: secret },
    });
    expect(env.DATABRICKS_TOKEN).toBe(secret);
    expect(namesIn(differences)).toEqual(expect.arrayContaining(['DATABRICKS_TOKEN', 'DATABRICKS_CLIENT_SECRET']));
    for (const line of differences) {
      expect(line).not.toContain(secret);
      expect(line).not.toContain('template-secret-value-42');
    }
    // Nor any other value, before or after.
    for (const value of [...Object.values(withSecret), ...Object.values(env)].filter((v) => v.length > 6)) {
      for (const line of differences) expect(line).not.toContain(value);
    }
  });
});
