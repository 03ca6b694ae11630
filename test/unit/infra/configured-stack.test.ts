/**
 * The stack as configuration shapes it: the optional auth grants, VPC placement, alarm notifications, the API's
 * principal allowlist, non-prod removal, and cdk-nag failing synth on a new finding. Bundling is skipped here;
 * stack.test.ts bundles the real functions.
 */
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  asArray,
  buildStack,
  type CfnResource,
  policyStatements,
  resourcesOf,
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
  fallbackTokenSecretId: 'flyte/connector/databricks-token',
  allowedDatabricksHosts: 'dbc-1.cloud.databricks.com,https://dbc-2.cloud.databricks.com/',
  databricksInstance: 'dbc-1.cloud.databricks.com',
  maxReceiveCount: 3,
  logLevel: 'DEBUG',
  logRetentionDays: 90,
  removalPolicy: 'destroy',
};

const FUNCTIONS = ['ApiFunction', 'SubmitFunction', 'PollFunction', 'CancelFunction'];
const CONSUMERS = ['SubmitFunction', 'PollFunction', 'CancelFunction'];

let plain: SynthesizedStack;
let full: SynthesizedStack;
let fullResources: Record<string, CfnResource>;

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
}, 60_000);

describe('Stack: FlyteDatabricksStack (configured)', () => {
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
        expect(statement.Condition).toEqual({ StringEquals: { 'sts:IdentityTokenAudience': 'databricks' } });
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

  it('passes workspace settings and the shared maxReceiveCount and log settings through', () => {
    // Prepare
    const queues = Object.values(fullResources).filter((r) => r.Type === 'AWS::SQS::Queue');

    // Assess
    for (const fn of FUNCTIONS) {
      const props = fullResources[fn]?.Properties;
      expect(props?.Environment.Variables).toMatchObject({
        ALLOWED_DATABRICKS_HOSTS: 'dbc-1.cloud.databricks.com,dbc-2.cloud.databricks.com',
        FLYTE_DATABRICKS_INSTANCE: 'dbc-1.cloud.databricks.com',
        FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID: 'flyte/connector/databricks-token',
        MAX_RECEIVE_COUNT: '3',
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
      });
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
    expect(alarms).toHaveLength(11);
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
      expect(ack.path).toMatch(/\/(SecretsRead|OidcStsToken|VpcNetworking)$/);
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
