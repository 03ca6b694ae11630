import { Token } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import type { FunctionName } from '../../../infra/bundling/function-bundle.js';
import {
  assertEnvironmentFits,
  environmentSize,
  functionEnvironment,
  LAMBDA_ENVIRONMENT_LIMIT_BYTES,
} from '../../../infra/function-environment.js';
import { parseStackConfig, type StackConfig, StackConfigError } from '../../../infra/stack-config.js';
import { SAFE_CONTEXT } from './synth-stack.js';

const NAMES = {
  tableName: 'jobs',
  budgetTableName: 'budget',
  submitQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/submit',
  pollQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/poll',
  cancelQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/cancel',
};

const configOf = (context: Record<string, unknown>) =>
  parseStackConfig((key) => ({ ...SAFE_CONTEXT, ...context })[key]);

const FUNCTIONS: readonly FunctionName[] = ['api', 'submit', 'poll', 'cancel', 'sweep'];

/** The functions whose environment holds `variable`. */
const holders = (config: StackConfig, variable: string): FunctionName[] =>
  FUNCTIONS.filter((fn) => variable in functionEnvironment(config, NAMES, fn));

describe('Function: functionEnvironment()', () => {
  it('gives the auth settings to the Databricks callers only, and shares everything else', () => {
    // Prepare
    const config = configOf({
      databricksAuthType: 'pat',
      fallbackTokenSecretId: 'flyte/connector/databricks-token',
      oidcAudience: 'databricks',
      databricksInstance: 'dbc-1.cloud.databricks.com',
    });

    // Act
    const api = functionEnvironment(config, NAMES, 'api');
    const cancel = functionEnvironment(config, NAMES, 'cancel');

    // Assess
    expect(api.FLYTE_DATABRICKS_INSTANCE).toBe('dbc-1.cloud.databricks.com');
    // The API function alone of the two checks callers.
    const { CALLER_NAMESPACES, ...shared } = api;
    expect(CALLER_NAMESPACES).toBeDefined();
    expect(cancel).not.toHaveProperty('CALLER_NAMESPACES');
    expect(cancel).toMatchObject(shared);
    expect(
      Object.keys(cancel)
        .filter((name) => !(name in shared))
        .sort(),
    ).toEqual([
      'FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID',
      'FLYTE_DATABRICKS_AUTH_TYPE',
      'FLYTE_DATABRICKS_OIDC_AUDIENCE',
      'METRICS_WORKSPACE_DIMENSION',
      'SECRET_NAME_TEMPLATE',
      'WORKSPACE_BUDGET_TABLE_NAME',
    ]);
  });

  it('passes the audience without STS (Model 2 default audience) and never a plaintext secret', () => {
    // Act
    const env = functionEnvironment(configOf({ oidcAudience: 'sts.amazonaws.com' }), NAMES, 'poll');

    // Assess
    expect(env.FLYTE_DATABRICKS_OIDC_AUDIENCE).toBe('sts.amazonaws.com');
    expect(env).not.toHaveProperty('OIDC_SUBJECT_TOKEN_SOURCE');
    expect(env).not.toHaveProperty('OIDC_STS_DURATION_SECONDS');
    expect(env).not.toHaveProperty('DATABRICKS_CLIENT_SECRET');
    expect(env).not.toHaveProperty('FLYTE_DATABRICKS_ACCESS_TOKEN');
  });

  it('gives each function the caller, workspace and token-file settings it enforces, and the sweeper none', () => {
    // Prepare
    const config = configOf({
      callerNamespaces: { AROADBQP57FF2AEXAMPLE: ['team-a'] },
      allowedDatabricksHosts: '*.cloud.databricks.com',
      namespaceWorkspaces: { 'team-a': ['dbc-1.cloud.databricks.com'] },
      namespaceOidcClientIds: { 'team-a': '6f1c2d3e-0000-4000-8000-00000000abcd' },
      oidcTokenFileDirs: ['/var/run/secrets/databricks'],
    });

    // Assess
    expect(holders(config, 'CALLER_NAMESPACES')).toEqual(['api', 'submit']);
    for (const variable of ['ALLOWED_DATABRICKS_HOSTS', 'NAMESPACE_WORKSPACES', 'OIDC_TOKEN_FILE_DIRS']) {
      expect(holders(config, variable), variable).toEqual(['api', 'submit', 'poll', 'cancel']);
    }
    expect(holders(config, 'NAMESPACE_OIDC_CLIENT_IDS')).toEqual(['submit', 'poll', 'cancel']);
    expect(holders(config, 'INSECURE_ANY_CALLER_ANY_NAMESPACE')).toEqual([]);
    expect(holders(config, 'INSECURE_ANY_DATABRICKS_HOST')).toEqual([]);
    expect(functionEnvironment(config, NAMES, 'submit')).toMatchObject({
      CALLER_NAMESPACES: '{"AROADBQP57FF2AEXAMPLE":["team-a"]}',
      ALLOWED_DATABRICKS_HOSTS: '*.cloud.databricks.com',
      NAMESPACE_WORKSPACES: '{"team-a":["dbc-1.cloud.databricks.com"]}',
      NAMESPACE_OIDC_CLIENT_IDS: '{"team-a":"6f1c2d3e-0000-4000-8000-00000000abcd"}',
      OIDC_TOKEN_FILE_DIRS: '/var/run/secrets/databricks',
    });
  });

  it('passes the opt-outs, where set, to the functions that would otherwise enforce them', () => {
    // Prepare
    const config = parseStackConfig((key) => (key.startsWith('insecure') ? 'true' : undefined));

    // Assess
    expect(holders(config, 'INSECURE_ANY_CALLER_ANY_NAMESPACE')).toEqual(['api', 'submit']);
    expect(holders(config, 'INSECURE_ANY_DATABRICKS_HOST')).toEqual(['api', 'submit', 'poll', 'cancel']);
    expect(holders(config, 'CALLER_NAMESPACES')).toEqual([]);
    expect(holders(config, 'ALLOWED_DATABRICKS_HOSTS')).toEqual([]);
    expect(functionEnvironment(config, NAMES, 'api').INSECURE_ANY_CALLER_ANY_NAMESPACE).toBe('true');
  });
});

describe('Function: environmentSize()', () => {
  it('measures the variables as Lambda does, a JSON object in UTF-8 bytes', () => {
    // Assess
    expect(environmentSize({ A: 'b' })).toBe('{"A":"b"}'.length);
    expect(environmentSize({ A: 'é' })).toBe('{"A":"é"}'.length + 1);
  });

  it('counts a deploy-time value at its upper bound', () => {
    // Prepare
    const token = Token.asString({ Ref: 'Table' });

    // Assess
    expect(environmentSize({ JOBS_TABLE_NAME: token })).toBe('{"JOBS_TABLE_NAME":""}'.length + 255);
    expect(environmentSize({ SUBMIT_QUEUE_URL: token })).toBe('{"SUBMIT_QUEUE_URL":""}'.length + 150);
    expect(environmentSize({ OTHER: token })).toBe('{"OTHER":""}'.length + 255);
  });
});

describe('Function: assertEnvironmentFits()', () => {
  const padded = (name: string, bytes: number) => ({ [name]: 'x'.repeat(bytes - `{"${name}":""}`.length) });

  it('accepts exactly 4 KB and refuses one byte more', () => {
    // Assess
    expect(() => assertEnvironmentFits('PollFunction', padded('A', LAMBDA_ENVIRONMENT_LIMIT_BYTES))).not.toThrow();
    expect(() => assertEnvironmentFits('PollFunction', padded('A', LAMBDA_ENVIRONMENT_LIMIT_BYTES + 1))).toThrow(
      "PollFunction's environment would be up to 4097 bytes, over Lambda's 4 KB (4096-byte) limit; the largest " +
        'variable is A (4089 bytes)',
    );
  });

  it('names eksCaData whenever the CA is in an environment that is too large', () => {
    // Prepare
    const env = { ...padded('ALLOWED_DATABRICKS_HOSTS', 3000), KUBERNETES_CA_DATA: 'A'.repeat(1200) };

    // Act & Assess
    expect(() => assertEnvironmentFits('SubmitFunction', env)).toThrow(StackConfigError);
    expect(() => assertEnvironmentFits('SubmitFunction', env)).toThrow(
      /^CDK context 'eksCaData' is too large \(1200 bytes\): SubmitFunction's environment would be up to \d+ bytes/,
    );
  });

  it('names the context key of the largest variable otherwise', () => {
    // Prepare
    const env = { ...padded('DATABRICKS_CLIENT_ID', 3000), ...padded('SECRET_NAME_TEMPLATE', 1500) };

    // Act & Assess
    expect(() => assertEnvironmentFits('CancelFunction', env)).toThrow(/^CDK context 'databricksClientId' is too/);
  });

  it.each([
    ['CALLER_NAMESPACES', 'callerNamespaces'],
    ['NAMESPACE_WORKSPACES', 'namespaceWorkspaces'],
    ['NAMESPACE_OIDC_CLIENT_IDS', 'namespaceOidcClientIds'],
    ['OIDC_TOKEN_FILE_DIRS', 'oidcTokenFileDirs'],
  ])('names the context key behind %s when it is the largest', (variable, key) => {
    // Prepare
    const env = { ...padded(variable, 3000), ...padded('ALLOWED_DATABRICKS_HOSTS', 1500) };

    // Act & Assess
    expect(() => assertEnvironmentFits('SubmitFunction', env)).toThrow(new RegExp(`^CDK context '${key}' is too`));
  });
});

describe('Function: functionEnvironment() poll settings', () => {
  it('passes the poll schedule and the workspace budget from context', () => {
    const env = functionEnvironment(configOf({ pollIntervalFraction: 0.25, workspaceApiBudgetRps: 50 }), NAMES, 'poll');
    expect(env).toMatchObject({
      POLL_INTERVAL_MIN_SECONDS: '10',
      POLL_INTERVAL_MAX_SECONDS: '180',
      POLL_INTERVAL_FRACTION: '0.25',
      WORKSPACE_API_BUDGET_RPS: '50',
    });
  });
});

describe('Function: functionEnvironment() workspace circuit breaker', () => {
  it("passes the backoffs to the functions that call workspaces when set, else leaves them to the functions' defaults", () => {
    const set = configOf({ workspaceUnhealthyFirstBackoffSeconds: '5', workspaceUnhealthyMaxBackoffSeconds: 60 });
    expect(holders(set, 'WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS')).toEqual(['submit', 'poll', 'cancel']);
    expect(holders(set, 'WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS')).toEqual(['submit', 'poll', 'cancel']);
    expect(functionEnvironment(set, NAMES, 'poll')).toMatchObject({
      WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: '5',
      WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: '60',
    });
    const unset = configOf({});
    expect(holders(unset, 'WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS')).toEqual([]);
    expect(holders(unset, 'WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS')).toEqual([]);
  });
});

describe('Function: functionEnvironment() metrics and traces', () => {
  it('gives every function the metrics namespace and the tracer settings, and the callers the Workspace switch', () => {
    // Prepare
    const plain = configOf({});
    const switched = configOf({ tracing: 'false', metricsWorkspaceDimension: 'true' });

    // Assess
    for (const fn of FUNCTIONS) {
      expect(functionEnvironment(plain, NAMES, fn), fn).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'flyte-databricks-lambda',
        POWERTOOLS_METRICS_NAMESPACE: 'FlyteDatabricksLambda',
        POWERTOOLS_TRACE_ENABLED: 'true',
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
      });
      expect(functionEnvironment(switched, NAMES, fn).POWERTOOLS_TRACE_ENABLED, fn).toBe('false');
    }
    expect(holders(plain, 'METRICS_WORKSPACE_DIMENSION')).toEqual(['submit', 'poll', 'cancel']);
    expect(functionEnvironment(plain, NAMES, 'poll').METRICS_WORKSPACE_DIMENSION).toBe('false');
    expect(functionEnvironment(switched, NAMES, 'poll').METRICS_WORKSPACE_DIMENSION).toBe('true');
  });
});
