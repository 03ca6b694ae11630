import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { serverUrlFor } from '../../../functions/api/get-openapi.js';
import { handler } from '../../../functions/api/handler.js';
import { openApiDocument } from '../../../shared/api/openapi-document.js';

const template = JSON.parse(
  readFileSync(new URL('../../fixtures/events/api-post-job.json', import.meta.url), 'utf8'),
) as APIGatewayProxyEvent;

/** The fixture (a signed POST /v1/jobs through API Gateway, stage prod), turned into GET /v1/openapi.json. */
function openApiEvent(overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  return {
    ...template,
    resource: '/v1/openapi.json',
    path: '/v1/openapi.json',
    httpMethod: 'GET',
    headers: { ...template.headers, 'Content-Type': undefined },
    body: null,
    requestContext: {
      ...template.requestContext,
      resourcePath: '/v1/openapi.json',
      httpMethod: 'GET',
      path: '/prod/v1/openapi.json',
    },
    ...overrides,
  };
}

const context: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'flyte-databricks-api',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:flyte-databricks-api',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  logGroupName: '/aws/lambda/flyte-databricks-api',
  logStreamName: '2025/03/01/[$LATEST]0123456789abcdef',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

describe('GET /v1/openapi.json through the API handler', () => {
  it('serves the document, cacheable, with servers from the request context', async () => {
    // Act
    const response = await handler(openApiEvent(), context);

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ 'Content-Type': 'application/json', 'Cache-Control': 'max-age=300' });
    const doc = JSON.parse(response.body) as Record<string, unknown>;
    expect(doc.servers).toEqual([{ url: 'https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod' }]);
    expect(doc).toEqual(
      JSON.parse(
        JSON.stringify(openApiDocument({ serverUrl: 'https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod' })),
      ),
    );
    expect((await new Validator().validate(doc)).valid).toBe(true);
  });

  it('answers other methods on the path with the API error shape', async () => {
    const response = await handler(openApiEvent({ httpMethod: 'DELETE' }), context);

    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'NotFound', message: 'No route for DELETE /v1/openapi.json' },
    });
  });
});

describe('Function: serverUrlFor()', () => {
  it('is the execute-api URL with the stage', () => {
    expect(serverUrlFor(openApiEvent())).toBe('https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod');
  });

  it('keeps a custom domain base path, or none, as called', () => {
    const event = (path: string) =>
      openApiEvent({ requestContext: { ...openApiEvent().requestContext, domainName: 'api.example.com', path } });

    expect(serverUrlFor(event('/databricks/v1/openapi.json'))).toBe('https://api.example.com/databricks');
    expect(serverUrlFor(event('/v1/openapi.json'))).toBe('https://api.example.com');
  });

  it('falls back to the stage when the context has no path', () => {
    const { path: _path, ...withoutPath } = openApiEvent().requestContext;
    const event = openApiEvent({
      requestContext: { ...withoutPath, stage: 'dev' } as APIGatewayProxyEvent['requestContext'],
    });

    expect(serverUrlFor(event)).toBe('https://abcdef1234.execute-api.us-east-1.amazonaws.com/dev');
  });

  it('says http when the front door was reached over http (the local stack)', () => {
    const event = openApiEvent({
      headers: { host: '127.0.0.1:3000', 'X-Forwarded-Proto': 'http' },
      requestContext: {
        ...openApiEvent().requestContext,
        domainName: '127.0.0.1:3000',
        stage: 'prod',
        path: '/prod/v1/openapi.json',
      },
    });

    expect(serverUrlFor(event)).toBe('http://127.0.0.1:3000/prod');
  });

  it('is undefined without a domain name, and the document then has no servers', async () => {
    const event = openApiEvent({
      requestContext: { ...openApiEvent().requestContext, domainName: undefined },
    });

    const response = await handler(event, context);

    expect(serverUrlFor(event)).toBeUndefined();
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).not.toHaveProperty('servers');
  });
});
