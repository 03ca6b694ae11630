/**
 * AWS SDK v3 clients, created once per container and only when first used. Endpoints come from the SDK's own
 * AWS_ENDPOINT_URL_<SERVICE> variables, so the same code reaches AWS, LocalStack or the embedded local stack.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';

let dynamodb: DynamoDBClient | undefined;
let sqs: SQSClient | undefined;
let secretsManager: SecretsManagerClient | undefined;

export const dynamoDbClient = (): DynamoDBClient => {
  dynamodb ??= new DynamoDBClient({});
  return dynamodb;
};
export const sqsClient = (): SQSClient => {
  sqs ??= new SQSClient({});
  return sqs;
};
export const secretsManagerClient = (): SecretsManagerClient => {
  secretsManager ??= new SecretsManagerClient({});
  return secretsManager;
};
