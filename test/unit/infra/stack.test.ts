/**
 * The production stack with default configuration, built once with the real esbuild bundles.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FunctionName } from '../../../infra/bundling/function-bundle.js';
import { FUNCTION_MEMORY_MB } from '../../../infra/function-memory.js';
import { submitRequestSchema, taskSchema } from '../../../shared/jobs/submit-request.js';
import { type AssetScript, includesPackage, readAsset } from './asset-files.js';
import {
  asArray,
  type CfnResource,
  type Json,
  policyStatements,
  resourcesOf,
  type SynthesizedStack,
  synthStack,
} from './synth-stack.js';

let synthesized: SynthesizedStack;
let template: Template;
let resources: Record<string, CfnResource>;
/** Each function's staged asset, read back: its scripts, which of them a cold start loads, their sources. */
let assets: Record<string, AssetScript[]>;

const ofType = (type: string): Array<[string, CfnResource]> =>
  Object.entries(resources).filter(([, resource]) => resource.Type === type);
const FUNCTIONS = ['ApiFunction', 'SubmitFunction', 'PollFunction', 'CancelFunction', 'SweepFunction'] as const;
/** The functions that never authenticate to Databricks: no auth settings, no secrets, no Kubernetes client. */
const NOT_DATABRICKS_CALLERS: readonly string[] = ['ApiFunction', 'SweepFunction'];
/** Packages only some jobs need: the functions import them on first use, so they sit in lazy chunks. */
const LAZY_PACKAGES = [
  '@kubernetes/client-node',
  '@aws-sdk/client-sts',
  '@aws-sdk/client-secrets-manager',
  '@aws-sdk/client-eks',
  'jose',
];
/** `PollFunction` -> `poll`. */
const functionName = (id: string) => id.replace(/Function$/, '').toLowerCase() as FunctionName;

const asset = (id: string): AssetScript[] => assets[id] ?? [];

/** The folder CDK staged a function's asset in: `asset.<hash>`, the S3 key without `.zip`. */
function assetDir(id: string): string {
  const hash = String(resources[id]?.Properties.Code.S3Key).replace(/\.zip$/, '');
  return join(synthesized.app.outdir, `asset.${hash}`);
}

beforeAll(async () => {
  synthesized = synthStack({}, { bundle: true });
  template = synthesized.template;
  resources = resourcesOf(template);
  assets = Object.fromEntries(await Promise.all(FUNCTIONS.map(async (id) => [id, await readAsset(assetDir(id))])));
}, 120_000);

describe('Stack: FlyteDatabricksStack (defaults)', () => {
  it('holds two tables (jobs, workspace budget), six queues, the five functions and nothing custom, one REST API', () => {
    // Assess
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    template.resourceCountIs('AWS::SQS::Queue', 6);
    // Exactly the five handlers: no CDK custom-resource functions (log retention, etc.) sneak in.
    template.resourceCountIs('AWS::Lambda::Function', 5);
    expect(ofType('AWS::Lambda::Function').map(([id]) => id)).toEqual(expect.arrayContaining([...FUNCTIONS]));
    expect(Object.values(resources).filter((r) => r.Type.startsWith('Custom::'))).toEqual([]);
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
  });

  it('runs the sweeper every 5 minutes through an EventBridge rule, the only one allowed to invoke it', () => {
    // Prepare
    const rules = ofType('AWS::Events::Rule');
    const permissions = ofType('AWS::Lambda::Permission').filter(
      ([, p]) => p.Properties.FunctionName['Fn::GetAtt']?.[0] === 'SweepFunction',
    );

    // Assess
    expect(rules).toHaveLength(1);
    const [ruleId, rule] = rules[0] ?? [];
    expect(rule?.Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' });
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': ['SweepFunction', 'Arn'] } }),
    ]);
    expect(permissions).toHaveLength(1);
    expect(permissions[0]?.[1].Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    });
  });

  describe('API', () => {
    it('requires IAM (SigV4) authorization on every method', () => {
      // Prepare
      const methods = ofType('AWS::ApiGateway::Method');

      // Assess
      expect(methods.map(([, m]) => m.Properties.HttpMethod).sort()).toEqual(['DELETE', 'GET', 'GET', 'GET', 'POST']);
      for (const [, method] of methods) expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
    });

    it('validates the POST body against the job request model', () => {
      // Prepare
      const [, post] = ofType('AWS::ApiGateway::Method').find(([, m]) => m.Properties.HttpMethod === 'POST') ?? [];
      const validatorId = post?.Properties.RequestValidatorId.Ref as string;
      const modelId = post?.Properties.RequestModels['application/json'].Ref as string;

      // Assess
      expect(resources[validatorId]?.Properties).toMatchObject({ ValidateRequestBody: true });
      const schema = resources[modelId]?.Properties.Schema;
      expect(schema.required).toEqual(['namespace', 'executionId', 'task']);
      expect(schema.properties.task.required).toEqual(['databricksConf']);
      // The namespace and executionId rules are the API's own (from the OpenAPI document, from zod).
      expect(schema.properties.namespace).toMatchObject({ maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' });
      expect(new RegExp(schema.properties.executionId.pattern).test('exec-1')).toBe(true);
      expect(new RegExp(schema.properties.executionId.pattern).test('has space')).toBe(false);
    });

    it('keeps the model no stricter than the zod schema that really validates the body', () => {
      // Prepare
      const [, model] = ofType('AWS::ApiGateway::Model')[0] ?? [];
      const schema = model?.Properties.Schema;
      const requiredIn = (shape: Record<string, { safeParse(v: unknown): { success: boolean } }>) =>
        Object.keys(shape).filter((key) => !shape[key]?.safeParse(undefined).success);

      // Assess: the same required fields, and no property the zod schema does not know.
      expect(schema.required).toEqual(requiredIn(submitRequestSchema.shape));
      expect(Object.keys(schema.properties).every((key) => key in submitRequestSchema.shape)).toBe(true);
      expect(schema.properties.task.required).toEqual(requiredIn(taskSchema.shape));
      expect(schema.additionalProperties).toBeUndefined();
    });

    it('writes access logs to its log group and throttles the stage', () => {
      // Prepare
      const [, stage] = ofType('AWS::ApiGateway::Stage')[0] ?? [];

      // Assess
      const destination = stage?.Properties.AccessLogSetting.DestinationArn['Fn::GetAtt'][0];
      expect(resources[destination]?.Type).toBe('AWS::Logs::LogGroup');
      expect(JSON.parse(stage?.Properties.AccessLogSetting.Format)).toMatchObject({
        userArn: '$context.identity.userArn',
        status: '$context.status',
      });
      expect(stage?.Properties.MethodSettings).toEqual([
        expect.objectContaining({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
        }),
      ]);
    });

    it('leaves the account-wide API Gateway CloudWatch role alone and has no resource policy by default', () => {
      // Assess
      template.resourceCountIs('AWS::ApiGateway::Account', 0);
      template.hasResourceProperties('AWS::ApiGateway::RestApi', { Policy: Match.absent() });
    });
  });

  describe('Queues', () => {
    it('redrive every work queue to its DLQ after maxReceiveCount receives', () => {
      // Prepare
      const queues = ofType('AWS::SQS::Queue');
      const work = queues.filter(([, q]) => q.Properties.RedrivePolicy);
      const deadLetterIds = work.map(([, q]) => q.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0]);

      // Assess
      expect(work).toHaveLength(3);
      for (const [, queue] of work) expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
      expect(new Set(deadLetterIds).size).toBe(3);
      for (const id of deadLetterIds) expect(resources[id]?.Properties.RedrivePolicy).toBeUndefined();
    });

    it('are all encrypted and deny requests without TLS', () => {
      // Prepare
      const policies = ofType('AWS::SQS::QueuePolicy').map(([, p]) => p.Properties);

      // Assess
      for (const [id, queue] of ofType('AWS::SQS::Queue')) {
        expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
        const denies = policies
          .filter((p) => p.Queues.some((q: { Ref?: string }) => q.Ref === id))
          .flatMap((p) => p.PolicyDocument.Statement)
          .filter((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false');
        expect(denies, `queue ${id}`).toHaveLength(1);
      }
    });

    it('deny SendMessage on each work queue to every principal but its producers, and leave the DLQs to SQS', () => {
      // Prepare
      const producerDenies = ofType('AWS::SQS::QueuePolicy').flatMap(([, p]) =>
        p.Properties.PolicyDocument.Statement.filter(
          (s: Json) => s.Effect === 'Deny' && s.Action === 'sqs:SendMessage',
        ).map((s: Json) => ({ queue: p.Properties.Queues[0].Ref as string, statement: s })),
      );
      const work = ofType('AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy);

      // Assess
      expect(producerDenies.map((d) => d.queue).sort()).toEqual(work.map(([id]) => id).sort());
      for (const { statement } of producerDenies) {
        expect(statement.Principal).toEqual({ AWS: '*' });
        expect(Object.keys(statement.Condition)).toEqual(['StringNotLike']);
        for (const userId of asArray(statement.Condition.StringNotLike['aws:userid'])) {
          // Each producer is a function's role (any session): <RoleId>:*.
          expect(userId).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.any(String), 'RoleId'] }, ':*']] });
        }
      }
    });

    it('give each consumer a visibility timeout of at least 6x its timeout, and MAX_RECEIVE_COUNT the same count', () => {
      // Assess
      for (const [, mapping] of ofType('AWS::Lambda::EventSourceMapping')) {
        const queue = resources[mapping.Properties.EventSourceArn['Fn::GetAtt'][0]];
        const fn = resources[mapping.Properties.FunctionName.Ref];
        // AWS's guidance, stated here rather than read from JobQueue so that lowering the factor fails this test.
        expect(queue?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn?.Properties.Timeout);
        expect(fn?.Properties.Environment.Variables.MAX_RECEIVE_COUNT).toBe(
          String(queue?.Properties.RedrivePolicy.maxReceiveCount),
        );
      }
    });
  });

  it('keeps the jobs table: on-demand, TTL on expiresAt, PITR, SSE, byNamespace, byLiveness and liveByWorkspace indexes, retained', () => {
    // Assess
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          Match.objectLike({
            IndexName: 'byNamespace',
            KeySchema: [
              { AttributeName: 'namespace', KeyType: 'HASH' },
              { AttributeName: 'createdAt', KeyType: 'RANGE' },
            ],
          }),
          // Sparse: only jobs that have not ended carry liveShard. Keys only: the sweeper reads each job itself.
          {
            IndexName: 'byLiveness',
            KeySchema: [
              { AttributeName: 'liveShard', KeyType: 'HASH' },
              { AttributeName: 'heartbeatAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
          // Sparse likewise (liveHost): each workspace's live jobs, for poll pacing. Keys only: the ids are all it needs.
          {
            IndexName: 'liveByWorkspace',
            KeySchema: [
              { AttributeName: 'liveHost', KeyType: 'HASH' },
              { AttributeName: 'jobId', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      }),
    });
  });

  describe('Functions', () => {
    it('run nodejs22.x on arm64 with JSON logs into a log group with retention', () => {
      // Assess
      for (const id of FUNCTIONS) {
        const props = resources[id]?.Properties;
        expect(props).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO' },
        });
        expect(resources[props?.LoggingConfig.LogGroup.Ref]?.Properties.RetentionInDays).toBe(30);
        expect(props?.MemorySize).toBe(FUNCTION_MEMORY_MB[functionName(id)]);
        expect(props?.Environment.Variables).toMatchObject({ POWERTOOLS_LOG_LEVEL: 'INFO' });
        // --enable-source-maps would parse every loaded file's source map at each cold start.
        expect(props?.Environment.Variables).not.toHaveProperty('NODE_OPTIONS');
        // Where namespace secrets live is auth configuration: only the functions that call Databricks get it.
        expect(props?.Environment.Variables.SECRET_NAME_TEMPLATE).toBe(
          NOT_DATABRICKS_CALLERS.includes(id) ? undefined : 'flyte/{namespace}/{name}',
        );
      }
    });

    it('never receive a plaintext token or the local-only loopback switch', () => {
      // Assess
      for (const id of FUNCTIONS) {
        const variables = Object.keys(resources[id]?.Properties.Environment.Variables);
        expect(variables).not.toContain('FLYTE_DATABRICKS_ACCESS_TOKEN');
        expect(variables).not.toContain('ALLOW_INSECURE_LOOPBACK_DATABRICKS');
        expect(variables).not.toContain('AWS_ENDPOINT_URL');
      }
    });

    it('are bundled as minified ESM with a createRequire banner and a source map beside every script', () => {
      // Assess
      for (const id of FUNCTIONS) {
        const dir = assetDir(id);
        const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
        expect(code.startsWith('import { createRequire')).toBe(true);
        expect(code).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
        // Minified: very long lines (multi-line template literals in dependencies add a few short ones), not a readable file.
        expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
        for (const { path } of asset(id)) expect(existsSync(join(dir, `${path}.map`)), `${id} ${path}`).toBe(true);
      }
    });

    it('import only their own chunks and Node builtins, which the Lambda runtime resolves', () => {
      // Assess (readAsset already failed on a chunk that does not exist)
      for (const id of FUNCTIONS) {
        for (const specifier of asset(id).flatMap((script) => script.bareImports)) {
          expect(isBuiltin(specifier), `${id} imports ${specifier}`).toBe(true);
        }
      }
    });

    it('leave the Kubernetes client, STS, Secrets Manager, EKS and jose out of every cold start', () => {
      // Assess
      for (const id of FUNCTIONS) {
        const initial = asset(id).filter((script) => script.initial);
        expect(
          initial.map((script) => script.path),
          id,
        ).toContain('index.mjs');
        for (const name of LAZY_PACKAGES) expect(includesPackage(initial, name), `${id} ${name}`).toBe(false);
      }
    });

    it('carry them as lazy chunks where a job can need them, and no Kubernetes client in api and sweep', () => {
      // Assess
      for (const id of FUNCTIONS) {
        const lazy = asset(id).filter((script) => !script.initial);
        if (NOT_DATABRICKS_CALLERS.includes(id)) {
          expect(includesPackage(asset(id), '@kubernetes/client-node'), id).toBe(false);
        } else {
          for (const name of LAZY_PACKAGES) expect(includesPackage(lazy, name), `${id} ${name}`).toBe(true);
        }
      }
    });

    it("leave the stack's own dependencies out: no function bundle carries tldts (the public-suffix check)", () => {
      // Assess
      for (const id of FUNCTIONS) expect(includesPackage(asset(id), 'tldts'), id).toBe(false);
      // The check can see packages: every function bundles zod (its configuration is validated with it).
      for (const id of FUNCTIONS) expect(includesPackage(asset(id), 'zod'), id).toBe(true);
    });

    it('consume their queues with partial batch responses and bounded concurrency', () => {
      // Prepare
      const byFunction: Record<string, Json> = Object.fromEntries(
        ofType('AWS::Lambda::EventSourceMapping').map(([, m]) => [m.Properties.FunctionName.Ref, m.Properties]),
      );

      // Assess
      expect(Object.keys(byFunction).sort()).toEqual(['CancelFunction', 'PollFunction', 'SubmitFunction']);
      for (const mapping of Object.values(byFunction)) {
        expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      }
      expect(byFunction.SubmitFunction).toMatchObject({ BatchSize: 5, ScalingConfig: { MaximumConcurrency: 5 } });
      expect(byFunction.PollFunction).toMatchObject({
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: 5,
        ScalingConfig: { MaximumConcurrency: 10 },
      });
      expect(byFunction.CancelFunction).toMatchObject({ BatchSize: 5, ScalingConfig: { MaximumConcurrency: 2 } });
    });
  });

  describe('IAM', () => {
    it('grants no Allow on * and no wildcard action at all by default, but the X-Ray write tracing needs', () => {
      // Prepare: X-Ray's write actions support no resource-level permission (operations.test.ts: only with tracing).
      const isXrayWrite = (s: { Action: string | string[] }) =>
        [...asArray(s.Action)].sort().join() === 'xray:PutTelemetryRecords,xray:PutTraceSegments';
      const statements = policyStatements(template);

      // Assess
      expect(statements.length).toBeGreaterThan(0);
      expect(statements.filter(isXrayWrite)).toHaveLength(FUNCTIONS.length);
      for (const statement of statements.filter((s) => s.Effect === 'Allow' && !isXrayWrite(s))) {
        expect(asArray(statement.Resource), statement.policy).not.toContain('*');
        for (const action of asArray(statement.Action)) expect(action, statement.policy).not.toContain('*');
      }
      // No inline role policies or managed policies (AWSLambdaBasicExecutionRole allows every log group).
      for (const [, role] of ofType('AWS::IAM::Role')) {
        expect(role.Properties.Policies).toBeUndefined();
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
    });

    it('never grants secretsmanager:GetSecretValue or dynamodb actions on *', () => {
      // Assess
      for (const statement of policyStatements(template)) {
        const actions = asArray(statement.Action);
        if (actions.some((a) => a === 'secretsmanager:GetSecretValue' || a.startsWith('dynamodb:'))) {
          expect(asArray(statement.Resource)).not.toContain('*');
          expect(actions).not.toContain('dynamodb:*');
        }
      }
    });

    it('gives each function exactly the calls it makes', () => {
      // Prepare: "action resource" per function, resolved through role → policy.
      const roleOf = Object.fromEntries(FUNCTIONS.map((id) => [resources[id]?.Properties.Role['Fn::GetAtt'][0], id]));
      const grants: Record<string, Set<string>> = {};
      for (const [, policy] of ofType('AWS::IAM::Policy')) {
        const fn = roleOf[policy.Properties.Roles[0].Ref] as string;
        grants[fn] ??= new Set();
        for (const statement of policy.Properties.PolicyDocument.Statement) {
          for (const action of asArray(statement.Action as string | string[])) {
            for (const resource of asArray(statement.Resource)) {
              const target =
                (resource as Json)['Fn::GetAtt']?.[0] ?? (resource as Json)['Fn::Join']?.[1]?.at(-1) ?? resource;
              // Tables by name (the jobs table, the workspace budget table), everything else by type.
              const type =
                resources[target]?.Type === 'AWS::DynamoDB::Table'
                  ? String(target).replace(/Table[0-9A-F]{8}$/, '')
                  : (resources[target]?.Type ?? target);
              grants[fn].add(`${action} ${type}`);
            }
          }
        }
      }
      const logs = ['logs:CreateLogStream AWS::Logs::LogGroup', 'logs:PutLogEvents AWS::Logs::LogGroup'];
      const item = (...actions: string[]) => actions.map((a) => `dynamodb:${a} Jobs`);
      // Every Databricks call takes a slot in its workspace's ledger (shared/databricks/dynamodb-call-ledger.ts).
      const ledger = ['dynamodb:GetItem WorkspaceBudget', 'dynamodb:UpdateItem WorkspaceBudget'];
      const consume = [
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
      ].map((a) => `${a} AWS::SQS::Queue`);
      const secrets = ['secretsmanager:GetSecretValue :secret:flyte/*'];
      // Tracing is on by default: every function writes its X-Ray segments.
      const xray = ['xray:PutTelemetryRecords *', 'xray:PutTraceSegments *'];

      // Assess
      expect([...(grants.ApiFunction ?? [])].sort()).toEqual(
        [
          ...logs,
          ...xray,
          ...item('GetItem', 'PutItem', 'UpdateItem'),
          'dynamodb:Query /index/byNamespace',
          'sqs:SendMessage AWS::SQS::Queue',
        ].sort(),
      );
      expect([...(grants.SubmitFunction ?? [])].sort()).toEqual(
        [
          ...logs,
          ...xray,
          ...item('GetItem', 'PutItem', 'UpdateItem'),
          ...ledger,
          'sqs:SendMessage AWS::SQS::Queue',
          ...consume,
          ...secrets,
        ].sort(),
      );
      // The poll function reads its workspaces' live jobs for pacing; nothing else queries that index.
      expect([...(grants.PollFunction ?? [])].sort()).toEqual(
        [
          ...logs,
          ...xray,
          ...item('GetItem', 'UpdateItem'),
          ...ledger,
          'dynamodb:Query /index/liveByWorkspace',
          'sqs:SendMessage AWS::SQS::Queue',
          ...consume,
          ...secrets,
        ].sort(),
      );
      expect([...(grants.CancelFunction ?? [])].sort()).toEqual(
        [
          ...logs,
          ...xray,
          ...item('GetItem', 'UpdateItem'),
          ...ledger,
          'sqs:SendMessage AWS::SQS::Queue',
          ...consume,
          ...secrets,
        ].sort(),
      );
      // The sweeper reads and claims stale jobs and sends their messages again; it never reads a credential.
      expect([...(grants.SweepFunction ?? [])].sort()).toEqual(
        [
          ...logs,
          ...xray,
          ...item('GetItem', 'UpdateItem'),
          'dynamodb:Query /index/byLiveness',
          'sqs:SendMessage AWS::SQS::Queue',
        ].sort(),
      );
    });

    it('sends each function only to the queues it uses', () => {
      // Prepare
      const sendTargets = (fn: string) => {
        const role = resources[fn]?.Properties.Role['Fn::GetAtt'][0];
        return policyStatements(template)
          .filter((s) => resources[s.policy]?.Properties.Roles[0].Ref === role)
          .filter((s) => asArray(s.Action).includes('sqs:SendMessage'))
          .flatMap((s) => asArray(s.Resource).map((r: Json) => r['Fn::GetAtt'][0] as string))
          .map((queueId) => queueId.replace(/Queue[0-9A-F]{8}$/, ''))
          .sort();
      };

      // Assess
      expect(sendTargets('ApiFunction')).toEqual(['Cancel', 'Submit']);
      // Submit and cancel send to their own queue only to defer a record that cannot finish in its invocation.
      expect(sendTargets('SubmitFunction')).toEqual(['Poll', 'Submit']);
      expect(sendTargets('PollFunction')).toEqual(['Poll']);
      expect(sendTargets('CancelFunction')).toEqual(['Cancel']);
      expect(sendTargets('SweepFunction')).toEqual(['Poll', 'Submit']);
    });
  });

  it('alarms on DLQ depth, function errors and throttles, with no action unless a topic is configured', () => {
    // Prepare (the application alarms: operations.test.ts)
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const named = (metric: string) => alarms.filter((a) => a.MetricName === metric);

    // Assess
    expect(named('ApproximateNumberOfMessagesVisible')).toHaveLength(3);
    expect(named('Errors')).toHaveLength(5);
    expect(named('Throttles')).toHaveLength(5);
    for (const alarm of [...named('ApproximateNumberOfMessagesVisible'), ...named('Errors'), ...named('Throttles')]) {
      expect(alarm).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    }
    for (const alarm of alarms) expect(alarm.AlarmActions).toBeUndefined();
  });

  it("outputs the API URL, the three queue URLs, the table and dashboard names and the Databricks callers' role ARNs", () => {
    // Assess
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual(
      [
        'ApiUrl',
        'CancelQueueUrl',
        'DashboardName',
        'JobsTableName',
        'PollQueueUrl',
        'SubmitQueueUrl',
        'SubmitFunctionRoleArn',
        'PollFunctionRoleArn',
        'CancelFunctionRoleArn',
      ].sort(),
    );
  });

  it('passes cdk-nag AwsSolutions with every finding acknowledged', () => {
    // Act: synth already ran the plugin (an error would have thrown); run it again to see the report.
    const report = new AwsSolutionsChecks(synthesized.app).validateScope(synthesized.stack);

    // Assess
    expect(report.violations.filter((v) => v.severity === 'error')).toEqual([]);
    expect(report.violations).toEqual([]);
    // cdk-nag 3 reports through the validation plugin API, not annotations; CDK itself must have no errors either.
    expect(Annotations.fromStack(synthesized.stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
    expect(Annotations.fromStack(synthesized.stack).findError('*', Match.anyValue())).toEqual([]);
  });
});
