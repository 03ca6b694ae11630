/**
 * The functions' AWS SDK clients never wait without bound: each is built with connection and request timeouts (that
 * end an attempt, not only warn), so a connection that never answers ends an attempt instead of the invocation, and
 * with the handler and retry strategy that fit every call to the invocation's deadline (aws-sdk-deadline.test.ts
 * shows what they do).
 */
import { describe, expect, it } from 'vitest';
import {
  AWS_HTTP_TIMEOUTS,
  dynamoDbClient,
  secretsManagerClient,
  sqsClient,
  stsClient,
} from '../../shared/aws/clients.js';
import { DeadlineHttpHandler, DeadlineRetryStrategy } from '../../shared/aws/sdk-deadline.js';

interface ResolvedClient {
  config: { requestHandler: unknown; retryStrategy: () => Promise<unknown> };
}

/** The options the client's HTTP handler (smithy's NodeHttpHandler, inside the deadline wrapper) resolved. */
async function timeoutsOf(client: ResolvedClient) {
  const handler = client.config.requestHandler;
  expect(handler).toBeInstanceOf(DeadlineHttpHandler);
  const inner = (handler as DeadlineHttpHandler).inner as unknown as {
    configProvider: Promise<{ connectionTimeout?: number; requestTimeout?: number; throwOnRequestTimeout?: boolean }>;
  };
  const { connectionTimeout, requestTimeout, throwOnRequestTimeout } = await inner.configProvider;
  return { connectionTimeout, requestTimeout, throwOnRequestTimeout };
}

describe('AWS SDK clients', () => {
  it('DynamoDB, SQS, Secrets Manager and STS have connection and request timeouts, and deadline-aware retries', async () => {
    const clients: ResolvedClient[] = [dynamoDbClient(), sqsClient(), await secretsManagerClient(), await stsClient()];
    for (const client of clients) {
      expect(await timeoutsOf(client)).toEqual(AWS_HTTP_TIMEOUTS);
      expect(await client.config.retryStrategy()).toBeInstanceOf(DeadlineRetryStrategy);
    }
    expect(AWS_HTTP_TIMEOUTS.requestTimeout).toBeGreaterThan(0);
    expect(AWS_HTTP_TIMEOUTS.throwOnRequestTimeout).toBe(true);
  });
});
