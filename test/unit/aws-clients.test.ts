/**
 * The functions' AWS SDK clients never wait without bound: each is built with connection and request timeouts, so a
 * connection that never answers ends an attempt instead of the invocation.
 */
import { describe, expect, it } from 'vitest';
import {
  AWS_HTTP_TIMEOUTS,
  dynamoDbClient,
  secretsManagerClient,
  sqsClient,
  stsClient,
} from '../../shared/aws/clients.js';

/** The options the client's HTTP handler (smithy's NodeHttpHandler) resolved. */
async function timeoutsOf(client: { config: { requestHandler: unknown } }) {
  const handler = client.config.requestHandler as {
    configProvider: Promise<{ connectionTimeout?: number; requestTimeout?: number }>;
  };
  const { connectionTimeout, requestTimeout } = await handler.configProvider;
  return { connectionTimeout, requestTimeout };
}

describe('AWS SDK clients', () => {
  it('DynamoDB, SQS, Secrets Manager and STS have connection and request timeouts', async () => {
    for (const client of [dynamoDbClient(), sqsClient(), await secretsManagerClient(), await stsClient()]) {
      expect(await timeoutsOf(client)).toEqual(AWS_HTTP_TIMEOUTS);
    }
    expect(AWS_HTTP_TIMEOUTS.requestTimeout).toBeGreaterThan(0);
  });
});
