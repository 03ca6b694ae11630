import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../../../infra/local/template/intrinsics.js';
import {
  parseStackTemplate,
  readStackTemplate,
  type StackTemplate,
  TemplateError,
} from '../../../infra/local/template/stack-template.js';
import { synthLocalTemplate } from '../../../infra/local/template/synth-local-template.js';

const FUNCTIONS = ['ApiFunction', 'SubmitFunction', 'PollFunction', 'CancelFunction', 'SweepFunction'];

describe('readStackTemplate on the local synth', () => {
  let template: StackTemplate;
  let raw: Json;
  const rawOf = (logicalId: string): Json => {
    const resource = raw.Resources[logicalId];
    if (!resource) throw new Error(`the raw template has no ${logicalId}`);
    return resource.Properties;
  };
  const rawOfType = (type: string): Array<[string, Json]> =>
    Object.entries(raw.Resources as Record<string, Json>)
      .filter(([, resource]) => resource.Type === type)
      .map(([logicalId, resource]) => [logicalId, resource.Properties]);

  beforeAll(async () => {
    const { cdkOut, stackName } = await synthLocalTemplate();
    template = readStackTemplate(cdkOut, stackName);
    raw = JSON.parse(readFileSync(join(cdkOut, `${stackName}.template.json`), 'utf8'));
  });

  it('reads every resource of the template', () => {
    expect(template.stackName).toBe('FlyteDatabricksLambda');
    expect(template.resources.map((r) => r.logicalId).sort()).toEqual(Object.keys(raw.Resources).sort());
  });

  it('has the five functions, with the handler, runtime, timeout and memory the template holds', () => {
    expect(template.functions.map((fn) => fn.logicalId).sort()).toEqual([...FUNCTIONS].sort());
    for (const fn of template.functions) {
      const props = rawOf(fn.logicalId);
      expect(fn.handler).toBe('index.handler');
      expect(fn.runtime).toBe('nodejs22.x');
      expect(fn.timeoutSeconds).toBe(props.Timeout);
      expect(fn.memoryMb).toBe(props.MemorySize);
      expect(fn.environment).toEqual(props.Environment.Variables);
      expect(fn.roleLogicalId).toBe(props.Role['Fn::GetAtt'][0]);
      expect(existsSync(fn.codeDir)).toBe(true);
      expect(existsSync(join(fn.codeDir, 'index.mjs'))).toBe(true);
      expect(fn.codeDir).toContain(String(props.Code.S3Key).replace(/\.zip$/, ''));
      expect(fn.logGroupLogicalId).toBe(props.LoggingConfig.LogGroup.Ref);
      expect(fn.applicationLogLevel).toBe(props.LoggingConfig.ApplicationLogLevel);
      expect(fn.logFormat).toBe(props.LoggingConfig.LogFormat);
    }
  });

  it('has three SQS event sources with the batch size, concurrency and response types the template holds', () => {
    const raws = rawOfType('AWS::Lambda::EventSourceMapping');
    expect(raws).toHaveLength(3);
    expect(template.eventSources).toHaveLength(3);
    expect(template.eventSources.map((source) => source.functionLogicalId).sort()).toEqual(
      ['CancelFunction', 'PollFunction', 'SubmitFunction'].sort(),
    );
    for (const [logicalId, props] of raws) {
      const source = template.eventSources.find((s) => s.logicalId === logicalId);
      if (!source) throw new Error(`no event source ${logicalId}`);
      expect(source.functionLogicalId).toBe(props.FunctionName.Ref);
      expect(source.queueLogicalId).toBe(props.EventSourceArn['Fn::GetAtt'][0]);
      expect(source.batchSize).toBe(props.BatchSize);
      expect(source.maxConcurrency).toBe(props.ScalingConfig.MaximumConcurrency);
      expect(source.reportBatchItemFailures).toBe(
        (props.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
      );
      expect(source.reportBatchItemFailures).toBe(true);
      expect(source.batchingWindowSeconds).toBe(props.MaximumBatchingWindowInSeconds ?? 0);
      expect(source.enabled).toBe(props.Enabled ?? true);
    }
    // Each event source reads its own function's queue.
    for (const source of template.eventSources) {
      expect(source.queueLogicalId.startsWith(source.functionLogicalId.replace(/Function$/, 'Queue'))).toBe(true);
    }
  });

  it("reads the queues' visibility timeouts, retention and redrive as the template holds them", () => {
    const raws = rawOfType('AWS::SQS::Queue');
    expect(template.queues).toHaveLength(raws.length);
    expect(template.queues.filter((q) => q.redrive)).toHaveLength(3);
    for (const [logicalId, props] of raws) {
      const queue = template.queues.find((q) => q.logicalId === logicalId);
      if (!queue) throw new Error(`no queue ${logicalId}`);
      expect(queue.visibilityTimeoutSeconds).toBe(props.VisibilityTimeout ?? 30);
      expect(queue.messageRetentionSeconds).toBe(props.MessageRetentionPeriod);
      if (props.RedrivePolicy) {
        expect(queue.redrive).toEqual({
          deadLetterLogicalId: props.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0],
          maxReceiveCount: props.RedrivePolicy.maxReceiveCount,
        });
        expect(raw.Resources[queue.redrive?.deadLetterLogicalId ?? ''].Type).toBe('AWS::SQS::Queue');
      } else {
        expect(queue.redrive).toBeUndefined();
      }
    }
  });

  it("reads the queues' policies", () => {
    const raws = rawOfType('AWS::SQS::QueuePolicy');
    expect(template.queuePolicies).toHaveLength(raws.length);
    for (const [logicalId, props] of raws) {
      const policy = template.queuePolicies.find((p) => p.logicalId === logicalId);
      expect(policy?.queueLogicalIds).toEqual(props.Queues.map((q: Json) => q.Ref));
      expect(policy?.document).toEqual(props.PolicyDocument);
    }
  });

  it('reads the tables', () => {
    expect(template.tables.map((t) => t.logicalId).sort()).toEqual(
      rawOfType('AWS::DynamoDB::Table')
        .map(([logicalId]) => logicalId)
        .sort(),
    );
  });

  it("has the sweeper's schedule: rate(5 minutes), every 300000 ms, invoking SweepFunction", () => {
    expect(template.schedules).toHaveLength(1);
    const [schedule] = template.schedules;
    expect(schedule?.expression).toBe('rate(5 minutes)');
    expect(schedule?.intervalMs).toBe(300_000);
    expect(schedule?.functionLogicalId).toBe('SweepFunction');
    expect(schedule?.enabled).toBe(true);
  });

  it("has the API's methods, all AWS_IAM and integrated with ApiFunction", () => {
    expect(template.apis).toHaveLength(1);
    const [api] = template.apis;
    expect(api?.stageName).toBe('prod');
    const methods = (api?.methods ?? []).map((m) => `${m.httpMethod} ${m.path}`).sort();
    expect(methods).toEqual(
      ['POST /v1/jobs', 'GET /v1/jobs', 'GET /v1/jobs/{id}', 'DELETE /v1/jobs/{id}', 'GET /v1/openapi.json'].sort(),
    );
    expect(api?.methods).toHaveLength(rawOfType('AWS::ApiGateway::Method').length);
    for (const method of api?.methods ?? []) {
      expect(method.authorizationType).toBe('AWS_IAM');
      expect(method.functionLogicalId).toBe('ApiFunction');
    }
    expect(api?.policy).toEqual(rawOf(api?.logicalId ?? '').Policy);
  });

  it("collects each role's policies", () => {
    expect(template.roles).toHaveLength(rawOfType('AWS::IAM::Role').length);
    for (const fn of template.functions) {
      const role = template.roles.find((r) => r.logicalId === fn.roleLogicalId);
      if (!role) throw new Error(`no role ${fn.roleLogicalId}`);
      // Every policy resource attached to the role, and only those.
      const attached = rawOfType('AWS::IAM::Policy')
        .filter(([, props]) => props.Roles.some((r: Json) => r.Ref === role.logicalId))
        .map(([logicalId, props]) => ({ name: logicalId, document: props.PolicyDocument }));
      expect(role.policies).toEqual(expect.arrayContaining(attached));
      expect(role.policies).toHaveLength(attached.length + (rawOf(role.logicalId).Policies?.length ?? 0));
      expect(role.policies.some((p) => p.name.startsWith(`${fn.logicalId}RoleDefaultPolicy`))).toBe(true);
    }
    const submitRole = template.roles.find(
      (r) => r.logicalId === template.functions.find((fn) => fn.logicalId === 'SubmitFunction')?.roleLogicalId,
    );
    const names = submitRole?.policies.map((p) => p.name) ?? [];
    expect(names.some((name) => name.startsWith('SubmitFunctionRoleDefaultPolicy'))).toBe(true);
    const secrets = submitRole?.policies.find((p) => p.name.startsWith('SubmitFunctionSecretsRead'));
    expect(secrets?.document.Statement[0].Action).toBe('secretsmanager:GetSecretValue');
  });
});

describe('parseStackTemplate refuses what the local stack cannot run', () => {
  let cdkOut: string;
  const HASH = 'abc123';

  beforeAll(() => {
    cdkOut = mkdtempSync(join(tmpdir(), 'fdl-stack-template-'));
    mkdirSync(join(cdkOut, `asset.${HASH}`));
  });
  afterAll(() => rmSync(cdkOut, { recursive: true, force: true }));

  const role = { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: {} } };
  const fn = (s3Key: string) => ({
    Type: 'AWS::Lambda::Function',
    Properties: {
      Code: { S3Bucket: 'b', S3Key: s3Key },
      Handler: 'index.handler',
      Runtime: 'nodejs22.x',
      Role: { 'Fn::GetAtt': ['Role', 'Arn'] },
    },
  });
  const parse = (resources: Record<string, Json>) =>
    parseStackTemplate(
      { Resources: resources },
      { path: join(cdkOut, 'Test.template.json'), cdkOut, stackName: 'Test' },
    );
  const errorOf = (run: () => unknown): TemplateError => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(TemplateError);
      return error as TemplateError;
    }
    throw new Error('expected a TemplateError, nothing was thrown');
  };

  it('accepts a minimal function with its asset, with Lambda defaults for what it leaves out', () => {
    const template = parse({ Role: role, Fn: fn(`${HASH}.zip`), Alarm: { Type: 'AWS::CloudWatch::Alarm' } });
    expect(template.functions).toEqual([
      expect.objectContaining({
        logicalId: 'Fn',
        codeDir: join(cdkOut, `asset.${HASH}`),
        memoryMb: 128,
        timeoutSeconds: 3,
        environment: {},
        roleLogicalId: 'Role',
      }),
    ]);
  });

  it('an unknown resource type, naming it', () => {
    const error = errorOf(() => parse({ Role: role, Bucket: { Type: 'AWS::S3::Bucket', Properties: {} } }));
    expect(error.message).toContain('Bucket (AWS::S3::Bucket)');
    expect(error.message).toContain('Test.template.json');
  });

  it('a cron schedule', () => {
    const error = errorOf(() =>
      parse({
        Role: role,
        Fn: fn(`${HASH}.zip`),
        Schedule: {
          Type: 'AWS::Events::Rule',
          Properties: {
            ScheduleExpression: 'cron(0 12 * * ? *)',
            Targets: [{ Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] }, Id: 'Target0' }],
          },
        },
      }),
    );
    expect(error.message).toContain('Schedule');
    expect(error.message).toContain('cron(0 12 * * ? *)');
  });

  it('a rate schedule in hours and days is read', () => {
    const rule = (expression: string) => ({
      Type: 'AWS::Events::Rule',
      Properties: { ScheduleExpression: expression, Targets: [{ Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] }, Id: 'T' }] },
    });
    const template = parse({ Role: role, Fn: fn(`${HASH}.zip`), A: rule('rate(1 hour)'), B: rule('rate(2 days)') });
    expect(template.schedules.map((s) => s.intervalMs)).toEqual([3_600_000, 172_800_000]);
  });

  it('a function whose asset folder is missing', () => {
    const error = errorOf(() => parse({ Role: role, Fn: fn('deadbeef.zip') }));
    expect(error.message).toContain('Fn');
    expect(error.message).toContain('deadbeef.zip');
  });

  it('a managed policy on a role', () => {
    const error = errorOf(() =>
      parse({
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: { ManagedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'] },
        },
      }),
    );
    expect(error.message).toContain('Role');
    expect(error.message).toContain('managed policies');
  });
});
