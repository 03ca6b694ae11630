/**
 * The client's SigV4 signing, checked by the local front door's IAM authorization (infra/local/lambda-runtime/
 * front-door-iam.ts: the one SigV4 verifier, then execute-api:Invoke), and the region the client signs for.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IamPrincipals } from '../../../infra/local/iam/iam-principals.js';
import { type FrontDoor, startFrontDoor } from '../../../infra/local/lambda-runtime/api-gateway-front-door.js';
import { iamAuthorization } from '../../../infra/local/lambda-runtime/front-door-iam.js';
import { JobsApiClient } from '../../../shared/client/jobs-api-client.js';
import { regionFromApiUrl, resolveRegion, signRequest } from '../../../shared/client/sigv4-signing.js';
import { inProcessInvoker } from '../lambda-runtime/in-process-invoker.js';

const CALLER = {
  accessKeyId: 'AKIAUNITTESTCALLER01',
  secretAccessKey: 'unit-test-secret',
  principalArn: 'arn:aws:iam::123456789012:user/unit-tester',
};
const ROLE = {
  accessKeyId: 'ASIAUNITTESTROLE0001',
  secretAccessKey: 'role-secret',
  principalArn: 'arn:aws:iam::123456789012:role/flyte-task-role',
};
/**
 * The vitest environment's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (vitest.config.ts: the local stack's operator,
 * local/local): what the default chain finds.
 */
const ENV_KEY = { accessKeyId: 'local', secretAccessKey: 'local', principalArn: 'arn:aws:iam::123456789012:user/env' };

const INVOKE_ANY = { Effect: 'Allow' as const, Action: 'execute-api:Invoke', Resource: '*' };
const uniqueIdOf = (arn: string) =>
  `${arn.includes(':role/') ? 'AROA' : 'AIDA'}${arn
    .replace(/[^A-Z2-7]/gi, '')
    .toUpperCase()
    .padEnd(17, 'A')
    .slice(0, 17)}`;

let door: FrontDoor;

beforeAll(async () => {
  door = await startFrontDoor({
    functionName: 'api',
    resolveResource: ['/v1/jobs', '/v1/jobs/{id}'],
    identity: iamAuthorization({
      principals: new IamPrincipals({
        accountId: '123456789012',
        principals: [CALLER, ROLE, ENV_KEY].map((caller, index) => ({
          name: `caller${index}`,
          ...caller,
          uniqueId: uniqueIdOf(caller.principalArn),
          // A role session named after its key, as the identity assertions below expect.
          sessionName: caller.accessKeyId,
          policies: [{ name: 'invoke', document: { Statement: [INVOKE_ANY] } }],
        })),
      }),
      region: 'eu-west-1',
      accountId: '123456789012',
      apiId: 'local0api0',
      stage: 'local',
    }),
    // Answers with the event, so a test sees what the function would have seen.
    invoke: inProcessInvoker('api', async (event: unknown) => ({ statusCode: 200, body: JSON.stringify(event) })),
  });
});
afterAll(() => door.close());

const client = (options: ConstructorParameters<typeof JobsApiClient>[1] = {}) =>
  new JobsApiClient(door.url, { region: 'eu-west-1', credentials: CALLER, ...(options as object) });

describe('Function: signRequest, verified by the front door', () => {
  it('signs GET, POST and DELETE so that they verify, and the function sees the caller', async () => {
    const api = client();
    for (const [method, path, body] of [
      ['GET', '/v1/jobs/fdl-1', undefined],
      ['POST', '/v1/jobs', JSON.stringify({ namespace: 'ns', note: 'ünïcode ✓' })],
      ['DELETE', '/v1/jobs/fdl-1', undefined],
    ] as const) {
      const { status, body: event } = await api.call<APIGatewayProxyEvent>(method, path, body);
      expect(status, `${method} ${path}`).toBe(200);
      expect(event.requestContext.identity).toMatchObject({
        accessKey: CALLER.accessKeyId,
        accountId: '123456789012',
        userArn: CALLER.principalArn,
        caller: expect.stringMatching(/^AIDA[A-Z2-7]{17}$/),
      });
      expect(event.headers.Authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIAUNITTESTCALLER01\/\d{8}\/eu-west-1\/execute-api\/aws4_request/,
      );
    }
  });

  it('signs query strings in canonical order whatever order they are written in (id before id-type)', async () => {
    const { status } = await client().call('GET', '/v1/jobs?namespace=n&limit=5&id-type=x&id=1&nextToken=a%2Fb%3D');
    expect(status).toBe(200);
  });

  it('signs paths with characters that need encoding', async () => {
    const { status, body } = await client().call<APIGatewayProxyEvent>('GET', '/v1/jobs/a%20b%2Bc');
    expect(status).toBe(200);
    expect(body.pathParameters).toEqual({ id: 'a b+c' });
  });

  it('adds the session token of temporary credentials, and a role session shows as its assumed-role ARN', async () => {
    const api = client({ credentials: { ...ROLE, sessionToken: 'session-token-value' } });
    const { status, body } = await api.call<APIGatewayProxyEvent>('GET', '/v1/jobs/fdl-1');
    expect(status).toBe(200);
    expect(body.headers['x-amz-security-token']).toBe('session-token-value');
    expect(body.requestContext.identity).toMatchObject({
      accessKey: ROLE.accessKeyId,
      userArn: `arn:aws:sts::123456789012:assumed-role/flyte-task-role/${ROLE.accessKeyId}`,
      caller: expect.stringMatching(new RegExp(`^AROA[A-Z2-7]{17}:${ROLE.accessKeyId}$`)),
    });
  });

  it('takes credentials from the default AWS chain when none are given (here the environment)', async () => {
    const api = new JobsApiClient(door.url, { region: 'eu-west-1' });
    const { status, body } = await api.call<APIGatewayProxyEvent>('GET', '/v1/jobs/fdl-1');
    expect(status).toBe(200);
    expect(body.requestContext.identity.accessKey).toBe(ENV_KEY.accessKeyId);
  });

  it('is refused when signed with the wrong secret, an old date, or for another region', async () => {
    const wrongSecret = await client({ credentials: { ...CALLER, secretAccessKey: 'nope' } }).call<{ message: string }>(
      'GET',
      '/v1/jobs/fdl-1',
    );
    expect(wrongSecret.status).toBe(403);
    expect(wrongSecret.body.message).toMatch(/^The request signature we calculated does not match/);

    const stale = await client({ clock: () => new Date(Date.now() - 10 * 60_000) }).call<{ message: string }>(
      'GET',
      '/v1/jobs/fdl-1',
    );
    expect(stale.status).toBe(403);
    expect(stale.body.message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
    );

    const otherRegion = await client({ region: 'us-east-1' }).call<{ message: string }>('GET', '/v1/jobs/fdl-1');
    expect(otherRegion.status).toBe(403);
    expect(otherRegion.body.message).toBe("Credential should be scoped to a valid region, not 'us-east-1'. ");
  });

  it('returns the headers to send, without host (fetch sets the same one)', async () => {
    const headers = await signRequest(
      { method: 'POST', url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/v1/jobs', body: '{}' },
      { region: 'eu-west-1', credentials: CALLER, signingDate: new Date('2025-01-02T03:04:05Z') },
    );
    expect(headers).not.toHaveProperty('host');
    expect(headers['x-amz-date']).toBe('20250102T030405Z');
    expect(headers['x-amz-content-sha256']).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAUNITTESTCALLER01\/20250102\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
  });
});

describe('Function: regionFromApiUrl / resolveRegion', () => {
  it.each([
    ['https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/prod', 'eu-central-1'],
    ['https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/', 'us-east-1'],
    ['https://a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.ap-southeast-2.amazonaws.com/prod', 'ap-southeast-2'],
    ['https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/prod', 'cn-north-1'],
    ['https://api.example.com/jobs', undefined],
    ['http://127.0.0.1:3000/local', undefined],
    ['not a url', undefined],
  ])('%s -> %s', (url, region) => {
    expect(regionFromApiUrl(url)).toBe(region);
  });

  it('prefers the explicit region, then the URL, then AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1', () => {
    const apiUrl = 'https://abc.execute-api.eu-west-3.amazonaws.com/prod';
    const local = 'http://127.0.0.1:3000/local';
    expect(resolveRegion(apiUrl, 'ca-central-1', { AWS_REGION: 'sa-east-1' })).toBe('ca-central-1');
    expect(resolveRegion(apiUrl, undefined, { AWS_REGION: 'sa-east-1' })).toBe('eu-west-3');
    expect(resolveRegion(local, undefined, { AWS_REGION: 'sa-east-1', AWS_DEFAULT_REGION: 'us-west-1' })).toBe(
      'sa-east-1',
    );
    expect(resolveRegion(local, undefined, { AWS_DEFAULT_REGION: 'us-west-1' })).toBe('us-west-1');
    expect(resolveRegion(local, undefined, {})).toBe('us-east-1');
  });

  it('signs for the region of an execute-api URL by default', () => {
    expect(
      new JobsApiClient('https://abc.execute-api.eu-north-1.amazonaws.com/prod', { credentials: CALLER }).region,
    ).toBe('eu-north-1');
  });
});
