/**
 * Shared by the property-based tests: the environment the functions' config needs, a Lambda context, API Gateway
 * and SQS events, and arbitraries for valid requests and hostile JSON text.
 */
import type { APIGatewayProxyEvent, Context, SQSRecord } from 'aws-lambda';
import fc from 'fast-check';

export const FUNCTION_ENV = {
  JOBS_TABLE_NAME: 'jobs',
  SUBMIT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/submit',
  POLL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/poll',
  CANCEL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/cancel',
  FLYTE_DATABRICKS_INSTANCE: 'dbc-1.cloud.databricks.com',
  AWS_REGION: 'us-east-1',
} as const;

/** Sets the env the functions' config reads; call before the handler module is imported. */
export function setFunctionEnv(extra: Record<string, string> = {}): void {
  for (const [key, value] of Object.entries({ ...FUNCTION_ENV, ...extra })) process.env[key] = value;
}

export const lambdaContext = (functionName = 'fuzz'): Context => ({
  callbackWaitsForEmptyEventLoop: true,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: '2025/03/01/[$LATEST]0123456789abcdef',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

export const CALLER_ARN = 'arn:aws:sts::123456789012:assumed-role/flyte-task-role/botocore-session-1';

export function apiEvent(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  options: { body?: string | null; isBase64Encoded?: boolean; userArn?: string | null; caller?: string | null } = {},
): APIGatewayProxyEvent {
  const id = /^\/v1\/jobs\/([^/]+)$/.exec(path)?.[1];
  return {
    resource: id ? '/v1/jobs/{id}' : path,
    path,
    httpMethod: method,
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: { 'Content-Type': ['application/json'] },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: id ? { id } : null,
    stageVariables: null,
    body: options.body ?? null,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdef1234',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      path: `/prod${path}`,
      stage: 'prod',
      requestId: 'req-1',
      requestTimeEpoch: 1_740_830_400_000,
      resourceId: 'a1b2c3',
      resourcePath: id ? '/v1/jobs/{id}' : path,
      identity: {
        accessKey: 'ASIAEXAMPLEEXAMPLE12',
        accountId: '123456789012',
        apiKey: null,
        apiKeyId: null,
        caller: options.caller === undefined ? 'AROAEXAMPLEEXAMPLE123:botocore-session-1' : options.caller,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '10.0.12.34',
        user: 'AROAEXAMPLEEXAMPLE123:botocore-session-1',
        userAgent: 'fuzz',
        userArn: options.userArn === undefined ? CALLER_ARN : options.userArn,
      },
    },
  };
}

let messageCounter = 0;

export function sqsRecord(body: string, receiveCount = 1): SQSRecord {
  messageCounter += 1;
  return {
    messageId: `00000000-0000-4000-8000-${String(messageCounter).padStart(12, '0')}`,
    receiptHandle: `rh-${messageCounter}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '1740830400123',
      SenderId: 'AROAEXAMPLEEXAMPLE123:producer',
      ApproximateFirstReceiveTimestamp: '1740830400456',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:fuzz',
    awsRegion: 'us-east-1',
  };
}

/** A lower-case RFC 1123 label, as a namespace must be. */
export const namespaceArb = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/);
/** Printable ASCII without spaces, 1..64 chars. */
export const executionIdArb = fc.stringMatching(/^[\x21-\x7e]{1,64}$/);

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const text = fc.string({ maxLength: 40, unit: 'binary' });
const safeKey = fc.string({ maxLength: 20 }).filter((key) => !FORBIDDEN.has(key));
const stringMap = fc.dictionary(safeKey, text, { maxKeys: 4, noNullPrototype: true });

/** A request POST /v1/jobs must accept: every field within the schema, and some compute configuration. */
export const validRequestArb = fc.record(
  {
    namespace: namespaceArb,
    executionId: executionIdArb,
    task: fc.record(
      {
        databricksConf: fc.oneof(
          fc.record(
            {
              run_name: text,
              new_cluster: fc.record({
                spark_version: fc.constant('15.4.x-scala2.12'),
                node_type_id: fc.constantFrom('m6i.large', 'i3.xlarge'),
                num_workers: fc.nat(64),
              }),
              timeout_seconds: fc.nat(86_400),
            },
            { requiredKeys: ['new_cluster'] },
          ),
          fc.record({ existing_cluster_id: fc.stringMatching(/^[0-9a-z-]{1,30}$/) }),
          fc.record({ environment_key: fc.constantFrom('default', 'env1') }),
        ),
        databricksInstance: fc.constantFrom(
          'dbc-1.cloud.databricks.com',
          'https://dbc-2.cloud.databricks.com',
          'adb-123.4.azuredatabricks.net/',
        ),
        databricksTokenSecret: fc.constantFrom('databricks-token', 'team.token'),
        notebookPath: fc.constantFrom('/Users/a@b.c/nb', '/Repos/x/y'),
        notebookBaseParameters: stringMap,
        sparkConf: stringMap,
        databricksAuthType: fc.constantFrom('pat', 'oauth_m2m', 'oidc_federation'),
      },
      { requiredKeys: ['databricksConf'] },
    ),
    container: fc.record(
      {
        image: fc.constantFrom('ghcr.io/flyteorg/flytekit:py3.11-latest', 'python:3.11'),
        args: fc.array(text, { maxLength: 6 }),
        env: fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,20}$/), text, { maxKeys: 4, noNullPrototype: true }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['namespace', 'executionId', 'task'] },
);

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A sentinel the text-level helpers below replace with raw JSON that JSON.stringify cannot write. */
export const RAW = '\u0000RAW\u0000';

/** Replaces the first `"<RAW>"` in JSON text by raw JSON (a number literal like 1e400, deep nesting ...). */
export function spliceRaw(jsonText: string, raw: string): string {
  // A function, not a string: `raw` may contain `$&` and the like, which a replacement string would expand.
  return jsonText.replace(JSON.stringify(RAW), () => raw);
}

/** JSON texts the limits must refuse, with the field the refusal must name (raw placed at task.databricksConf.x). */
export const hostileRawArb: fc.Arbitrary<{ raw: string; field: string }> = fc.oneof(
  fc
    .constantFrom('1e400', '-1e400', '9007199254740992', '-9007199254740993', '1e16', '123456789012345678901234567890')
    .map((raw) => ({ raw, field: 'task.databricksConf.x' })),
  fc.constantFrom('__proto__', 'constructor', 'prototype').chain((key) =>
    fc.jsonValue({ maxDepth: 2 }).map((inner) => ({
      raw: `{"ok":1,${JSON.stringify(key)}:${JSON.stringify(inner)}}`,
      field: `task.databricksConf.x.${key}`,
    })),
  ),
  // Deep enough to break the databricksConf depth limit (16), the document limit (32), or far beyond.
  // x's nesting of `depth` objects sits 3 levels down (document, task, databricksConf): from 30 on, the document
  // limit trips first at its 33rd level; below that, the databricksConf limit at its 17th (databricksConf is 1).
  fc.integer({ min: 16, max: 3000 }).map((depth) => ({
    raw: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
    field: `task.databricksConf.x${'.a'.repeat(depth >= 30 ? 29 : 15)}`,
  })),
  fc.integer({ min: 32_769, max: 40_000 }).map((length) => ({
    raw: JSON.stringify('a'.repeat(length)),
    field: 'task.databricksConf.x',
  })),
);
