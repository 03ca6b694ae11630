/**
 * The events the benchmark invokes the bundles with, shaped as Lambda delivers them: SQS batches (records as
 * infra/local/lambda-runtime/sqs-event-source.ts builds them, bodies per shared/jobs/messages.ts), an API Gateway
 * REST proxy event (as api-gateway-front-door.ts builds it, the caller identity IAM authorization fills in) and the
 * EventBridge scheduled event the sweeper's rule sends.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, ScheduledEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { anonymousIdentity, scheduledEvent } from '../infra/local/lambda-runtime/event-shapes.js';
import type { CancelMessage, PollMessage, SubmitMessage } from '../shared/jobs/messages.js';

export const BENCH_ACCOUNT_ID = '123456789012';

export interface EventSource {
  region: string;
  /** Default BENCH_ACCOUNT_ID. */
  accountId?: string;
}

/** The job fields a message needs. */
export interface JobRef {
  jobId: string;
  pollGeneration: number;
}

export function submitMessage(job: Pick<JobRef, 'jobId'>): SubmitMessage {
  return { jobId: job.jobId };
}

/** A poll of the job's current chain (an older generation would be dropped as stale). */
export function pollMessage(job: JobRef, attempt = 0): PollMessage {
  return { jobId: job.jobId, generation: job.pollGeneration, attempt };
}

export function cancelMessage(job: Pick<JobRef, 'jobId'>): CancelMessage {
  return { jobId: job.jobId };
}

/** One record per message, as an event source mapping with batch size 10 hands them over. */
export function sqsEvent(
  messages: readonly unknown[],
  queueName: string,
  source: EventSource,
  now = Date.now(),
): SQSEvent {
  const accountId = source.accountId ?? BENCH_ACCOUNT_ID;
  return {
    Records: messages.map((message) => sqsRecord(JSON.stringify(message), queueName, { ...source, accountId }, now)),
  };
}

function sqsRecord(body: string, queueName: string, source: Required<EventSource>, now: number): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: randomBytes(48).toString('base64'),
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(now),
      SenderId: 'AIDAIT2UOQQY3AUEKVGXU',
      ApproximateFirstReceiveTimestamp: String(now),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${source.region}:${source.accountId}:${queueName}`,
    awsRegion: source.region,
  };
}

export interface ApiCallerIdentity {
  accessKey: string;
  userArn: string;
}

/** GET /v1/jobs/{id} as API Gateway (REST API, Lambda proxy integration, IAM authorization) passes it on. */
export function getJobEvent(
  jobId: string,
  caller: ApiCallerIdentity,
  source: EventSource,
  now = new Date(),
): APIGatewayProxyEvent {
  const accountId = source.accountId ?? BENCH_ACCOUNT_ID;
  const path = `/v1/jobs/${jobId}`;
  const headers: Record<string, string> = {
    Accept: 'application/json',
    Host: 'abc123defg.execute-api.amazonaws.com',
    'User-Agent': 'flyte-databricks-lambda-bench',
    'X-Forwarded-For': '127.0.0.1',
    'X-Forwarded-Port': '443',
    'X-Forwarded-Proto': 'https',
  };
  return {
    resource: '/v1/jobs/{id}',
    path,
    httpMethod: 'GET',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { id: jobId },
    stageVariables: null,
    requestContext: {
      resourceId: 'a1b2c3',
      resourcePath: '/v1/jobs/{id}',
      httpMethod: 'GET',
      extendedRequestId: randomBytes(8).toString('base64url'),
      requestTime: now.toUTCString(),
      path: `/prod${path}`,
      accountId,
      protocol: 'HTTP/1.1',
      stage: 'prod',
      domainPrefix: 'abc123defg',
      requestTimeEpoch: now.getTime(),
      requestId: randomUUID(),
      identity: {
        ...anonymousIdentity('127.0.0.1', headers['User-Agent'] ?? null),
        accessKey: caller.accessKey,
        accountId,
        caller: caller.userArn,
        user: caller.userArn,
        userArn: caller.userArn,
      },
      domainName: headers.Host ?? '',
      apiId: 'abc123defg',
      authorizer: undefined,
    },
    body: null,
    isBase64Encoded: false,
  };
}

/** What the sweeper's EventBridge schedule rule sends. */
export function sweepEvent(ruleName: string, source: EventSource, now = new Date()): ScheduledEvent {
  return scheduledEvent({ ruleName, region: source.region, accountId: source.accountId ?? BENCH_ACCOUNT_ID, now });
}
