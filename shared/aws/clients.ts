/**
 * AWS SDK v3 clients, created once per container and only when first used. Endpoints come from the SDK's own
 * AWS_ENDPOINT_URL_<SERVICE> variables, so the same code reaches AWS, LocalStack or the embedded local stack.
 * DynamoDB and SQS serve every invocation and are loaded with the function; Secrets Manager and STS serve only some
 * auth modes, so their SDK packages are imported on first use and sit in chunks of their own, off the cold start.
 *
 * Every call fits the invocation's deadline (sdk-deadline.ts): DynamoDB, Secrets Manager and STS calls must end
 * by the record's deadline; SQS sends may use the safety margin below it, which exists for them (a deferral is an SQS
 * send, and so is the next poll), up to the invocation's end less ANSWER_RESERVE_MS. With tracing on, every call is
 * an X-Ray subsegment (shared/tracing/tracing.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { STSClient } from '@aws-sdk/client-sts';
import { handOffRemainingMs, remainingMs } from '../invocation-deadline.js';
import { traceAwsClient } from '../tracing/tracing.js';
import { addDeadlineMiddleware, deadlineExtension } from './sdk-deadline.js';

/**
 * Every AWS call has a bound of its own: without one the SDK's HTTP handler waits on a connection that never answers
 * until Lambda ends the invocation, taking the whole batch with it. 3 s to connect and 10 s for an answer, per attempt
 * (the SDK makes 3, 4 for DynamoDB), is far above what DynamoDB, SQS, Secrets Manager and STS take. Without
 * `throwOnRequestTimeout`, @smithy/node-http-handler (4.x) only logs a warning when requestTimeout passes and keeps
 * waiting, up to the service's idle-socket default (5 minutes for DynamoDB, 15 for SQS). Inside an invocation the
 * deadline (sdk-deadline.ts) cuts each attempt shorter still when less is left.
 */
export const AWS_HTTP_TIMEOUTS = {
  connectionTimeout: 3000,
  requestTimeout: 10_000,
  throwOnRequestTimeout: true,
} as const;

/** How long a client's calls may take: until the record's deadline, or (SQS) until the invocation hands over. */
export type AwsCallBound = 'record' | 'hand-off';

/** Constructor options every client gets: the HTTP timeouts above, a handler and retry strategy within the deadline. */
export type AwsClientOptions = ReturnType<typeof awsClientOptions>;

function awsClientOptions(what: string, left: () => number) {
  return { requestHandler: AWS_HTTP_TIMEOUTS, extensions: [deadlineExtension(left, what)] };
}

/**
 * A client whose calls fit the deadline: `make` builds it from the options given (timeouts, deadline-aware handler and
 * retry strategy), then a deadline cut short becomes a DeferError. `what` names the service in messages. Traced when
 * tracing is on.
 */
export function deadlineAwareClient<C extends Parameters<typeof addDeadlineMiddleware>[0]>(
  make: (options: AwsClientOptions) => C,
  what: string,
  bound: AwsCallBound = 'record',
): C {
  const left = bound === 'record' ? () => remainingMs() : () => handOffRemainingMs();
  return traceAwsClient(addDeadlineMiddleware(make(awsClientOptions(what, left)), left, what));
}

let dynamodb: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;
let secretsManager: Promise<SecretsManagerClient> | undefined;
let sts: Promise<STSClient> | undefined;

export const dynamoDbClient = (): DynamoDBClient => {
  dynamodb ??= deadlineAwareClient((options) => new DynamoDBClient(options), 'DynamoDB');
  return dynamodb;
};
export const sqsClient = (): SQSClient => {
  sqs ??= deadlineAwareClient((options) => new SQSClient(options), 'SQS', 'hand-off');
  return sqs;
};
export const secretsManagerClient = (): Promise<SecretsManagerClient> => {
  secretsManager ??= import('./secrets-manager-sdk.js').then((sdk) =>
    deadlineAwareClient((options) => new sdk.SecretsManagerClient(options), 'Secrets Manager'),
  );
  return secretsManager;
};
/** Regional (AWS_REGION): GetWebIdentityToken is not served by the global endpoint. */
export const stsClient = (): Promise<STSClient> => {
  sts ??= import('./sts-sdk.js').then((sdk) => deadlineAwareClient((options) => new sdk.STSClient(options), 'STS'));
  return sts;
};
