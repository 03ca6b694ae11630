import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ContextKey,
  DEFAULT_STACK_NAME,
  parseStackConfig,
  parseStackName,
  StackConfigError,
  secretNamePrefix,
  withContextFile,
} from '../../../infra/stack-config.js';
import { ConfigError, parseConfig } from '../../../shared/config.js';
import { SAFE_CONTEXT } from './synth-stack.js';

/** Parses `context` alone, as `cdk synth` with exactly these values would. */
const parseOnly = (context: Record<string, unknown>) => parseStackConfig((key) => context[key]);
/** Parses `context` on top of SAFE_CONTEXT (who may use which namespace, which workspaces). */
const parse = (context: Record<string, unknown>) => parseOnly({ ...SAFE_CONTEXT, ...context });

/** The error `attempt` throws, which must be a StackConfigError. */
function thrown(attempt: () => unknown): StackConfigError {
  try {
    attempt();
  } catch (error) {
    if (error instanceof StackConfigError) return error;
    throw error;
  }
  throw new Error('expected a StackConfigError');
}

/** The error parsing `context` (on top of SAFE_CONTEXT) throws. */
const errorFor = (context: Record<string, unknown>): StackConfigError => thrown(() => parse(context));

describe('Function: parseStackConfig()', () => {
  it('applies the documented defaults when only who may use which namespace and which workspaces are set', () => {
    // Act
    const config = parse({});

    // Assess
    expect(config).toEqual({
      allowedDatabricksHosts: ['dbc-1.cloud.databricks.com'],
      insecureAnyDatabricksHost: false,
      namespaceWorkspaces: undefined,
      namespaceOidcClientIds: undefined,
      oidcTokenFileDirs: [],
      callerNamespaces: JSON.stringify(SAFE_CONTEXT.callerNamespaces),
      callerPrincipalIds: [],
      insecureAnyCallerAnyNamespace: false,
      databricksInstance: undefined,
      // Unset: the functions auto-detect how each namespace authenticates.
      databricksAuthType: undefined,
      databricksApiVersion: '2.2',
      secretNameTemplate: 'flyte/{namespace}/{name}',
      fallbackTokenSecretId: undefined,
      namespaceSecretSource: undefined,
      oauthSecretName: undefined,
      databricksClientId: undefined,
      databricksClientSecretSecretId: undefined,
      oidcModel1Sts: false,
      oidcAudience: undefined,
      oidcSubjectTokenSource: undefined,
      oidcStsDurationSeconds: undefined,
      saTokenExpirationSeconds: undefined,
      secretCacheSeconds: undefined,
      namespaceDiscoveryCacheSeconds: undefined,
      eksClusterName: undefined,
      eksApiEndpoint: undefined,
      eksCaData: undefined,
      vpcId: undefined,
      subnetIds: [],
      securityGroupIds: [],
      pollIntervalMinSeconds: 10,
      pollIntervalMaxSeconds: 180,
      pollIntervalFraction: 0.15,
      workspaceApiBudgetRps: 20,
      // Unset: the functions' defaults (10 s, 300 s).
      workspaceUnhealthyFirstBackoffSeconds: undefined,
      workspaceUnhealthyMaxBackoffSeconds: undefined,
      jobRetentionDays: 30,
      logLevel: 'INFO',
      logRetentionDays: 30,
      maxReceiveCount: 5,
      removalPolicy: 'retain',
      alarmTopicArn: undefined,
      alarmEmail: undefined,
      apiAllowedPrincipalArns: [],
      apiThrottleRateLimit: 50,
      apiThrottleBurstLimit: 100,
      submitMaxConcurrency: 5,
      pollMaxConcurrency: 10,
      cancelMaxConcurrency: 2,
      localAwsEndpointUrl: undefined,
      tracing: true,
      metricsWorkspaceDimension: false,
    });
  });

  it('takes -c strings and cdk.json JSON values alike', () => {
    // Act
    const fromCli = parse({
      maxReceiveCount: '7',
      oidcModel1Sts: 'true',
      oidcAudience: 'databricks',
      subnetIds: 'subnet-0123456789abcdef0, subnet-0123456789abcdef1',
      vpcId: 'vpc-0123456789abcdef0',
      logRetentionDays: '90',
      apiAllowedPrincipalArns: '["arn:aws:iam::123456789012:role/flyte-task"]',
    });
    const fromJson = parse({
      maxReceiveCount: 7,
      oidcModel1Sts: true,
      oidcAudience: 'databricks',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
      vpcId: 'vpc-0123456789abcdef0',
      logRetentionDays: 90,
      apiAllowedPrincipalArns: ['arn:aws:iam::123456789012:role/flyte-task'],
    });

    // Assess
    expect(fromCli).toEqual(fromJson);
    expect(fromCli).toMatchObject({ maxReceiveCount: 7, oidcModel1Sts: true, logRetentionDays: 90 });
    expect(fromCli.subnetIds).toEqual(['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1']);
  });

  it('reads the auth settings, -c strings and JSON alike', () => {
    // Act
    const config = parse({
      databricksAuthType: 'oauth_m2m',
      namespaceSecretSource: 'kubernetes',
      eksClusterName: 'flyte-prod',
      oauthSecretName: 'databricks-oauth-prod',
      databricksClientId: ' 6f1c2d3e-0000-4000-8000-00000000abcd ',
      databricksClientSecretSecretId: 'flyte-connector/databricks-client',
      oidcModel1Sts: 'true',
      oidcAudience: 'databricks',
      oidcStsDurationSeconds: '900',
      saTokenExpirationSeconds: 7200,
      secretCacheSeconds: '0',
      namespaceDiscoveryCacheSeconds: 60,
    });

    // Assess
    expect(config).toMatchObject({
      databricksAuthType: 'oauth_m2m',
      namespaceSecretSource: 'kubernetes',
      oauthSecretName: 'databricks-oauth-prod',
      databricksClientId: '6f1c2d3e-0000-4000-8000-00000000abcd',
      databricksClientSecretSecretId: 'flyte-connector/databricks-client',
      oidcSubjectTokenSource: 'sts',
      oidcStsDurationSeconds: 900,
      saTokenExpirationSeconds: 7200,
      secretCacheSeconds: 0,
      namespaceDiscoveryCacheSeconds: 60,
    });
  });

  it("reads the workspace backoffs, -c strings and JSON alike, by the functions' bounds", () => {
    // Act
    const config = parse({ workspaceUnhealthyFirstBackoffSeconds: '3', workspaceUnhealthyMaxBackoffSeconds: 900 });

    // Assess
    expect(config).toMatchObject({
      workspaceUnhealthyFirstBackoffSeconds: 3,
      workspaceUnhealthyMaxBackoffSeconds: 900,
    });
    expect(parse({ workspaceUnhealthyMaxBackoffSeconds: 10 }).workspaceUnhealthyMaxBackoffSeconds).toBe(10);
  });

  it('defaults STS to subject token source sts and 300 s, and leaves both unset without it', () => {
    // Act
    const sts = parse({ oidcModel1Sts: true, oidcAudience: 'databricks' });
    const auto = parse({ oidcModel1Sts: true, oidcAudience: 'databricks', oidcSubjectTokenSource: 'auto' });
    const file = parse({ oidcAudience: 'databricks', oidcSubjectTokenSource: 'file' });

    // Assess
    expect(sts).toMatchObject({ oidcSubjectTokenSource: 'sts', oidcStsDurationSeconds: 300 });
    expect(auto).toMatchObject({ oidcSubjectTokenSource: 'auto', oidcStsDurationSeconds: 300 });
    expect(file).toMatchObject({ oidcSubjectTokenSource: 'file', oidcStsDurationSeconds: undefined });
    expect(file.oidcAudience).toBe('databricks');
  });

  it('reduces workspace hosts to bare lower-case host names', () => {
    // Act
    const config = parse({
      allowedDatabricksHosts: 'https://DBC-1.cloud.databricks.com/, *.azuredatabricks.net',
      databricksInstance: 'https://dbc-1.cloud.databricks.com',
    });

    // Assess
    expect(config.allowedDatabricksHosts).toEqual(['dbc-1.cloud.databricks.com', '*.azuredatabricks.net']);
    expect(config.databricksInstance).toBe('dbc-1.cloud.databricks.com');
  });

  it('accepts a default instance matched by a wildcard host', () => {
    // Act
    const config = parse({
      allowedDatabricksHosts: ['*.cloud.databricks.com'],
      databricksInstance: 'dbc-9.cloud.databricks.com',
    });

    // Assess
    expect(config.databricksInstance).toBe('dbc-9.cloud.databricks.com');
  });

  it.each<[string, Record<string, unknown>, ContextKey, RegExp]>([
    ['a non-integer maxReceiveCount', { maxReceiveCount: 'five' }, 'maxReceiveCount', /integer from 1 to 1000/],
    ['a maxReceiveCount above SQS limits', { maxReceiveCount: 1001 }, 'maxReceiveCount', /integer from 1 to 1000/],
    ['an unknown log level', { logLevel: 'TRACE' }, 'logLevel', /one of DEBUG, INFO, WARN, ERROR/],
    ['a retention CloudWatch does not offer', { logRetentionDays: 31 }, 'logRetentionDays', /one of 1, 3, 5/],
    ['an unknown removal policy', { removalPolicy: 'snapshot' }, 'removalPolicy', /one of retain, destroy/],
    ['an unknown auth type', { databricksAuthType: 'basic' }, 'databricksAuthType', /one of pat, oauth_m2m/],
    ['a non-boolean flag', { oidcModel1Sts: 'yes' }, 'oidcModel1Sts', /true or false/],
    ['STS without an audience', { oidcModel1Sts: true }, 'oidcAudience', /must be set when oidcModel1Sts/],
    [
      'a template without a fixed prefix',
      { secretNameTemplate: '{namespace}/{name}' },
      'secretNameTemplate',
      /fixed prefix/,
    ],
    [
      'a template without {name}',
      { secretNameTemplate: 'flyte/{namespace}' },
      'secretNameTemplate',
      /\{namespace\} and \{name\}/,
    ],
    [
      'a template with spaces',
      { secretNameTemplate: 'my secrets/{namespace}/{name}' },
      'secretNameTemplate',
      /characters/,
    ],
    [
      'a bad fallback secret ARN',
      { fallbackTokenSecretId: 'arn:aws:s3:::bucket' },
      'fallbackTokenSecretId',
      /secret name or ARN/,
    ],
    ['subnets without a VPC', { subnetIds: 'subnet-0123456789abcdef0' }, 'vpcId', /must be set when subnetIds/],
    ['a VPC without subnets', { vpcId: 'vpc-0123456789abcdef0' }, 'subnetIds', /private subnets/],
    ['a malformed subnet id', { vpcId: 'vpc-0123456789abcdef0', subnetIds: 'subnet-xyz' }, 'subnetIds', /subnet ids/],
    [
      'an EKS endpoint without a cluster',
      { eksApiEndpoint: 'https://x.eks.amazonaws.com' },
      'eksClusterName',
      /must be set/,
    ],
    ['a plain-http EKS endpoint', { eksClusterName: 'c', eksApiEndpoint: 'http://x' }, 'eksApiEndpoint', /https:\/\//],
    [
      'poll bounds the wrong way round',
      { pollIntervalMinSeconds: 120, pollIntervalMaxSeconds: 60 },
      'pollIntervalMinSeconds',
      /must not exceed/,
    ],
    ['a poll interval beyond SQS delay', { pollIntervalMaxSeconds: 901 }, 'pollIntervalMaxSeconds', /0 to 900/],
    ['a poll fraction of 0', { pollIntervalFraction: 0 }, 'pollIntervalFraction', /above 0 and at most 1/],
    ['a poll fraction above 1', { pollIntervalFraction: '1.5' }, 'pollIntervalFraction', /above 0 and at most 1/],
    ['a negative workspace budget', { workspaceApiBudgetRps: -1 }, 'workspaceApiBudgetRps', /0 to 10000/],
    [
      'a first workspace backoff of 0',
      { workspaceUnhealthyFirstBackoffSeconds: 0 },
      'workspaceUnhealthyFirstBackoffSeconds',
      /integer from 1 to 900/,
    ],
    [
      'a maximum workspace backoff beyond SQS delay',
      { workspaceUnhealthyMaxBackoffSeconds: '901' },
      'workspaceUnhealthyMaxBackoffSeconds',
      /integer from 1 to 900/,
    ],
    [
      'workspace backoffs the wrong way round',
      { workspaceUnhealthyFirstBackoffSeconds: 60, workspaceUnhealthyMaxBackoffSeconds: 30 },
      'workspaceUnhealthyFirstBackoffSeconds',
      /must not exceed workspaceUnhealthyMaxBackoffSeconds \(30\) \(got 60\)/,
    ],
    [
      'a first workspace backoff above the default maximum',
      { workspaceUnhealthyFirstBackoffSeconds: 301 },
      'workspaceUnhealthyFirstBackoffSeconds',
      /must not exceed workspaceUnhealthyMaxBackoffSeconds \(300, its default\) \(got 301\)/,
    ],
    [
      'a maximum workspace backoff below the default first one',
      { workspaceUnhealthyMaxBackoffSeconds: 5 },
      'workspaceUnhealthyMaxBackoffSeconds',
      /must be at least workspaceUnhealthyFirstBackoffSeconds \(10, its default\) \(got 5\)/,
    ],
    ['a malformed topic ARN', { alarmTopicArn: 'ops-alarms' }, 'alarmTopicArn', /SNS topic ARN/],
    ['a malformed email', { alarmEmail: 'ops' }, 'alarmEmail', /email address/],
    [
      'a principal that is not an IAM ARN',
      { apiAllowedPrincipalArns: ['123456789012'] },
      'apiAllowedPrincipalArns',
      /role, user or account-root ARNs/,
    ],
    [
      'a list that is neither JSON nor a string',
      { subnetIds: 42, vpcId: 'vpc-0123456789abcdef0' },
      'subnetIds',
      /list of strings/,
    ],
    ['a broken JSON list', { allowedDatabricksHosts: '["a"' }, 'allowedDatabricksHosts', /JSON array/],
    [
      'a host with a path',
      { allowedDatabricksHosts: 'dbc-1.cloud.databricks.com/x' },
      'allowedDatabricksHosts',
      /workspace hosts/,
    ],
    [
      'a default instance outside the allowlist',
      { allowedDatabricksHosts: 'dbc-1.cloud.databricks.com', databricksInstance: 'dbc-2.cloud.databricks.com' },
      'databricksInstance',
      /must be one of allowedDatabricksHosts/,
    ],
    [
      'a wildcard default instance',
      { databricksInstance: '*.cloud.databricks.com' },
      'databricksInstance',
      /workspace host/,
    ],
    ['a CA too large for the environment', { eksClusterName: 'c', eksCaData: 'A'.repeat(2801) }, 'eksCaData', /4 KB/],
    ['a maxConcurrency Lambda rejects', { pollMaxConcurrency: 1 }, 'pollMaxConcurrency', /integer from 2 to 1000/],
    ['a non-http local endpoint', { localAwsEndpointUrl: 'localstack:4566' }, 'localAwsEndpointUrl', /http\(s\) URL/],
    [
      'an unknown namespace secret source',
      { namespaceSecretSource: 'vault' },
      'namespaceSecretSource',
      /one of secrets-manager, kubernetes/,
    ],
    [
      'Kubernetes secrets without a cluster',
      { namespaceSecretSource: 'kubernetes' },
      'eksClusterName',
      /must be set when namespaceSecretSource is kubernetes/,
    ],
    [
      'an OAuth secret name Kubernetes rejects',
      { oauthSecretName: 'Databricks_OAuth' },
      'oauthSecretName',
      /secret name/,
    ],
    ['a client id with spaces', { databricksClientId: 'my client' }, 'databricksClientId', /\(client\) id/],
    [
      'a bad client secret ARN',
      { databricksClientSecretSecretId: 'arn:aws:s3:::bucket' },
      'databricksClientSecretSecretId',
      /secret name or ARN/,
    ],
    [
      'a client secret name with spaces',
      { databricksClientSecretSecretId: 'client secret' },
      'databricksClientSecretSecretId',
      /secret name or ARN/,
    ],
    ['an over-long audience', { oidcAudience: 'a'.repeat(1001) }, 'oidcAudience', /at most 1000/],
    [
      'an unknown subject token source',
      { oidcSubjectTokenSource: 'env' },
      'oidcSubjectTokenSource',
      /one of auto, file, sts/,
    ],
    [
      'subject token source sts without the STS grant',
      { oidcSubjectTokenSource: 'sts' },
      'oidcModel1Sts',
      /must be true when oidcSubjectTokenSource is sts/,
    ],
    [
      'subject token source file with the STS grant',
      { oidcModel1Sts: true, oidcAudience: 'databricks', oidcSubjectTokenSource: 'file' },
      'oidcSubjectTokenSource',
      /sts or auto when oidcModel1Sts/,
    ],
    [
      'an STS duration STS rejects',
      { oidcModel1Sts: true, oidcAudience: 'databricks', oidcStsDurationSeconds: 30 },
      'oidcStsDurationSeconds',
      /integer from 60 to 3600/,
    ],
    [
      'an STS duration without the STS grant',
      { oidcStsDurationSeconds: 600 },
      'oidcModel1Sts',
      /must be true when oidcStsDurationSeconds is set/,
    ],
    [
      'a ServiceAccount token lifetime below TokenRequest minimum',
      { eksClusterName: 'c', saTokenExpirationSeconds: 300 },
      'saTokenExpirationSeconds',
      /integer from 600 to 86400/,
    ],
    [
      'a ServiceAccount token lifetime without a cluster',
      { saTokenExpirationSeconds: 3600 },
      'eksClusterName',
      /must be set when saTokenExpirationSeconds is/,
    ],
    ['a secret cache beyond an hour', { secretCacheSeconds: 3601 }, 'secretCacheSeconds', /integer from 0 to 3600/],
    [
      'a fractional discovery cache',
      { eksClusterName: 'c', namespaceDiscoveryCacheSeconds: '1.5' },
      'namespaceDiscoveryCacheSeconds',
      /integer from 0 to 3600/,
    ],
    [
      'a discovery cache without a cluster',
      { namespaceDiscoveryCacheSeconds: 60 },
      'eksClusterName',
      /must be set when namespaceDiscoveryCacheSeconds is/,
    ],
  ])('rejects %s, naming the context key', (_name, context, key, problem) => {
    // Act
    const error = errorFor(context);

    // Assess
    expect(error.key).toBe(key);
    expect(error.message).toContain(`CDK context '${key}'`);
    expect(error.message).toMatch(problem);
    expect(error.message).toContain(`-c ${key}=`);
  });

  it('reads the context of a CDK app', () => {
    // Prepare
    const app = new App({ context: { ...SAFE_CONTEXT, maxReceiveCount: '9', removalPolicy: 'destroy' } });

    // Act
    const config = parseStackConfig((key) => app.node.tryGetContext(key));

    // Assess
    expect(config).toMatchObject({ maxReceiveCount: 9, removalPolicy: 'destroy' });
  });
});

describe('Function: secretNamePrefix()', () => {
  it.each([
    ['flyte/{namespace}/{name}', 'flyte/'],
    ['prod/flyte-{namespace}-{name}', 'prod/flyte-'],
    ['flyte/{name}/{namespace}', 'flyte/'],
  ])('scopes %s to %s', (template, prefix) => {
    // Assess
    expect(secretNamePrefix(template)).toBe(prefix);
  });
});

describe('Function: parseStackName()', () => {
  it('defaults the stack name and validates an override', () => {
    // Assess
    expect(parseStackName(() => undefined)).toBe(DEFAULT_STACK_NAME);
    expect(parseStackName((key) => (key === 'stackName' ? 'FlyteDatabricks-dev' : undefined))).toBe(
      'FlyteDatabricks-dev',
    );
    expect(() => parseStackName((key) => (key === 'stackName' ? 'dev_stack' : undefined))).toThrow(
      /CDK context 'stackName'/,
    );
  });
});

describe('Function: parseStackConfig() fails closed', () => {
  const CALLERS = SAFE_CONTEXT.callerNamespaces;
  const HOSTS = SAFE_CONTEXT.allowedDatabricksHosts;

  it('refuses a context that says neither who may use which namespace nor which workspaces, naming both and their opt-outs', () => {
    // Act
    const error = thrown(() => parseOnly({}));

    // Assess
    expect(error.keys).toEqual(['callerNamespaces', 'allowedDatabricksHosts']);
    expect(error.message).toBe(
      'CDK context is not safe to deploy: set callerNamespaces (who may use which namespace; or ' +
        'insecureAnyCallerAnyNamespace=true for a single-tenant stack) and allowedDatabricksHosts (which Databricks ' +
        'workspaces jobs may use and credentials may be sent to; or insecureAnyDatabricksHost=true to let jobs name ' +
        'any https workspace). Set them in a context file (cdk deploy -c contextFile=<file>; ' +
        'infra/example.context.json is an example), in cdk.json "context", or with cdk deploy -c <key>=<value>; see ' +
        'infra/README.md',
    );
  });

  it.each<[string, Record<string, unknown>, ContextKey, ContextKey]>([
    ['only callerNamespaces', { callerNamespaces: CALLERS }, 'allowedDatabricksHosts', 'insecureAnyDatabricksHost'],
    [
      'only allowedDatabricksHosts',
      { allowedDatabricksHosts: HOSTS },
      'callerNamespaces',
      'insecureAnyCallerAnyNamespace',
    ],
    [
      'an opt-out of false',
      { callerNamespaces: CALLERS, insecureAnyDatabricksHost: 'false' },
      'allowedDatabricksHosts',
      'insecureAnyDatabricksHost',
    ],
    [
      'an empty host list',
      { callerNamespaces: CALLERS, allowedDatabricksHosts: [] },
      'allowedDatabricksHosts',
      'insecureAnyDatabricksHost',
    ],
  ])('with %s, names the other key and its opt-out alone', (_name, context, key, optOut) => {
    // Act
    const error = thrown(() => parseOnly(context));

    // Assess
    expect(error.keys).toEqual([key]);
    expect(error.message).toMatch(/^CDK context is not safe to deploy: set /);
    expect(error.message).toContain(`set ${key} (`);
    expect(error.message).toContain(`${optOut}=true`);
    expect(error.message).toContain('Set it in a context file');
    const other = key === 'callerNamespaces' ? 'allowedDatabricksHosts' : 'callerNamespaces';
    expect(error.message).not.toContain(other);
  });

  it('accepts the explicit opt-outs, -c strings and JSON alike, and either one beside the other key', () => {
    // Act
    const optedOut = parseOnly({ insecureAnyCallerAnyNamespace: 'true', insecureAnyDatabricksHost: true });
    const mixed = parseOnly({ callerNamespaces: CALLERS, insecureAnyDatabricksHost: 'true' });
    const other = parseOnly({ insecureAnyCallerAnyNamespace: true, allowedDatabricksHosts: HOSTS });

    // Assess
    expect(optedOut).toMatchObject({
      insecureAnyCallerAnyNamespace: true,
      insecureAnyDatabricksHost: true,
      callerNamespaces: undefined,
      allowedDatabricksHosts: [],
    });
    expect(mixed).toMatchObject({ insecureAnyCallerAnyNamespace: false, insecureAnyDatabricksHost: true });
    expect(other).toMatchObject({ insecureAnyCallerAnyNamespace: true, allowedDatabricksHosts: [HOSTS] });
  });

  it.each<[Record<string, unknown>, ContextKey, string]>([
    [{ insecureAnyCallerAnyNamespace: true }, 'insecureAnyCallerAnyNamespace', 'callerNamespaces'],
    [{ insecureAnyDatabricksHost: 'true' }, 'insecureAnyDatabricksHost', 'allowedDatabricksHosts'],
  ])('refuses a key set together with its opt-out (%j)', (optOut, key, setting) => {
    // Act
    const error = errorFor(optOut);

    // Assess
    expect(error.key).toBe(key);
    expect(error.message).toContain(`must not be true when ${setting} is set`);
  });
});

describe('Function: parseStackConfig() workspaces', () => {
  it('keeps exact hosts on their port, so host:8443 does not allow host on 443', () => {
    // Act
    const config = parse({ allowedDatabricksHosts: 'dbc-1.cloud.databricks.com:8443, dbc-2.cloud.databricks.com:443' });

    // Assess
    expect(config.allowedDatabricksHosts).toEqual(['dbc-1.cloud.databricks.com:8443', 'dbc-2.cloud.databricks.com']);
    expect(
      errorFor({
        allowedDatabricksHosts: 'dbc-1.cloud.databricks.com:8443',
        databricksInstance: 'dbc-1.cloud.databricks.com',
      }).key,
    ).toBe('databricksInstance');
  });

  it.each(['*.co.uk', '*.github.io', '*.com', '*.localhost'])('refuses the wildcard %s', (wildcard) => {
    // Act
    const error = errorFor({ allowedDatabricksHosts: ['dbc-1.cloud.databricks.com', wildcard] });

    // Assess
    expect(error.key).toBe('allowedDatabricksHosts');
    expect(error.message).toMatch(/public suffix|at least two labels/);
  });

  it.each([
    ['http to a host that is not loopback', 'http://dbc-1.cloud.databricks.com', /loopback/],
    ['user info', 'admin@dbc-1.cloud.databricks.com', /user info/],
    ['a query', 'dbc-1.cloud.databricks.com?o=1', /without a path, query/],
  ])('refuses a host with %s', (_name, host, problem) => {
    // Assess
    expect(errorFor({ allowedDatabricksHosts: host }).message).toMatch(problem);
  });

  it('reads namespaceWorkspaces as JSON or an object, hosts reduced to what the functions compare', () => {
    // Act
    const fromCli = parse({
      allowedDatabricksHosts: '*.cloud.databricks.com',
      namespaceWorkspaces:
        '{"flytesnacks-development": ["https://DBC-1.cloud.databricks.com/", "dbc-1.cloud.databricks.com:443"], "*": ["dbc-2.cloud.databricks.com"]}',
    });
    const fromJson = parse({
      allowedDatabricksHosts: ['*.cloud.databricks.com'],
      namespaceWorkspaces: {
        'flytesnacks-development': ['dbc-1.cloud.databricks.com'],
        '*': ['dbc-2.cloud.databricks.com'],
      },
    });

    // Assess
    expect(fromCli.namespaceWorkspaces).toEqual({
      'flytesnacks-development': ['dbc-1.cloud.databricks.com'],
      '*': ['dbc-2.cloud.databricks.com'],
    });
    expect(fromCli).toEqual(fromJson);
  });

  it('lets namespaceWorkspaces name any exact host when insecureAnyDatabricksHost opts out of the allowlist', () => {
    // Act
    const config = parseOnly({
      callerNamespaces: SAFE_CONTEXT.callerNamespaces,
      insecureAnyDatabricksHost: true,
      namespaceWorkspaces: { 'team-a': ['adb-1.azuredatabricks.net'] },
    });

    // Assess
    expect(config.namespaceWorkspaces).toEqual({ 'team-a': ['adb-1.azuredatabricks.net'] });
  });

  it.each<[string, unknown, RegExp]>([
    [
      'a host outside allowedDatabricksHosts',
      { 'team-a': ['dbc-2.cloud.databricks.com'] },
      /each host of "team-a" must be one of allowedDatabricksHosts \(dbc-1\.cloud\.databricks\.com\)/,
    ],
    ['a wildcard', { 'team-a': ['*.cloud.databricks.com'] }, /host 1 is a wildcard; name exact workspace hosts/],
    [
      'a namespace that is not one',
      { Team_A: ['dbc-1.cloud.databricks.com'] },
      /neither "\*" nor a Kubernetes namespace/,
    ],
    ['an empty list', { 'team-a': [] }, /non-empty list/],
    ['a host that is not a string', { 'team-a': [443] }, /must be a list of exact workspace hosts/],
    ['a list', '["dbc-1.cloud.databricks.com"]', /must be a JSON object/],
    ['broken JSON', '{"team-a": [', /not valid JSON/],
  ])('refuses namespaceWorkspaces with %s', (_name, value, problem) => {
    // Act
    const error = errorFor({ namespaceWorkspaces: value });

    // Assess
    expect(error.key).toBe('namespaceWorkspaces');
    expect(error.message).toMatch(problem);
  });

  it('reads namespaceOidcClientIds and refuses "*" (databricksClientId is the default) or a malformed id', () => {
    // Act
    const config = parse({ namespaceOidcClientIds: '{"team-a": " 6f1c2d3e-0000-4000-8000-00000000abcd "}' });

    // Assess
    expect(config.namespaceOidcClientIds).toEqual({ 'team-a': '6f1c2d3e-0000-4000-8000-00000000abcd' });
    expect(errorFor({ namespaceOidcClientIds: { '*': 'abc' } }).message).toMatch(/databricksClientId/);
    expect(errorFor({ namespaceOidcClientIds: { 'team-a': 'has space' } }).message).toMatch(/\(client\) id/);
  });

  it('reads oidcTokenFileDirs as absolute canonical directories, never /', () => {
    // Act
    const config = parse({ oidcTokenFileDirs: '/var/run/secrets/databricks/, /var/run/secrets/eks.amazonaws.com' });

    // Assess
    expect(config.oidcTokenFileDirs).toEqual(['/var/run/secrets/databricks', '/var/run/secrets/eks.amazonaws.com']);
    expect(errorFor({ oidcTokenFileDirs: 'var/run' }).message).toMatch(/absolute/);
    expect(errorFor({ oidcTokenFileDirs: '/var/run/../etc' }).message).toMatch(/\.\./);
    expect(errorFor({ oidcTokenFileDirs: '/var//run' }).message).toMatch(/\/\//);
    expect(errorFor({ oidcTokenFileDirs: ['/'] }).message).toMatch(/any file/);
  });
});

describe('Function: parseStackConfig() callers and secrets', () => {
  it('takes the callerNamespaces keys that are IAM unique ids as direct producers', () => {
    // Act
    const config = parse({
      callerNamespaces: {
        'arn:aws:sts::123456789012:assumed-role/flyte-task-role/*': ['team-a'],
        AROADBQP57FF2AEXAMPLE: ['team-b'],
        AIDAJQABLZS4A3QDU576Q: ['*'],
        'arn:aws:iam::123456789012:role/AROAISNOTANID': ['team-c'],
      },
    });

    // Assess
    expect(config.callerPrincipalIds).toEqual(['AROADBQP57FF2AEXAMPLE', 'AIDAJQABLZS4A3QDU576Q']);
  });

  it('refuses a secret name template under which two namespaces could share a secret, explaining the collision', () => {
    // Act
    const error = errorFor({ secretNameTemplate: 'flyte-{namespace}-{name}' });

    // Assess
    expect(error.key).toBe('secretNameTemplate');
    expect(error.message).toContain('namespace "a" with secret "b-c" and namespace "a-b" with secret "c"');
    expect(parse({ secretNameTemplate: 'flyte/{name}/{namespace}' }).secretNameTemplate).toBe(
      'flyte/{name}/{namespace}',
    );
  });
});

describe('Function: parseStackConfig() and the functions (shared/config.ts)', () => {
  const env = (variables: Record<string, string>) =>
    parseConfig({
      JOBS_TABLE_NAME: 'jobs',
      SUBMIT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/submit',
      POLL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/poll',
      CANCEL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/cancel',
      ...variables,
    });

  it("defaults what it always passes on to the functions' own defaults, and leaves the rest to them", () => {
    // Act
    const stack = parse({});
    const functions = env({});

    // Assess
    expect({
      POLL_INTERVAL_MIN_SECONDS: stack.pollIntervalMinSeconds,
      POLL_INTERVAL_MAX_SECONDS: stack.pollIntervalMaxSeconds,
      POLL_INTERVAL_FRACTION: stack.pollIntervalFraction,
      WORKSPACE_API_BUDGET_RPS: stack.workspaceApiBudgetRps,
      MAX_RECEIVE_COUNT: stack.maxReceiveCount,
      JOB_RETENTION_DAYS: stack.jobRetentionDays,
      DATABRICKS_API_VERSION: stack.databricksApiVersion,
      SECRET_NAME_TEMPLATE: stack.secretNameTemplate,
    }).toEqual({
      POLL_INTERVAL_MIN_SECONDS: functions.POLL_INTERVAL_MIN_SECONDS,
      POLL_INTERVAL_MAX_SECONDS: functions.POLL_INTERVAL_MAX_SECONDS,
      POLL_INTERVAL_FRACTION: functions.POLL_INTERVAL_FRACTION,
      WORKSPACE_API_BUDGET_RPS: functions.WORKSPACE_API_BUDGET_RPS,
      MAX_RECEIVE_COUNT: functions.MAX_RECEIVE_COUNT,
      JOB_RETENTION_DAYS: functions.JOB_RETENTION_DAYS,
      DATABRICKS_API_VERSION: functions.DATABRICKS_API_VERSION,
      SECRET_NAME_TEMPLATE: functions.SECRET_NAME_TEMPLATE,
    });
    // With STS the stack sets the duration (its grant's cap) to the functions' default.
    expect(parse({ oidcModel1Sts: true, oidcAudience: 'databricks' }).oidcStsDurationSeconds).toBe(
      functions.OIDC_STS_DURATION_SECONDS,
    );
  });

  it.each<[ContextKey, string, unknown]>([
    ['namespaceWorkspaces', 'NAMESPACE_WORKSPACES', { Team_A: ['dbc-1.cloud.databricks.com'] }],
    ['namespaceWorkspaces', 'NAMESPACE_WORKSPACES', { 'team-a': ['*.cloud.databricks.com'] }],
    ['namespaceWorkspaces', 'NAMESPACE_WORKSPACES', { 'team-a': ['https://dbc-1.cloud.databricks.com/x'] }],
    ['namespaceWorkspaces', 'NAMESPACE_WORKSPACES', { 'team-a': 'dbc-1.cloud.databricks.com' }],
    ['namespaceOidcClientIds', 'NAMESPACE_OIDC_CLIENT_IDS', { 'team-a': 'has space' }],
    ['namespaceOidcClientIds', 'NAMESPACE_OIDC_CLIENT_IDS', { 'team-a': 42 }],
    ['callerNamespaces', 'CALLER_NAMESPACES', { 'arn:aws:iam::123456789012:role/*x': ['team-a'] }],
    ['callerNamespaces', 'CALLER_NAMESPACES', { 'arn:aws:iam::123456789012:role/a': 'team-a' }],
  ])('refuses %s as the functions refuse %s, with the same problem: %j', (key, variable, value) => {
    // Act
    const error = errorFor({ [key]: value });
    const attempt = () => env({ [variable]: JSON.stringify(value) });

    // Assess
    expect(error.key).toBe(key);
    expect(attempt).toThrow(ConfigError);
    const problem = error.message.slice(`CDK context '${key}' `.length, error.message.indexOf('. Set it in'));
    expect(attempt).toThrow(`${variable}: ${problem}`);
  });
});

describe('Function: withContextFile()', () => {
  let dir: string;
  const file = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    return name;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'context-file-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('adds the file of context values (relative to the project root), -c values winning', () => {
    // Prepare
    const name = file('prod.json', JSON.stringify({ ...SAFE_CONTEXT, maxReceiveCount: 7, logLevel: 'DEBUG' }));
    const context: Record<string, unknown> = { contextFile: name, logLevel: 'WARN' };

    // Act
    const get = withContextFile((key) => context[key], dir);

    // Assess
    expect(get('maxReceiveCount')).toBe(7);
    expect(get('logLevel')).toBe('WARN');
    expect(get('alarmEmail')).toBeUndefined();
  });

  it('is applied by parseStackConfig and parseStackName, from the working directory', () => {
    // Act
    const config = parseOnly({ contextFile: 'infra/example.context.json' });

    // Assess
    expect(config.callerPrincipalIds).toEqual(['AROADBQP57FF2AEXAMPLE']);
    expect(config.allowedDatabricksHosts).toEqual(['dbc-1234abcd-5678.cloud.databricks.com']);
    expect(config.namespaceWorkspaces).toEqual({ '*': ['dbc-1234abcd-5678.cloud.databricks.com'] });
    expect(parseStackName((key) => (key === 'contextFile' ? 'infra/example.context.json' : undefined))).toBe(
      DEFAULT_STACK_NAME,
    );
  });

  it.each<[string, () => string, RegExp]>([
    ['a file that does not exist', () => 'missing.json', /cannot be read: .*missing\.json \(ENOENT\)/],
    ['a file that is not JSON', () => file('broken.json', '{"callerNamespaces": '), /not valid JSON/],
    ['a file that is not an object', () => file('list.json', '["a"]'), /does not hold a JSON object/],
    [
      'a file with a key the stack does not know',
      () => file('typo.json', '{"allowedDatabricksHost": ["dbc-1.cloud.databricks.com"]}'),
      /not context keys of this stack: "allowedDatabricksHost"/,
    ],
    ['a file naming another file', () => file('nested.json', '{"contextFile": "x.json"}'), /"contextFile"/],
  ])('refuses %s, naming contextFile', (_name, name, problem) => {
    // Act
    const error = thrown(() => withContextFile((key) => (key === 'contextFile' ? name() : undefined), dir));

    // Assess
    expect(error.key).toBe('contextFile');
    expect(error.message).toMatch(problem);
  });
});
