/**
 * AWS SDK v3 clients, created once per container and only when first used. Endpoints come from the SDK's own
 * AWS_ENDPOINT_URL_<SERVICE> variables, so the same code reaches AWS, LocalStack or the embedded local stack.
 * DynamoDB and SQS serve every invocation and are loaded with the function; Secrets Manager and STS serve only some
 * auth modes, so their SDK packages are imported on first use and sit in chunks of their own, off the cold start.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { STSClient } from '@aws-sdk/client-sts';

/**
 * Every AWS call has a bound of its own: without one the SDK's HTTP handler waits on a connection that never answers
 * until Lambda ends the invocation, taking the whole batch with it. 3 s to connect and 10 s for an answer, per attempt
 * (the SDK makes 3), is far above what DynamoDB, SQS, Secrets Manager and STS take.
 */
export const AWS_HTTP_TIMEOUTS = { connectionTimeout: 3000, requestTimeout: 10_000 } as const;
const clientOptions = { requestHandler: AWS_HTTP_TIMEOUTS };

let dynamodb: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;
let secretsManager: Promise<SecretsManagerClient> | undefined;
let sts: Promise<STSClient> | undefined;

export const dynamoDbClient = (): DynamoDBClient => {
  dynamodb ??= new DynamoDBClient(clientOptions);
  return dynamodb;
};
export const sqsClient = (): SQSClient => {
  sqs ??= new SQSClient(clientOptions);
  return sqs;
};
export const secretsManagerClient = (): Promise<SecretsManagerClient> => {
  secretsManager ??= import('./secrets-manager-sdk.js').then((sdk) => new sdk.SecretsManagerClient(clientOptions));
  return secretsManager;
};
/** Regional (AWS_REGION): GetWebIdentityToken is not served by the global endpoint. */
export const stsClient = (): Promise<STSClient> => {
  sts ??= import('./sts-sdk.js').then((sdk) => new sdk.STSClient(clientOptions));
  return sts;
};
