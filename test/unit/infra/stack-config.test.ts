import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import {
  type ContextKey,
  DEFAULT_STACK_NAME,
  parseStackConfig,
  parseStackName,
  StackConfigError,
  secretNamePrefix,
} from '../../../infra/stack-config.js';

const parse = (context: Record<string, unknown>) => parseStackConfig((key) => context[key]);

/** The error parsing `context` throws, which must be a StackConfigError. */
function errorFor(context: Record<string, unknown>): StackConfigError {
  try {
    parse(context);
  } catch (error) {
    if (error instanceof StackConfigError) return error;
    throw error;
  }
  throw new Error('expected a StackConfigError');
}

describe('Function: parseStackConfig()', () => {
  it('applies the documented defaults when no context is set', () => {
    // Act
    const config = parse({});

    // Assess
    expect(config).toEqual({
      allowedDatabricksHosts: [],
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
    const app = new App({ context: { maxReceiveCount: '9', removalPolicy: 'destroy' } });

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
    expect(parseStackName(() => 'FlyteDatabricks-dev')).toBe('FlyteDatabricks-dev');
    expect(() => parseStackName(() => 'dev_stack')).toThrow(/CDK context 'stackName'/);
  });
});
