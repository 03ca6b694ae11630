/**
 * The stack as configuration shapes it: the optional auth grants, VPC placement, alarm notifications, the API's
 * principal allowlist, non-prod removal, and cdk-nag failing synth on a new finding. Bundling is skipped here;
 * stack.test.ts bundles the real functions.
 */
import { readFileSync } from 'node:fs';
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { StackConfigError } from '../../../infra/stack-config.js';
import {
  asArray,
  buildStack,
  type CfnResource,
  policyStatements,
  resourcesOf,
  SAFE_CONTEXT,
  type SynthesizedStack,
  synthStack,
} from './synth-stack.js';

const FULL_CONTEXT = {
  oidcModel1Sts: 'true',
  oidcAudience: 'databricks',
  eksClusterName: 'flyte-prod',
  eksApiEndpoint: 'https://ABCDEF0123456789.gr7.us-east-1.eks.amazonaws.com',
  eksCaData: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t',
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
  alarmEmail: 'ops@example.com',
  apiAllowedPrincipalArns: ['arn:aws:iam::123456789012:role/flyte-task', 'arn:aws:iam::210987654321:root'],
  callerNamespaces: { 'arn:aws:iam::123456789012:role/flyte-task': ['flytesnacks-development'] },
  fallbackTokenSecretId: 'flyte/connector/databricks-token',
  allowedDatabricksHosts: 'dbc-1.cloud.databricks.com,https://dbc-2.cloud.databricks.com/',
  databricksInstance: 'dbc-1.cloud.databricks.com',
  maxReceiveCount: 3,
  logLevel: 'DEBUG',
  logRetentionDays: 90,
  removalPolicy: 'destroy',
};

const CLIENT_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:flyte-connector/databricks-client';

/** Every auth setting at once, namespace secrets from Kubernetes: the Databricks callers' whole auth environment. */
const AUTH_CONTEXT = {
  databricksAuthType: 'oidc_federation',
  namespaceSecretSource: 'kubernetes',
  oauthSecretName: 'databricks-oauth-prod',
  databricksClientId: '6f1c2d3e-0000-4000-8000-00000000abcd',
  databricksClientSecretSecretId: CLIENT_SECRET_ARN,
  oidcModel1Sts: true,
  oidcAudience: 'https://accounts.cloud.databricks.com',
  oidcSubjectTokenSource: 'auto',
  oidcStsDurationSeconds: '900',
  eksClusterName: 'flyte-prod',
  saTokenExpirationSeconds: 7200,
  secretCacheSeconds: 30,
  namespaceDiscoveryCacheSeconds: '120',
};

/** What AUTH_CONTEXT must put in the Databricks callers' environment, and nothing of it in the API function's. */
const AUTH_ENVIRONMENT = {
  FLYTE_DATABRICKS_AUTH_TYPE: 'oidc_federation',
  NAMESPACE_SECRET_SOURCE: 'kubernetes',
  FLYTE_DATABRICKS_OAUTH_SECRET_NAME: 'databricks-oauth-prod',
  DATABRICKS_CLIENT_ID: '6f1c2d3e-0000-4000-8000-00000000abcd',
  DATABRICKS_CLIENT_SECRET_SECRET_ID: CLIENT_SECRET_ARN,
  FLYTE_DATABRICKS_OIDC_AUDIENCE: 'https://accounts.cloud.databricks.com',
  OIDC_SUBJECT_TOKEN_SOURCE: 'auto',
  OIDC_STS_DURATION_SECONDS: '900',
  EKS_CLUSTER_NAME: 'flyte-prod',
  KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS: '7200',
  SECRET_CACHE_SECONDS: '30',
  NAMESPACE_DISCOVERY_CACHE_SECONDS: '120',
};

const FUNCTIONS = ['ApiFunction', 'SubmitFunction', 'PollFunction', 'CancelFunction', 'SweepFunction'];
const CONSUMERS = ['SubmitFunction', 'PollFunction', 'CancelFunction'];

let plain: SynthesizedStack;
let full: SynthesizedStack;
let fullResources: Record<string, CfnResource>;
let auth: SynthesizedStack;
let authResources: Record<string, CfnResource>;

const variablesOf = (resources: Record<string, CfnResource>, fn: string): Record<string, string> =>
  resources[fn]?.Properties.Environment.Variables;

/** The GetSecretValue statements, by the function whose role holds them. */
function secretReads(synth: SynthesizedStack): Record<string, unknown[]> {
  const resources = resourcesOf(synth.template);
  const fnOfRole = Object.fromEntries(FUNCTIONS.map((fn) => [resources[fn]?.Properties.Role['Fn::GetAtt'][0], fn]));
  const reads: Record<string, unknown[]> = {};
  for (const statement of policyStatements(synth.template)) {
    if (!asArray(statement.Action).includes('secretsmanager:GetSecretValue')) continue;
    const fn = fnOfRole[resources[statement.policy]?.Properties.Roles[0].Ref] as string;
    reads[fn] = [...(reads[fn] ?? []), ...asArray(statement.Resource)];
  }
  return reads;
}

/** The error building the stack with `context` throws, which must be a StackConfigError. */
function buildError(context: Record<string, unknown>, options: { safeContext?: boolean } = {}): StackConfigError {
  try {
    buildStack(context, { nag: false, ...options });
  } catch (error) {
    if (error instanceof StackConfigError) return error;
    throw error;
  }
  throw new Error('expected a StackConfigError');
}

/** The functions whose role a policy statement with this action is attached to. */
function functionsGranted(synth: SynthesizedStack, action: string): string[] {
  const resources = resourcesOf(synth.template);
  const roles = policyStatements(synth.template)
    .filter((s) => asArray(s.Action).includes(action))
    .map((s) => resources[s.policy]?.Properties.Roles[0].Ref);
  return FUNCTIONS.filter((fn) => roles.includes(resources[fn]?.Properties.Role['Fn::GetAtt'][0])).sort();
}

beforeAll(() => {
  plain = synthStack();
  full = synthStack(FULL_CONTEXT);
  fullResources = resourcesOf(full.template);
  auth = synthStack(AUTH_CONTEXT);
  authResources = resourcesOf(auth.template);
}, 60_000);

describe('Stack: FlyteDatabricksStack (configured)', () => {
  describe('caller namespaces', () => {
    it('passes CALLER_NAMESPACES to the API and submit functions only, as the JSON they parse', () => {
      const variables = (id: string) => fullResources[id]?.Properties.Environment.Variables ?? {};
      for (const id of ['ApiFunction', 'SubmitFunction']) {
        expect(JSON.parse(variables(id).CALLER_NAMESPACES), id).toEqual(FULL_CONTEXT.callerNamespaces);
      }
      for (const id of ['PollFunction', 'CancelFunction', 'SweepFunction']) {
        expect(variables(id).CALLER_NAMESPACES, id).toBeUndefined();
      }
    });

    it('refuses a map the API could not parse, naming the key', () => {
      expect(buildError({ callerNamespaces: '{"arn:aws:iam::1:role/*x": ["ns"]}' }).key).toBe('callerNamespaces');
      expect(buildError({ callerNamespaces: { 'arn:aws:iam::1:role/a': 'ns' } }).message).toMatch(/callerNamespaces/);
    });
  });

  describe('list', () => {
    it('lets only the API function query the namespace index, the sweeper the liveness index, and poll the workspace index', () => {
      expect(functionsGranted(plain, 'dynamodb:Query')).toEqual(['ApiFunction', 'PollFunction', 'SweepFunction']);
      const resources = resourcesOf(plain.template);
      const indexOf = (fn: string) =>
        policyStatements(plain.template)
          .filter((s) => asArray(s.Action).includes('dynamodb:Query'))
          .filter(
            (s) => resources[s.policy]?.Properties.Roles[0].Ref === resources[fn]?.Properties.Role['Fn::GetAtt'][0],
          )
          .map((s) => JSON.stringify(s.Resource));
      expect(indexOf('ApiFunction')).toEqual([expect.stringMatching(/\/index\/byNamespace"/)]);
      expect(indexOf('SweepFunction')).toEqual([expect.stringMatching(/\/index\/byLiveness"/)]);
      expect(indexOf('PollFunction')).toEqual([expect.stringMatching(/\/index\/liveByWorkspace"/)]);
      const statements = policyStatements(plain.template).filter((s) => asArray(s.Action).includes('dynamodb:Query'));
      expect(JSON.stringify(statements.map((s) => s.Resource))).not.toMatch(/index\/\*/);
    });
  });

  describe('optional auth grants', () => {
    it('grant neither STS GetWebIdentityToken nor EKS DescribeCluster unless configured', () => {
      // Assess
      expect(functionsGranted(plain, 'sts:GetWebIdentityToken')).toEqual([]);
      expect(functionsGranted(plain, 'eks:DescribeCluster')).toEqual([]);
    });

    it('grant sts:GetWebIdentityToken to the Databricks callers only, conditioned on the audience', () => {
      // Prepare
      const statements = policyStatements(full.template).filter((s) =>
        asArray(s.Action).includes('sts:GetWebIdentityToken'),
      );

      // Assess
      expect(functionsGranted(full, 'sts:GetWebIdentityToken')).toEqual([...CONSUMERS].sort());
      for (const statement of statements) {
        expect(statement.Condition).toEqual({
          'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': ['databricks'] },
          // No oidcStsDurationSeconds: the functions' default, passed explicitly so the two cannot drift apart.
          NumericLessThanEquals: { 'sts:DurationSeconds': 300 },
        });
        expect(asArray(statement.Action)).toEqual(['sts:GetWebIdentityToken']);
      }
    });

    it('needs oidcModel1Sts: an audience alone grants nothing', () => {
      // Act
      const { template } = synthStack({ oidcAudience: 'databricks' });

      // Assess
      expect(policyStatements(template).filter((s) => asArray(s.Action).includes('sts:GetWebIdentityToken'))).toEqual(
        [],
      );
    });

    it('grant eks:DescribeCluster on the configured cluster only', () => {
      // Prepare
      const statements = policyStatements(full.template).filter((s) =>
        asArray(s.Action).includes('eks:DescribeCluster'),
      );

      // Assess
      expect(functionsGranted(full, 'eks:DescribeCluster')).toEqual([...CONSUMERS].sort());
      for (const statement of statements) {
        const arn = JSON.stringify(statement.Resource);
        expect(arn).toContain(':eks:');
        expect(arn).toMatch(/:cluster\/flyte-prod"/);
      }
    });

    it('add the fallback token secret to GetSecretValue, with its random suffix and no wider', () => {
      // Prepare
      const resources = policyStatements(full.template)
        .filter((s) => asArray(s.Action).includes('secretsmanager:GetSecretValue'))
        .map((s) => asArray(s.Resource).map((r) => JSON.stringify(r)));

      // Assess
      expect(resources).toHaveLength(3);
      for (const arns of resources) {
        expect(arns).toHaveLength(2);
        expect(arns[0]).toMatch(/:secret:flyte\/\*"\]\]\}$/);
        expect(arns[1]).toMatch(/:secret:flyte\/connector\/databricks-token-\?\?\?\?\?\?"\]\]\}$/);
      }
    });

    it('pass the provisional OIDC and EKS settings to the functions', () => {
      // Assess
      expect(fullResources.PollFunction?.Properties.Environment.Variables).toMatchObject({
        FLYTE_DATABRICKS_OIDC_AUDIENCE: 'databricks',
        EKS_CLUSTER_NAME: 'flyte-prod',
        KUBERNETES_API_URL: FULL_CONTEXT.eksApiEndpoint,
        KUBERNETES_CA_DATA: FULL_CONTEXT.eksCaData,
      });
    });
  });

  describe('Databricks auth settings', () => {
    it('reach the Databricks callers, each under the variable shared/config.ts reads, and never the API function', () => {
      // Assess
      for (const fn of CONSUMERS) expect(variablesOf(authResources, fn), fn).toMatchObject(AUTH_ENVIRONMENT);
      for (const fn of ['ApiFunction', 'SweepFunction']) {
        const names = Object.keys(variablesOf(authResources, fn));
        for (const name of [...Object.keys(AUTH_ENVIRONMENT), 'SECRET_NAME_TEMPLATE'])
          expect(names).not.toContain(name);
      }
    });

    it('are left out when not configured, so the functions apply their own defaults (auth type: auto-detect)', () => {
      // Assess
      for (const fn of FUNCTIONS) {
        const names = Object.keys(variablesOf(resourcesOf(plain.template), fn));
        for (const name of Object.keys(AUTH_ENVIRONMENT)) expect(names, `${fn} ${name}`).not.toContain(name);
        expect(names).not.toContain('DATABRICKS_CLIENT_SECRET');
      }
      expect(variablesOf(resourcesOf(plain.template), 'PollFunction').SECRET_NAME_TEMPLATE).toBe(
        'flyte/{namespace}/{name}',
      );
    });

    it('default the Model 1 subject token source to sts, with the STS duration, when oidcModel1Sts is on', () => {
      // Assess
      expect(variablesOf(fullResources, 'SubmitFunction')).toMatchObject({
        OIDC_SUBJECT_TOKEN_SOURCE: 'sts',
        OIDC_STS_DURATION_SECONDS: '300',
      });
    });

    it('grant GetSecretValue on exactly the client secret, and no namespace prefix when secrets are in Kubernetes', () => {
      // Prepare
      const reads = secretReads(auth);

      // Assess
      expect(Object.keys(reads).sort()).toEqual([...CONSUMERS].sort());
      for (const fn of CONSUMERS) {
        expect(reads[fn]).toEqual([CLIENT_SECRET_ARN, `${CLIENT_SECRET_ARN}-??????`]);
      }
    });

    it('add a client secret given by name to the namespace prefix, with its random suffix only', () => {
      // Act
      const reads = secretReads(synthStack({ databricksClientSecretSecretId: 'flyte-connector/databricks-client' }));

      // Assess
      expect(Object.keys(reads).sort()).toEqual([...CONSUMERS].sort());
      for (const fn of CONSUMERS) {
        const arns = (reads[fn] ?? []).map((r) => JSON.stringify(r));
        expect(arns).toEqual([
          expect.stringMatching(/:secret:flyte-connector\/databricks-client-\?\?\?\?\?\?"\]\]\}$/),
          expect.stringMatching(/:secret:flyte\/\*"\]\]\}$/),
        ]);
      }
    });

    it('cap sts:DurationSeconds at the duration the functions request', () => {
      // Prepare
      const statements = policyStatements(auth.template).filter((s) =>
        asArray(s.Action).includes('sts:GetWebIdentityToken'),
      );

      // Assess
      expect(functionsGranted(auth, 'sts:GetWebIdentityToken')).toEqual([...CONSUMERS].sort());
      for (const statement of statements) {
        expect(statement.Condition).toEqual({
          'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': ['https://accounts.cloud.databricks.com'] },
          NumericLessThanEquals: { 'sts:DurationSeconds': 900 },
        });
      }
    });

    it('pass cdk-nag with namespace secrets in Kubernetes (no wildcard secret grant to acknowledge)', () => {
      // Act
      const report = new AwsSolutionsChecks(auth.app).validateScope(auth.stack);

      // Assess
      expect(report.violations).toEqual([]);
      expect(functionsGranted(auth, 'eks:DescribeCluster')).toEqual([...CONSUMERS].sort());
    });

    it("output each Databricks caller's role ARN, for federation policies and EKS access entries", () => {
      // Prepare
      const outputs = plain.template.toJSON().Outputs;
      const resources = resourcesOf(plain.template);

      // Assess
      for (const fn of CONSUMERS) {
        const role = resources[fn]?.Properties.Role['Fn::GetAtt'][0];
        expect(outputs[`${fn}RoleArn`]?.Value).toEqual({ 'Fn::GetAtt': [role, 'Arn'] });
      }
      expect(outputs.ApiFunctionRoleArn).toBeUndefined();
    });
  });

  describe("Lambda's 4 KB environment limit", () => {
    // Long, valid workspace hosts: 40 of about 60 bytes are 2.4 KB in ALLOWED_DATABRICKS_HOSTS.
    const hosts = Array.from(
      { length: 40 },
      (_, i) => `dbc-${String(i).padStart(4, '0')}-abcdefghij.cloud.databricks.com`,
    );

    it('fails synth naming eksCaData when the CA takes an environment over the limit', () => {
      // Act
      const error = buildError({
        eksClusterName: 'flyte-prod',
        eksCaData: 'A'.repeat(2800),
        allowedDatabricksHosts: hosts.slice(0, 10),
      });

      // Assess
      expect(error.key).toBe('eksCaData');
      expect(error.message).toMatch(/SubmitFunction's environment would be up to \d{4} bytes, over Lambda's 4 KB/);
      expect(error.message).toContain('eks:DescribeCluster');
    });

    it('fails synth naming the context key of the largest variable otherwise', () => {
      // Act
      const error = buildError({ allowedDatabricksHosts: [...hosts, ...hosts.map((h) => h.replace('dbc-', 'dbx-'))] });

      // Assess
      expect(error.key).toBe('allowedDatabricksHosts');
      expect(error.message).toMatch(/ALLOWED_DATABRICKS_HOSTS, \d{4} bytes, the largest variable/);
    });

    it('accepts a typical EKS CA with every other auth setting', () => {
      // Act & Assess: a 2048-bit cluster CA is about 1.5 KB of base64.
      expect(() =>
        buildStack(
          { ...AUTH_CONTEXT, eksApiEndpoint: FULL_CONTEXT.eksApiEndpoint, eksCaData: 'A'.repeat(1500) },
          { nag: false },
        ),
      ).not.toThrow();
    });
  });

  it('passes workspace settings and the shared maxReceiveCount and log settings through', () => {
    // Prepare
    const queues = Object.values(fullResources).filter((r) => r.Type === 'AWS::SQS::Queue');

    // Assess
    for (const fn of FUNCTIONS) {
      const props = fullResources[fn]?.Properties;
      expect(props?.Environment.Variables).toMatchObject({
        FLYTE_DATABRICKS_INSTANCE: 'dbc-1.cloud.databricks.com',
        MAX_RECEIVE_COUNT: '3',
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
      });
      // The workspace allowlist is for the functions that accept jobs or call workspaces, not the sweeper.
      expect(props?.Environment.Variables.ALLOWED_DATABRICKS_HOSTS, fn).toBe(
        fn === 'SweepFunction' ? undefined : 'dbc-1.cloud.databricks.com,dbc-2.cloud.databricks.com',
      );
      // The fallback PAT's secret id is auth configuration: the Databricks callers' only.
      expect(props?.Environment.Variables.FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID).toBe(
        fn === 'ApiFunction' || fn === 'SweepFunction' ? undefined : 'flyte/connector/databricks-token',
      );
      expect(props?.LoggingConfig.ApplicationLogLevel).toBe('DEBUG');
      expect(fullResources[props?.LoggingConfig.LogGroup.Ref]?.Properties.RetentionInDays).toBe(90);
    }
    const redrives = queues.filter((q) => q.Properties.RedrivePolicy).map((q) => q.Properties.RedrivePolicy);
    expect(redrives.map((r) => r.maxReceiveCount)).toEqual([3, 3, 3]);
  });

  it('puts every function in the given subnets with a security group, and lets Lambda manage its ENIs', () => {
    // Prepare
    const vpcPolicies = policyStatements(full.template).filter((s) =>
      asArray(s.Action).includes('ec2:CreateNetworkInterface'),
    );

    // Assess
    for (const fn of FUNCTIONS) {
      expect(fullResources[fn]?.Properties.VpcConfig).toMatchObject({
        SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
        SecurityGroupIds: [{ 'Fn::GetAtt': [expect.stringMatching(/^FunctionSecurityGroup/), 'GroupId'] }],
      });
    }
    expect(functionsGranted(full, 'ec2:CreateNetworkInterface')).toEqual([...FUNCTIONS].sort());
    expect(vpcPolicies.every((s) => s.Resource === '*')).toBe(true);
    expect(Object.values(resourcesOf(plain.template)).some((r) => r.Properties?.VpcConfig)).toBe(false);
  });

  it('notifies an encrypted, TLS-only topic with the email subscribed from every alarm', () => {
    // Prepare
    const alarms = Object.values(fullResources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    const [topicId, topic] = Object.entries(fullResources).find(([, r]) => r.Type === 'AWS::SNS::Topic') ?? [];

    // Assess
    expect(topic?.Properties.KmsMasterKeyId).toBeDefined();
    full.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    full.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    // 3 DLQs, errors and throttles of the 5 functions, sweeper give-ups, 4 Databricks endpoints, 5 auth modes.
    expect(alarms).toHaveLength(23);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
  });

  it('notifies an existing topic by ARN without creating one', () => {
    // Act
    const arn = 'arn:aws:sns:us-east-1:123456789012:ops-alarms';
    const { template } = synthStack({ alarmTopicArn: arn });

    // Assess
    template.resourceCountIs('AWS::SNS::Topic', 0);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([arn]);
  });

  it('lets only the listed principals invoke the API', () => {
    // Prepare
    const [api] = Object.values(fullResources).filter((r) => r.Type === 'AWS::ApiGateway::RestApi');
    const statements = api?.Properties.Policy.Statement;

    // Assess
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: 'execute-api:Invoke',
        Principal: { AWS: FULL_CONTEXT.apiAllowedPrincipalArns },
      }),
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'execute-api:Invoke',
        Principal: { AWS: '*' },
        Condition: {
          ArnNotLike: {
            'aws:PrincipalArn': ['arn:aws:iam::123456789012:role/flyte-task', 'arn:aws:iam::210987654321:*'],
          },
        },
      }),
    ]);
  });

  it('removes data resources on stack deletion only when removalPolicy is destroy', () => {
    // Prepare
    const [table] = Object.values(fullResources).filter((r) => r.Type === 'AWS::DynamoDB::Table');
    const logGroups = Object.values(fullResources).filter((r) => r.Type === 'AWS::Logs::LogGroup');

    // Assess
    expect(table?.DeletionPolicy).toBe('Delete');
    expect(table?.Properties.DeletionProtectionEnabled).toBe(false);
    expect(logGroups.every((g) => g.DeletionPolicy === 'Delete')).toBe(true);
    const plainLogGroups = Object.values(plain.template.findResources('AWS::Logs::LogGroup'));
    expect(plainLogGroups.every((g) => g.DeletionPolicy === 'Retain')).toBe(true);
  });

  it('passes cdk-nag with every optional feature on, each wildcard acknowledged on its own policy', () => {
    // Act
    const report = new AwsSolutionsChecks(full.app).validateScope(full.stack);

    // Assess
    expect(report.violations).toEqual([]);
  });

  it('acknowledges only real findings, each with its reason, on the narrowest construct', () => {
    // Prepare: every acknowledgement in the tree, and cdk-nag's findings with acknowledgements ignored. The override
    // of cdk-nag's private isAcknowledged is test-only; if cdk-nag renames it, this test fails rather than passes.
    const acknowledged = full.stack.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
        .map(([id, reason]) => ({ path: construct.node.path, id: id.replace(/^Annotation::/, ''), reason })),
    );
    const raw = new AwsSolutionsChecks(full.app);
    Object.defineProperty(raw, 'isAcknowledged', { value: () => false });
    const findings = raw
      .validateScope(full.stack)
      .violations.flatMap((v) => v.violatingResources.map((r) => ({ id: v.ruleName, path: r.constructPath ?? '' })));

    // Assess
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const ack of acknowledged) {
      expect(ack.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThan(80);
      const covered = findings.filter((f) => f.id === ack.id && f.path.startsWith(`${ack.path}/`));
      expect(covered.length, `${ack.path} ${ack.id} acknowledges nothing`).toBeGreaterThan(0);
    }
    // Wildcard acknowledgements sit on their own policy, never on a whole function or role.
    for (const ack of acknowledged.filter((a) => a.id.startsWith('AwsSolutions-IAM5'))) {
      expect(ack.path).toMatch(/\/(SecretsRead|OidcStsToken|VpcNetworking|Tracing)$/);
    }
  });

  it('fails synth on a new cdk-nag finding', () => {
    // Prepare: a queue with neither a DLQ nor a TLS-only policy.
    const { stack } = buildStack();
    new Queue(stack, 'Unreviewed');

    // Act & Assess
    expect(() => Template.fromStack(stack)).toThrow(/TestStack\/Unreviewed\/Resource[\s\S]*AwsSolutions-SQS4/);
  });
});

/** Each work queue's producer Deny: the aws:userid patterns it exempts, a function's role shown as `<Function>:*`. */
function producersOf(synth: SynthesizedStack): Record<string, string[]> {
  const resources = resourcesOf(synth.template);
  const fnOfRole = Object.fromEntries(FUNCTIONS.map((fn) => [resources[fn]?.Properties.Role['Fn::GetAtt'][0], fn]));
  const shownId = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const [, [getAtt, suffix]] = (value as { 'Fn::Join': [string, [{ 'Fn::GetAtt': [string, string] }, string]] })[
      'Fn::Join'
    ];
    expect(getAtt['Fn::GetAtt'][1]).toBe('RoleId');
    return `${fnOfRole[getAtt['Fn::GetAtt'][0]]}${suffix}`;
  };
  const producers: Record<string, string[]> = {};
  for (const [, policy] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SQS::QueuePolicy')) {
    const [queue] = policy.Properties.Queues.map((q: { Ref: string }) => q.Ref.replace(/[0-9A-F]{8}$/, ''));
    const denies = policy.Properties.PolicyDocument.Statement.filter(
      (s: { Sid?: string }) => s.Sid === 'OnlyNamedProducersSend',
    );
    if (denies.length === 0) continue;
    expect(denies).toHaveLength(1);
    const [deny] = denies;
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:SendMessage' });
    expect(deny.Resource).toEqual({ 'Fn::GetAtt': [policy.Properties.Queues[0].Ref, 'Arn'] });
    producers[queue] = asArray(deny.Condition.StringNotLike['aws:userid']).map(shownId);
  }
  return producers;
}

describe('Stack: work queue producers', () => {
  it('deny SendMessage on each work queue to all but its producers, direct producers named by IAM unique id', () => {
    // Act
    const synth = synthStack({
      callerNamespaces: {
        'arn:aws:sts::123456789012:assumed-role/flyte-task-role/*': ['team-a'],
        AROADBQP57FF2AEXAMPLE: ['team-b'],
        AIDAJQABLZS4A3QDU576Q: ['*'],
      },
    });

    // Assess: a role's sessions are <RoleId>:<session>; a user's aws:userid is its id. No DLQ takes producers.
    expect(producersOf(synth)).toEqual({
      SubmitQueue: [
        'ApiFunction:*',
        'SubmitFunction:*',
        'SweepFunction:*',
        'AROADBQP57FF2AEXAMPLE:*',
        'AIDAJQABLZS4A3QDU576Q',
      ],
      PollQueue: ['SubmitFunction:*', 'PollFunction:*', 'SweepFunction:*'],
      CancelQueue: ['ApiFunction:*', 'CancelFunction:*'],
    });
  });

  it('let only the functions send when callerNamespaces names callers by ARN alone (or is opted out of)', () => {
    // Act
    const optedOut = synthStack(
      { insecureAnyCallerAnyNamespace: true, insecureAnyDatabricksHost: true },
      { safeContext: false },
    );

    // Assess
    for (const synth of [plain, optedOut]) {
      expect(producersOf(synth)).toEqual({
        SubmitQueue: ['ApiFunction:*', 'SubmitFunction:*', 'SweepFunction:*'],
        PollQueue: ['SubmitFunction:*', 'PollFunction:*', 'SweepFunction:*'],
        CancelQueue: ['ApiFunction:*', 'CancelFunction:*'],
      });
    }
  });
});

describe('Stack: fails closed', () => {
  it('refuses to synthesize without context, naming both keys and both opt-outs', () => {
    // Act
    const error = buildError({}, { safeContext: false });

    // Assess
    expect(error.keys).toEqual(['callerNamespaces', 'allowedDatabricksHosts']);
    for (const name of [
      'callerNamespaces',
      'insecureAnyCallerAnyNamespace=true',
      'allowedDatabricksHosts',
      'insecureAnyDatabricksHost=true',
    ]) {
      expect(error.message).toContain(name);
    }
  });

  it.each([
    [{ callerNamespaces: SAFE_CONTEXT.callerNamespaces }, 'allowedDatabricksHosts', 'callerNamespaces'],
    [{ allowedDatabricksHosts: SAFE_CONTEXT.allowedDatabricksHosts }, 'callerNamespaces', 'allowedDatabricksHosts'],
  ])('with only one decision made (%j), names the other', (context, missing, made) => {
    // Act
    const error = buildError(context, { safeContext: false });

    // Assess
    expect(error.keys).toEqual([missing]);
    expect(error.message).not.toContain(made);
  });

  it('synthesizes with both opt-outs, passing them to the functions that enforce what they opt out of', () => {
    // Act
    const { stack } = buildStack(
      { insecureAnyCallerAnyNamespace: 'true', insecureAnyDatabricksHost: 'true' },
      { nag: false, safeContext: false },
    );
    const resources = resourcesOf(Template.fromStack(stack));

    // Assess
    expect(variablesOf(resources, 'ApiFunction')).toMatchObject({
      INSECURE_ANY_CALLER_ANY_NAMESPACE: 'true',
      INSECURE_ANY_DATABRICKS_HOST: 'true',
    });
    expect(variablesOf(resources, 'PollFunction').INSECURE_ANY_DATABRICKS_HOST).toBe('true');
    expect(variablesOf(resources, 'PollFunction').INSECURE_ANY_CALLER_ANY_NAMESPACE).toBeUndefined();
    expect(Object.keys(variablesOf(resources, 'SweepFunction')).filter((n) => n.startsWith('INSECURE'))).toEqual([]);
  });

  it.each([
    [{ insecureAnyCallerAnyNamespace: true }, 'insecureAnyCallerAnyNamespace'],
    [{ insecureAnyDatabricksHost: true }, 'insecureAnyDatabricksHost'],
  ])('refuses a key together with its opt-out (%j)', (optOut, key) => {
    // Assess
    expect(buildError(optOut).key).toBe(key);
  });

  it('refuses a namespace workspace outside allowedDatabricksHosts', () => {
    // Act
    const error = buildError({ namespaceWorkspaces: { 'team-a': ['dbc-9.cloud.databricks.com'] } });

    // Assess
    expect(error.key).toBe('namespaceWorkspaces');
    expect(error.message).toMatch(/must be one of allowedDatabricksHosts \(dbc-1\.cloud\.databricks\.com\)/);
  });

  it('refuses a wildcard over a public suffix', () => {
    // Act
    const error = buildError({ allowedDatabricksHosts: '*.co.uk' });

    // Assess
    expect(error.key).toBe('allowedDatabricksHosts');
    expect(error.message).toContain('*.co.uk would allow any host below the public suffix co.uk');
  });
});

describe('Stack: infra/example.context.json (what npm run synth uses)', () => {
  let example: SynthesizedStack;
  let resources: Record<string, CfnResource>;

  beforeAll(() => {
    example = synthStack({ contextFile: 'infra/example.context.json' }, { safeContext: false });
    resources = resourcesOf(example.template);
  }, 60_000);

  it('is the production context infra/README.md shows, word for word', () => {
    // Prepare
    const readme = readFileSync('infra/README.md', 'utf8');
    const shown = /### A production context[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)?.[1];

    // Assess
    expect(shown).toBe(readFileSync('infra/example.context.json', 'utf8'));
  });

  it('synthesizes with cdk-nag clean', () => {
    // Assess
    expect(new AwsSolutionsChecks(example.app).validateScope(example.stack).violations).toEqual([]);
  });

  it('lets its direct producer, by role id, send to the submit queue', () => {
    // Assess
    expect(producersOf(example).SubmitQueue).toEqual([
      'ApiFunction:*',
      'SubmitFunction:*',
      'SweepFunction:*',
      'AROADBQP57FF2AEXAMPLE:*',
    ]);
  });

  it('binds every namespace to its one workspace and passes the callers to the API and submit', () => {
    // Assess
    for (const fn of ['ApiFunction', 'SubmitFunction', 'PollFunction', 'CancelFunction']) {
      expect(variablesOf(resources, fn), fn).toMatchObject({
        ALLOWED_DATABRICKS_HOSTS: 'dbc-1234abcd-5678.cloud.databricks.com',
        NAMESPACE_WORKSPACES: '{"*":["dbc-1234abcd-5678.cloud.databricks.com"]}',
        FLYTE_DATABRICKS_INSTANCE: 'dbc-1234abcd-5678.cloud.databricks.com',
      });
    }
    expect(JSON.parse(variablesOf(resources, 'SubmitFunction').CALLER_NAMESPACES ?? '')).toEqual({
      'arn:aws:sts::123456789012:assumed-role/flyte-task-role/*': ['flytesnacks-development', 'flytesnacks-staging'],
      AROADBQP57FF2AEXAMPLE: ['ml-pipelines-production'],
    });
  });
});
