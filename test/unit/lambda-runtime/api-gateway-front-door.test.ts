import { request as httpRequest } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import {
  compileResources,
  DEFAULT_MAX_BODY_BYTES,
  type FrontDoor,
  type FrontDoorOptions,
  formatRequestTime,
  GatewayResponseError,
  matchResource,
  parseProxyResponse,
  parseQueryString,
  startFrontDoor,
} from '../../../infra/local/lambda-runtime/api-gateway-front-door.js';
import { inProcessInvoker } from './in-process-invoker.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ROUTES = ['/v1/jobs', '/v1/jobs/{id}', 'GET /v1/only-get', '/files/{path+}'];

const doors: FrontDoor[] = [];
afterEach(async () => {
  await Promise.all(doors.splice(0).map((door) => door.close()));
});

/** A handler that answers with the event it received, so tests see the event through the HTTP response. */
const echo = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(event),
});

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** A front door for `handler` (run in this process), recording invocations and errors. */
async function open({ handler = echo, ...overrides }: Partial<FrontDoorOptions> & { handler?: Handler } = {}) {
  const errors: unknown[] = [];
  let invocations = 0;
  const functionName = overrides.functionName ?? 'api';
  const door = await startFrontDoor({
    functionName,
    resolveResource: ROUTES,
    onError: (err) => errors.push(err),
    ...overrides,
    invoke: inProcessInvoker(functionName, async (event: APIGatewayProxyEvent, context: Context) => {
      invocations += 1;
      return handler(event, context);
    }),
  });
  doors.push(door);
  return { door, errors, invocations: () => invocations };
}

async function echoed(response: Response): Promise<APIGatewayProxyEvent> {
  expect(response.status).toBe(200);
  return (await response.json()) as APIGatewayProxyEvent;
}

/** Sends a request with exact raw headers (fetch merges repeated headers into one). */
function rawRequest(
  url: string,
  rawHeaders: string[],
  body?: Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: body ? 'POST' : 'GET', headers: rawHeaders }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('startFrontDoor', () => {
  it('builds a REST API v1.0 proxy event for a request with path and query parameters', async () => {
    const { door } = await open();
    const response = await fetch(`${door.url}/v1/jobs/job%201?x=1&x=2&y=%2Fz&flag&plus=a+b`, {
      headers: { 'X-Custom': 'Custom Value', Authorization: 'Bearer t0ken' },
    });
    const event = await echoed(response);

    expect(door.url).toBe(`http://127.0.0.1:${door.port}/local`);
    expect(Object.keys(event)).toEqual([
      'resource',
      'path',
      'httpMethod',
      'headers',
      'multiValueHeaders',
      'queryStringParameters',
      'multiValueQueryStringParameters',
      'pathParameters',
      'stageVariables',
      'requestContext',
      'body',
      'isBase64Encoded',
    ]);
    expect(event).toMatchObject({
      resource: '/v1/jobs/{id}',
      path: '/v1/jobs/job%201',
      httpMethod: 'GET',
      queryStringParameters: { x: '2', y: '/z', flag: '', plus: 'a b' },
      multiValueQueryStringParameters: { x: ['1', '2'], y: ['/z'], flag: [''], plus: ['a b'] },
      pathParameters: { id: 'job 1' },
      stageVariables: null,
      body: null,
      isBase64Encoded: false,
    });

    // Names keep the casing they were sent with, except that Authorization and User-Agent are capitalised.
    expect(event.headers).toMatchObject({
      'X-Custom': 'Custom Value',
      Authorization: 'Bearer t0ken',
      'User-Agent': expect.any(String),
      host: `127.0.0.1:${door.port}`,
      'X-Forwarded-For': '127.0.0.1',
      'X-Forwarded-Port': String(door.port),
      'X-Forwarded-Proto': 'http',
      'X-Amzn-Trace-Id': expect.stringMatching(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/),
    });
    expect(Object.keys(event.headers).map((name) => name.toLowerCase())).not.toContain('connection');
    expect(event.multiValueHeaders['X-Custom']).toEqual(['Custom Value']);
    expect(event.headers.accept).toBe('*/*');
    expect(Object.keys(event.multiValueHeaders).sort()).toEqual(Object.keys(event.headers).sort());

    const { requestContext } = event;
    expect(requestContext).toMatchObject({
      accountId: '123456789012',
      apiId: expect.any(String),
      resourceId: expect.stringMatching(/^[0-9a-z]{6}$/),
      resourcePath: '/v1/jobs/{id}',
      stage: 'local',
      requestId: expect.stringMatching(UUID),
      extendedRequestId: expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/),
      path: '/local/v1/jobs/job%201',
      protocol: 'HTTP/1.1',
      httpMethod: 'GET',
      domainName: `127.0.0.1:${door.port}`,
    });
    expect(requestContext.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(requestContext.requestTime).toBe(formatRequestTime(new Date(requestContext.requestTimeEpoch)));
    expect(Math.abs(Date.now() - requestContext.requestTimeEpoch)).toBeLessThan(5000);
    expect(requestContext).not.toHaveProperty('authorizer');
    expect(requestContext.identity).toEqual({
      accessKey: null,
      accountId: null,
      apiKey: null,
      apiKeyId: null,
      caller: null,
      clientCert: null,
      cognitoAuthenticationProvider: null,
      cognitoAuthenticationType: null,
      cognitoIdentityId: null,
      cognitoIdentityPoolId: null,
      principalOrgId: null,
      sourceIp: '127.0.0.1',
      user: null,
      userAgent: event.headers['User-Agent'],
      userArn: null,
    });
    expect(response.headers.get('x-amzn-requestid')).toBe(requestContext.requestId);
    expect(response.headers.get('x-amz-apigw-id')).toBe(requestContext.extendedRequestId);
  });

  it('passes null query and path parameters when there are none, and a fresh request id per request', async () => {
    const { door } = await open();
    const first = await echoed(await fetch(`${door.url}/v1/jobs`));
    const second = await echoed(await fetch(`${door.url}/v1/jobs/`));

    expect(first).toMatchObject({
      resource: '/v1/jobs',
      path: '/v1/jobs',
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
    });
    expect(second).toMatchObject({ resource: '/v1/jobs', path: '/v1/jobs/' });
    expect(second.requestContext.requestId).not.toBe(first.requestContext.requestId);
    expect(second.requestContext.resourceId).toBe(first.requestContext.resourceId);
  });

  it('keeps header casing and repeated headers as sent, dropping hop-by-hop headers', async () => {
    const { door } = await open();
    const response = await rawRequest(`${door.url}/v1/jobs`, [
      'Host',
      `127.0.0.1:${door.port}`,
      'user-agent',
      'raw-client',
      'X-Request-Id',
      'r-1',
      'x-multi',
      'one',
      'x-multi',
      'two',
      'Connection',
      'keep-alive',
    ]);
    const event = JSON.parse(response.body.toString()) as APIGatewayProxyEvent;

    expect(event.headers['X-Request-Id']).toBe('r-1');
    expect(event.headers['x-multi']).toBe('two');
    expect(event.multiValueHeaders['x-multi']).toEqual(['one', 'two']);
    expect(event.headers).not.toHaveProperty('Connection');
    expect(event.headers['User-Agent']).toBe('raw-client');
    expect(event.headers).not.toHaveProperty('user-agent');
    expect(event.requestContext.identity.userAgent).toBe('raw-client');
  });

  it('passes a JSON body as text and a binary body base64-encoded', async () => {
    const { door } = await open();
    const json = await echoed(
      await fetch(`${door.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ name: 'né' }),
      }),
    );
    const binary = await echoed(
      await fetch(`${door.url}/v1/jobs`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: Uint8Array.from([0, 255, 1, 128]),
      }),
    );

    expect(json).toMatchObject({ httpMethod: 'POST', body: '{"name":"né"}', isBase64Encoded: false });
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json.headers).not.toHaveProperty('content-length');
    expect(binary).toMatchObject({ httpMethod: 'PUT', body: 'AP8BgA==', isBase64Encoded: true });
  });

  it('answers 403 Missing Authentication Token for unknown routes, wrong stages and undefined methods', async () => {
    const { door, invocations } = await open();
    const origin = `http://127.0.0.1:${door.port}`;
    const cases = [
      await fetch(`${door.url}/v2/unknown`),
      await fetch(`${door.url}/v1/jobs/1/extra`),
      await fetch(`${door.url}/files`),
      await fetch(`${origin}/prod/v1/jobs`),
      await fetch(`${origin}/v1/jobs`),
      await fetch(`${door.url}/v1/only-get`, { method: 'POST', body: '{}' }),
    ];

    for (const response of cases) {
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
      expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
      expect(response.headers.get('content-type')).toBe('application/json');
    }
    expect(invocations()).toBe(0);
    expect((await fetch(`${door.url}/v1/only-get`)).status).toBe(200);
  });

  it('routes to the most specific resource, greedy variables last', async () => {
    const { door } = await open({
      resolveResource: ['/', '/v1/jobs', '/v1/jobs/{id}', '/{proxy+}'],
      stageInPath: false,
    });
    const [root, exact, param, greedy] = await Promise.all(
      ['/', '/v1/jobs', '/v1/jobs/7', '/v1/other/a%2Fb/c'].map(async (path) =>
        echoed(await fetch(`${door.url}${path}`)),
      ),
    );

    expect(door.url).toBe(`http://127.0.0.1:${door.port}`);
    expect(root).toMatchObject({ resource: '/', path: '/', pathParameters: null });
    expect(root?.requestContext.path).toBe('/');
    expect(exact).toMatchObject({ resource: '/v1/jobs', pathParameters: null });
    expect(param).toMatchObject({ resource: '/v1/jobs/{id}', pathParameters: { id: '7' } });
    expect(greedy).toMatchObject({ resource: '/{proxy+}', pathParameters: { proxy: 'v1/other/a/b/c' } });
  });

  it('accepts the resources as `routes` too, and defaults to a root + {proxy+} proxy API', async () => {
    const aliased = await open({ resolveResource: undefined, routes: ['/only'] });
    const proxy = await open({ resolveResource: undefined });

    expect((await fetch(`${aliased.door.url}/only`)).status).toBe(200);
    expect((await fetch(`${aliased.door.url}/v1/jobs`)).status).toBe(403);
    expect(await echoed(await fetch(`${proxy.door.url}/`))).toMatchObject({ resource: '/', path: '/' });
    expect(await echoed(await fetch(`${proxy.door.url}/any/thing`))).toMatchObject({
      resource: '/{proxy+}',
      pathParameters: { proxy: 'any/thing' },
    });
  });

  it('answers 502 Internal server error when the handler throws', async () => {
    const { door, errors } = await open({
      handler: async () => {
        throw new Error('handler exploded');
      },
    });
    const response = await fetch(`${door.url}/v1/jobs`);

    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ message: 'Internal server error' });
    expect(response.headers.get('x-amzn-errortype')).toBe('InternalServerErrorException');
    expect(errors).toEqual([new Error('handler exploded')]);
  });

  it.each([
    ['a body that is not a string', { statusCode: 200, body: { not: 'a string' } }],
    ['a field the proxy response does not have', { statusCode: 200, body: '', cookies: ['a=b'] }],
    ['a non-numeric statusCode', { statusCode: 'ok', body: '' }],
    ['a numeric header value', { statusCode: 200, headers: { 'X-Count': 3 }, body: '' }],
    ['no object at all', 'just a string'],
  ])('answers 502 on a malformed proxy response: %s', async (_name, result) => {
    const { door, errors } = await open({ handler: async () => result as unknown as APIGatewayProxyResult });
    const response = await fetch(`${door.url}/v1/jobs`);

    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ message: 'Internal server error' });
    expect(String(errors[0])).toContain('Malformed Lambda proxy response');
  });

  it('answers 413 for a body over the 10 MiB default limit without invoking the function', async () => {
    const { door, invocations } = await open();
    const tooBig = await fetch(`${door.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(DEFAULT_MAX_BODY_BYTES + 1),
    });

    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toEqual({ message: 'Request Too Long' });
    expect(invocations()).toBe(0);
  });

  it('accepts a body of exactly maxBodyBytes, also when streamed without Content-Length', async () => {
    const { door, invocations } = await open({ maxBodyBytes: 16 });
    const atLimit = await echoed(await fetch(`${door.url}/v1/jobs`, { method: 'POST', body: 'x'.repeat(16) }));
    const chunked = await fetch(`${door.url}/v1/jobs`, {
      method: 'POST',
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('y'.repeat(10)));
          controller.enqueue(new TextEncoder().encode('y'.repeat(10)));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);

    expect(atLimit.body).toBe('x'.repeat(16));
    expect(chunked.status).toBe(413);
    expect(invocations()).toBe(1);
  });

  it('writes the status, headers, multi-value headers and base64-decoded body of the proxy response', async () => {
    const { door } = await open({
      handler: async () => ({
        statusCode: 201,
        headers: { 'X-Single': 'one', Server: 'lambda', 'Set-Cookie': 'ignored=1' },
        multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] },
        body: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64'),
        isBase64Encoded: true,
      }),
    });
    const response = await fetch(`${door.url}/v1/jobs`);

    expect(response.status).toBe(201);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(response.headers.get('x-single')).toBe('one');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-amzn-remapped-server')).toBe('lambda');
    expect(response.headers.get('x-amzn-requestid')).toMatch(UUID);
  });

  it('merges the identity hook into requestContext.identity and lets it reject requests', async () => {
    const { door, invocations } = await open({
      identity: (req) => {
        if (!req.headers.authorization) throw new GatewayResponseError(403, 'Forbidden', 'AccessDeniedException');
        return {
          accessKey: 'AKIAEXAMPLE',
          accountId: '111122223333',
          caller: 'AIDAEXAMPLE',
          user: 'AIDAEXAMPLE',
          userArn: 'arn:aws:iam::111122223333:user/alice',
        };
      },
    });
    const allowed = await echoed(
      await fetch(`${door.url}/v1/jobs`, { headers: { authorization: 'AWS4-HMAC-SHA256 ...' } }),
    );
    const denied = await fetch(`${door.url}/v1/jobs`);

    expect(allowed.requestContext.identity).toMatchObject({
      accessKey: 'AKIAEXAMPLE',
      accountId: '111122223333',
      caller: 'AIDAEXAMPLE',
      user: 'AIDAEXAMPLE',
      userArn: 'arn:aws:iam::111122223333:user/alice',
      sourceIp: '127.0.0.1',
      cognitoIdentityId: null,
    });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ message: 'Forbidden' });
    expect(denied.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
    expect(invocations()).toBe(1);
  });

  it('answers 504 when the integration times out and 502 when the function times out first', async () => {
    const slow = async (): Promise<APIGatewayProxyResult> => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { statusCode: 200, body: 'late' };
    };
    const gateway = await open({ handler: slow, integrationTimeoutMs: 50, functionTimeoutMs: 1000 });
    const lambda = await open({ handler: slow, integrationTimeoutMs: 1000, functionTimeoutMs: 50 });

    const gatewayResponse = await fetch(`${gateway.door.url}/v1/jobs`);
    const lambdaResponse = await fetch(`${lambda.door.url}/v1/jobs`);

    expect(gatewayResponse.status).toBe(504);
    expect(await gatewayResponse.json()).toEqual({ message: 'Endpoint request timed out' });
    expect(lambdaResponse.status).toBe(502);
    expect(await lambdaResponse.json()).toEqual({ message: 'Internal server error' });
  });
});

describe('front door helpers', () => {
  it('matches resources by specificity and method', () => {
    const resources = compileResources(['GET /a/{id}', 'POST /a/{id}', '/a/b', '/{proxy+}']);
    expect(matchResource(resources, 'GET', '/a/b')).toMatchObject({ resource: '/a/b', pathParameters: null });
    expect(matchResource(resources, 'DELETE', '/a/x')).toBeNull();
    expect(matchResource(resources, 'POST', '/a/x%3Fy')).toMatchObject({
      resource: '/a/{id}',
      pathParameters: { id: 'x?y' },
    });
    expect(matchResource(resources, 'GET', '/')).toBeNull();
    expect(() => compileResources(['/{proxy+}/x'])).toThrow(/last/);
    expect(() => compileResources(['FETCH /x'])).toThrow(/Invalid route/);
  });

  it('parses query strings like API Gateway', () => {
    expect(parseQueryString('')).toEqual({ queryStringParameters: null, multiValueQueryStringParameters: null });
    expect(parseQueryString('a=1&a=2&b=%E2%9C%93&c')).toEqual({
      queryStringParameters: { a: '2', b: '✓', c: '' },
      multiValueQueryStringParameters: { a: ['1', '2'], b: ['✓'], c: [''] },
    });
  });

  it('formats requestTime in UTC', () => {
    expect(formatRequestTime(new Date(Date.UTC(2024, 2, 4, 19, 5, 7)))).toBe('04/Mar/2024:19:05:07 +0000');
  });

  it('defaults statusCode and Content-Type of a proxy response', () => {
    const parsed = parseProxyResponse({ body: 'hi' });
    expect(parsed?.statusCode).toBe(200);
    expect(parsed?.headers.get('content-type')).toEqual({ name: 'Content-Type', values: ['application/json'] });
    expect(parseProxyResponse(null)).toBeNull();
  });
});
