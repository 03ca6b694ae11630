/**
 * The synthesized CloudFormation template read as the local stack needs it: tables, queues and their policies,
 * functions (handler, runtime, memory, timeout, environment, role, asset folder in cdk.out), roles with their
 * policies, event source mappings, the sweeper's schedule and the API's methods. Values stay as the template holds
 * them (intrinsics unresolved): the local stack resolves them once it knows its physical names and endpoints.
 * A resource type the local stack cannot run is an error unless it is one it knowingly leaves out (alarms, log
 * groups, deployments...: AWS-side bookkeeping no function calls).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Json } from './intrinsics.js';

export interface TemplateResource {
  logicalId: string;
  type: string;
  properties: Json;
}

export interface TemplateTable extends TemplateResource {}

export interface TemplateQueue extends TemplateResource {
  visibilityTimeoutSeconds: number;
  messageRetentionSeconds?: number;
  /** Its dead-letter queue and after how many receives a message goes there. */
  redrive?: { deadLetterLogicalId: string; maxReceiveCount: number };
}

export interface TemplateFunction extends TemplateResource {
  handler: string;
  runtime: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** Unresolved: values may be intrinsics. */
  environment: Record<string, Json>;
  roleLogicalId: string;
  /** The function's built asset (cdk.out/asset.<hash>), what `cdk deploy` uploads. */
  codeDir: string;
  logGroupLogicalId?: string;
  applicationLogLevel?: string;
  logFormat?: string;
}

export interface TemplateRole extends TemplateResource {
  /** Identity policies attached to the role (its AWS::IAM::Policy resources and inline policies), unresolved. */
  policies: Array<{ name: string; document: Json }>;
}

export interface TemplateEventSource extends TemplateResource {
  functionLogicalId: string;
  queueLogicalId: string;
  batchSize: number;
  batchingWindowSeconds: number;
  maxConcurrency?: number;
  reportBatchItemFailures: boolean;
  enabled: boolean;
}

export interface TemplateSchedule extends TemplateResource {
  expression: string;
  /** The rate in milliseconds (`rate(5 minutes)`); cron schedules are not run locally. */
  intervalMs: number;
  functionLogicalId: string;
  enabled: boolean;
}

export interface TemplateApiMethod {
  logicalId: string;
  httpMethod: string;
  /** The resource path, e.g. `/v1/jobs/{id}`. */
  path: string;
  authorizationType: string;
  functionLogicalId: string;
}

export interface TemplateApi extends TemplateResource {
  stageName: string;
  /** The API's resource policy, if any (unresolved). */
  policy?: Json;
  methods: TemplateApiMethod[];
}

export interface StackTemplate {
  /** The template file in cdk.out. */
  path: string;
  stackName: string;
  resources: TemplateResource[];
  tables: TemplateTable[];
  queues: TemplateQueue[];
  queuePolicies: Array<TemplateResource & { queueLogicalIds: string[]; document: Json }>;
  functions: TemplateFunction[];
  roles: TemplateRole[];
  eventSources: TemplateEventSource[];
  schedules: TemplateSchedule[];
  apis: TemplateApi[];
}

export class TemplateError extends Error {}

/**
 * Resource types the local stack knowingly does not run: monitoring, log plumbing, API Gateway bookkeeping, and
 * permissions that let AWS services invoke the functions (the local runtime invokes them itself).
 */
const NOT_RUN = new Set([
  'AWS::CDK::Metadata',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::Dashboard',
  'AWS::Logs::LogGroup',
  'AWS::Lambda::Permission',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Stage',
  'AWS::ApiGateway::Account',
  'AWS::ApiGateway::GatewayResponse',
  'AWS::ApiGateway::Model',
  'AWS::ApiGateway::RequestValidator',
  'AWS::ApiGateway::Resource',
  'AWS::SNS::Topic',
  'AWS::SNS::TopicPolicy',
  'AWS::SNS::Subscription',
  'AWS::KMS::Key',
  'AWS::EC2::SecurityGroup',
]);

/** Reads `<cdkOut>/<stackName>.template.json`. */
export function readStackTemplate(cdkOut: string, stackName: string): StackTemplate {
  const path = join(cdkOut, `${stackName}.template.json`);
  return parseStackTemplate(JSON.parse(readFileSync(path, 'utf8')), { path, cdkOut, stackName });
}

export function parseStackTemplate(
  template: Json,
  where: { path: string; cdkOut: string; stackName: string },
): StackTemplate {
  const resources: TemplateResource[] = Object.entries(template.Resources ?? {}).map(
    ([logicalId, resource]: [string, Json]) => ({
      logicalId,
      type: resource.Type,
      properties: resource.Properties ?? {},
    }),
  );
  const byType = (type: string) => resources.filter((resource) => resource.type === type);
  const known = new Set([
    ...NOT_RUN,
    'AWS::DynamoDB::Table',
    'AWS::SQS::Queue',
    'AWS::SQS::QueuePolicy',
    'AWS::Lambda::Function',
    'AWS::IAM::Role',
    'AWS::IAM::Policy',
    'AWS::Lambda::EventSourceMapping',
    'AWS::Events::Rule',
    'AWS::ApiGateway::RestApi',
    'AWS::ApiGateway::Method',
  ]);
  const unknown = resources.filter((resource) => !known.has(resource.type));
  if (unknown.length > 0) {
    throw new TemplateError(
      `${where.path}: the local stack cannot run ${unknown.map((r) => `${r.logicalId} (${r.type})`).join(', ')}`,
    );
  }

  const policies = byType('AWS::IAM::Policy');
  const roles: TemplateRole[] = byType('AWS::IAM::Role').map((role) => ({
    ...role,
    policies: [
      ...(role.properties.Policies ?? []).map((policy: Json) => ({
        name: String(policy.PolicyName),
        document: policy.PolicyDocument,
      })),
      ...policies
        .filter((policy) => (policy.properties.Roles ?? []).some((r: Json) => refOf(r) === role.logicalId))
        .map((policy) => ({ name: policy.logicalId, document: policy.properties.PolicyDocument })),
    ],
  }));
  for (const role of roles) {
    if (role.properties.ManagedPolicyArns?.length) {
      throw new TemplateError(`${role.logicalId}: managed policies are not evaluated locally; inline them`);
    }
  }

  return {
    path: where.path,
    stackName: where.stackName,
    resources,
    tables: byType('AWS::DynamoDB::Table'),
    queues: byType('AWS::SQS::Queue').map((queue) => queueOf(queue)),
    queuePolicies: byType('AWS::SQS::QueuePolicy').map((policy) => ({
      ...policy,
      queueLogicalIds: (policy.properties.Queues ?? []).map((q: Json) => required(refOf(q), policy, 'Queues')),
      document: policy.properties.PolicyDocument,
    })),
    functions: byType('AWS::Lambda::Function').map((fn) => functionOf(fn, where.cdkOut)),
    roles,
    eventSources: byType('AWS::Lambda::EventSourceMapping').map((mapping) => eventSourceOf(mapping)),
    schedules: byType('AWS::Events::Rule').map((rule) => scheduleOf(rule)),
    apis: byType('AWS::ApiGateway::RestApi').map((api) => apiOf(api, resources)),
  };
}

function queueOf(queue: TemplateResource): TemplateQueue {
  const props = queue.properties;
  if (props.FifoQueue) throw new TemplateError(`${queue.logicalId}: FIFO queues are not run locally`);
  const redrive = props.RedrivePolicy;
  return {
    ...queue,
    // SQS's own default when the template leaves it out.
    visibilityTimeoutSeconds: Number(props.VisibilityTimeout ?? 30),
    ...(props.MessageRetentionPeriod !== undefined
      ? { messageRetentionSeconds: Number(props.MessageRetentionPeriod) }
      : {}),
    ...(redrive
      ? {
          redrive: {
            deadLetterLogicalId: required(getAttOf(redrive.deadLetterTargetArn)?.[0], queue, 'RedrivePolicy'),
            maxReceiveCount: Number(redrive.maxReceiveCount),
          },
        }
      : {}),
  };
}

function functionOf(fn: TemplateResource, cdkOut: string): TemplateFunction {
  const props = fn.properties;
  if (props.PackageType === 'Image') throw new TemplateError(`${fn.logicalId}: image functions are not run locally`);
  // The asset's S3 key is `<hash>.zip`; cdk.out holds the same files unzipped as asset.<hash>.
  const key = String(props.Code?.S3Key ?? '');
  const hash = key.replace(/\.zip$/, '');
  const codeDir = join(cdkOut, `asset.${hash}`);
  if (!hash || !existsSync(codeDir)) {
    throw new TemplateError(`${fn.logicalId}: its code asset ${key || '(none)'} is not in ${cdkOut}`);
  }
  const logGroupLogicalId = refOf(props.LoggingConfig?.LogGroup);
  return {
    ...fn,
    handler: String(props.Handler),
    runtime: String(props.Runtime),
    // Lambda's defaults when the template leaves them out.
    memoryMb: Number(props.MemorySize ?? 128),
    timeoutSeconds: Number(props.Timeout ?? 3),
    environment: props.Environment?.Variables ?? {},
    roleLogicalId: required(getAttOf(props.Role)?.[0], fn, 'Role'),
    codeDir,
    ...(logGroupLogicalId ? { logGroupLogicalId } : {}),
    ...(props.LoggingConfig?.ApplicationLogLevel
      ? { applicationLogLevel: props.LoggingConfig.ApplicationLogLevel }
      : {}),
    ...(props.LoggingConfig?.LogFormat ? { logFormat: props.LoggingConfig.LogFormat } : {}),
  };
}

function eventSourceOf(mapping: TemplateResource): TemplateEventSource {
  const props = mapping.properties;
  const queueLogicalId = required(getAttOf(props.EventSourceArn)?.[0], mapping, 'EventSourceArn');
  return {
    ...mapping,
    functionLogicalId: required(refOf(props.FunctionName), mapping, 'FunctionName'),
    queueLogicalId,
    // Lambda's SQS defaults when the template leaves them out.
    batchSize: Number(props.BatchSize ?? 10),
    batchingWindowSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0),
    ...(props.ScalingConfig?.MaximumConcurrency !== undefined
      ? { maxConcurrency: Number(props.ScalingConfig.MaximumConcurrency) }
      : {}),
    reportBatchItemFailures: (props.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
    enabled: props.Enabled !== false,
  };
}

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

function scheduleOf(rule: TemplateResource): TemplateSchedule {
  const props = rule.properties;
  const expression = String(props.ScheduleExpression ?? '');
  const rate = RATE.exec(expression);
  if (!rate) throw new TemplateError(`${rule.logicalId}: only rate() schedules run locally, not "${expression}"`);
  const targets = props.Targets ?? [];
  if (targets.length !== 1) throw new TemplateError(`${rule.logicalId}: expected one target, found ${targets.length}`);
  return {
    ...rule,
    expression,
    intervalMs: Number(rate[1]) * (UNIT_MS[(rate[2] as string).replace(/s$/, '')] ?? 0),
    functionLogicalId: required(getAttOf(targets[0].Arn)?.[0], rule, 'Targets[0].Arn'),
    enabled: props.State !== 'DISABLED',
  };
}

function apiOf(api: TemplateResource, resources: TemplateResource[]): TemplateApi {
  const byId = new Map(resources.map((resource) => [resource.logicalId, resource]));
  const pathOf = (resourceId: Json): string => {
    // The root resource is the API's RootResourceId attribute.
    if (getAttOf(resourceId)?.[1] === 'RootResourceId') return '';
    const resource = byId.get(refOf(resourceId) ?? '');
    if (!resource) throw new TemplateError(`${api.logicalId}: an API resource it names is not in the template`);
    return `${pathOf(resource.properties.ParentId)}/${resource.properties.PathPart}`;
  };
  const stages = resources.filter(
    (r) => r.type === 'AWS::ApiGateway::Stage' && refOf(r.properties.RestApiId) === api.logicalId,
  );
  const methods = resources
    .filter((r) => r.type === 'AWS::ApiGateway::Method' && refOf(r.properties.RestApiId) === api.logicalId)
    .map((method) => {
      const integration = method.properties.Integration ?? {};
      if (integration.Type !== 'AWS_PROXY') {
        throw new TemplateError(`${method.logicalId}: only Lambda proxy integrations run locally`);
      }
      return {
        logicalId: method.logicalId,
        httpMethod: String(method.properties.HttpMethod),
        path: pathOf(method.properties.ResourceId) || '/',
        authorizationType: String(method.properties.AuthorizationType ?? 'NONE'),
        functionLogicalId: required(integrationFunction(integration.Uri), method, 'Integration.Uri'),
      };
    });
  return {
    ...api,
    stageName: String(stages[0]?.properties.StageName ?? 'prod'),
    ...(api.properties.Policy ? { policy: api.properties.Policy } : {}),
    methods,
  };
}

/** The function a proxy integration's URI names (`...functions/${Fn::GetAtt [F, Arn]}/invocations`). */
function integrationFunction(uri: Json): string | undefined {
  const found: string[] = [];
  const walk = (value: Json) => {
    const att = getAttOf(value);
    if (att && att[1] === 'Arn') found.push(att[0]);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(uri);
  return found[0];
}

function refOf(value: Json): string | undefined {
  return value && typeof value === 'object' && typeof value.Ref === 'string' ? value.Ref : undefined;
}

function getAttOf(value: Json): [string, string] | undefined {
  const att = value && typeof value === 'object' ? value['Fn::GetAtt'] : undefined;
  if (Array.isArray(att)) return [String(att[0]), String(att[1])];
  if (typeof att === 'string') return att.split(/\.(.*)/s).slice(0, 2) as [string, string];
  return undefined;
}

function required(value: string | undefined, resource: TemplateResource, property: string): string {
  if (!value) throw new TemplateError(`${resource.logicalId}: ${property} does not name a resource of the template`);
  return value;
}
