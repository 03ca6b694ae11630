/**
 * IAM (SigV4) authorization on the local front door, over real sockets: signed requests reach the function with the
 * caller in requestContext.identity, as API Gateway passes it; anything else is answered 403 by the gateway with
 * API Gateway's own body and error type, and never reaches the function.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobsApiClient } from '../../shared/client/jobs-api-client.js';
import { type SignOptions, signRequest } from '../../shared/client/sigv4-signing.js';
import { apiClientFor, jobRequest, scanJobs, startTestStack, type TestStack } from './support/test-stack.js';

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t?.stack.stop());

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

interface Sent {
  status: number;
  errorType: string | null;
  body: { message?: string } & Record<string, unknown>;
}

/** Signs `signed` and sends `sent` (the same unless a test tampers with it), bypassing the client. */
async function send(
  signed: { method: string; path: string; body?: string; headers?: Record<string, string> },
  options: Partial<SignOptions> = {},
  tamper: (request: { url: string; headers: Record<string, string>; body?: string }) => void = () => undefined,
): Promise<Sent> {
  const url = `${t.stack.frontDoorUrl}${signed.path}`;
  const baseHeaders = { 'content-type': 'application/json', ...signed.headers };
  const headers = await signRequest(
    { method: signed.method, url, headers: baseHeaders, ...(signed.body !== undefined ? { body: signed.body } : {}) },
    { region: t.stack.region, credentials: t.stack.callerCredentials, ...options },
  );
  const request: { url: string; headers: Record<string, string>; body?: string } = {
    url,
    headers,
    ...(signed.body !== undefined ? { body: signed.body } : {}),
  };
  tamper(request);
  const response = await fetch(request.url, {
    method: signed.method,
    headers: request.headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  return {
    status: response.status,
    errorType: response.headers.get('x-amzn-errortype'),
    body: (await response.json()) as Sent['body'],
  };
}

describe('signed requests', () => {
  it('reach the function with the caller identity API Gateway passes for IAM callers', async () => {
    const before = t.stack.frontDoorCalls.length;
    const { status, body } = await t.api.submit(jobRequest('sigv4-identity'));
    expect(status).toBe(202);
    expect(isJob(body)).toBe(true);
    const call = t.stack.frontDoorCalls.at(-1);
    expect(t.stack.frontDoorCalls.length).toBe(before + 1);
    expect(call).toMatchObject({ method: 'POST', path: '/v1/jobs', resource: '/v1/jobs' });
    // An IAM user: caller and user are its unique id, userArn its ARN.
    expect(call?.identity).toMatchObject({
      accessKey: t.stack.callerCredentials.accessKeyId,
      accountId: '123456789012',
      userArn: t.stack.callerArn,
      caller: t.stack.callerPrincipalId,
      user: t.stack.callerPrincipalId,
      sourceIp: '127.0.0.1',
    });
    expect(t.stack.callerArn).toBe('arn:aws:iam::123456789012:user/flyte-databricks-local-caller');
    // IAM unique ids are 21 characters: AIDA and 17 more.
    expect(t.stack.callerPrincipalId).toMatch(/^AIDA[A-Z2-7]{17}$/);
  });

  it("accept the operator's role credentials too, shown as its assumed-role session (named operator)", async () => {
    const api = new JobsApiClient(t.stack.frontDoorUrl, {
      region: t.stack.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const { status } = await api.call('GET', `/v1/jobs?namespace=${jobRequest('x').namespace}`);
    expect(status).toBe(200);
    // A role session: caller and user are `<role id>:<session name>`, userArn the assumed-role session's ARN.
    expect(t.stack.frontDoorCalls.at(-1)?.identity).toMatchObject({
      accessKey: 'local',
      accountId: '123456789012',
      userArn: 'arn:aws:sts::123456789012:assumed-role/flyte-databricks-local-operator/operator',
      caller: `${t.stack.functionRoleId}:operator`,
      user: `${t.stack.functionRoleId}:operator`,
    });
    expect(t.stack.functionRoleArn).toBe('arn:aws:iam::123456789012:role/flyte-databricks-local-operator');
    // IAM unique ids are 21 characters: AROA and 17 more.
    expect(t.stack.functionRoleId).toMatch(/^AROA[A-Z2-7]{17}$/);
  });

  it('verify with query strings and bodies as sent by the client', async () => {
    const { status } = await send({ method: 'GET', path: `/v1/jobs?limit=3&namespace=${jobRequest('x').namespace}` });
    expect(status).toBe(200);
  });
});

describe('refused requests: 403 from the gateway, the function never invoked, nothing stored', () => {
  let callsBefore = 0;
  let jobsBefore = 0;
  beforeAll(async () => {
    callsBefore = t.stack.frontDoorCalls.length;
    jobsBefore = (await scanJobs(t.stack)).length;
  });
  afterAll(async () => {
    expect(t.stack.frontDoorCalls.length).toBe(callsBefore);
    expect(await scanJobs(t.stack)).toHaveLength(jobsBefore);
  });

  const post = (executionId: string) => ({
    method: 'POST',
    path: '/v1/jobs',
    body: JSON.stringify(jobRequest(executionId)),
  });

  it('unsigned: Missing Authentication Token', async () => {
    const response = await fetch(`${t.stack.frontDoorUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(jobRequest('sigv4-unsigned')),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
    const unsignedClient = new JobsApiClient(t.stack.frontDoorUrl, { sign: false });
    expect(await unsignedClient.get('fdl-0')).toEqual({
      ok: false,
      status: 403,
      body: { error: { code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' } },
    });
  });

  it('signed with the wrong secret: signature mismatch', async () => {
    const sent = await send(post('sigv4-wrong-secret'), {
      credentials: { ...t.stack.callerCredentials, secretAccessKey: 'not-the-secret' },
    });
    expect(sent).toEqual({
      status: 403,
      errorType: 'InvalidSignatureException',
      body: { message: SIGNATURE_MISMATCH },
    });
  });

  it('an unknown access key: the security token is invalid', async () => {
    const sent = await send(post('sigv4-unknown-key'), {
      credentials: { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'whatever' },
    });
    expect(sent).toEqual({
      status: 403,
      errorType: 'UnrecognizedClientException',
      body: { message: 'The security token included in the request is invalid.' },
    });
    // The client reports it in the one error shape.
    const api = new JobsApiClient(t.stack.frontDoorUrl, {
      region: t.stack.region,
      credentials: { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'whatever' },
    });
    expect((await api.submit(jobRequest('sigv4-unknown-key'))).body).toEqual({
      error: { code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' },
    });
  });

  it.each([
    [
      'the body',
      (r: { body?: string }) => {
        r.body = JSON.stringify(jobRequest('sigv4-altered-after-signing'));
      },
    ],
    [
      'a signed header',
      (r: { headers: Record<string, string> }) => {
        r.headers['content-type'] = 'application/json; charset=utf-8';
      },
    ],
    [
      'the query string',
      (r: { url: string }) => {
        r.url = `${r.url}?debug=1`;
      },
    ],
  ])('altered after signing (%s): signature mismatch', async (_what, tamper) => {
    const sent = await send(post('sigv4-original'), {}, tamper as never);
    expect(sent).toEqual({
      status: 403,
      errorType: 'InvalidSignatureException',
      body: { message: SIGNATURE_MISMATCH },
    });
  });

  it('altered after signing (the path): signature mismatch', async () => {
    const sent = await send(
      { method: 'GET', path: '/v1/jobs/fdl-0000000000000000000000000000000000000001' },
      {},
      (r) => {
        r.url = r.url.replace(/1$/, '2');
      },
    );
    expect(sent).toEqual({
      status: 403,
      errorType: 'InvalidSignatureException',
      body: { message: SIGNATURE_MISMATCH },
    });
  });

  it('signed 10 minutes ago: Signature expired; 10 minutes ahead: not yet current', async () => {
    const stale = await send(post('sigv4-stale'), { signingDate: new Date(Date.now() - 10 * 60_000) });
    expect(stale.status).toBe(403);
    expect(stale.errorType).toBe('InvalidSignatureException');
    expect(stale.body.message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
    );
    const future = await send(post('sigv4-future'), { signingDate: new Date(Date.now() + 10 * 60_000) });
    expect(future.status).toBe(403);
    expect(future.body.message).toMatch(
      /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$/,
    );
  });

  it('scoped to another region or service: the credential scope messages', async () => {
    const region = await send(post('sigv4-region'), { region: 'eu-west-1' });
    expect(region).toEqual({
      status: 403,
      errorType: 'InvalidSignatureException',
      body: { message: "Credential should be scoped to a valid region, not 'eu-west-1'. " },
    });
    const service = await send(post('sigv4-service'), { service: 'lambda' });
    expect(service.body).toEqual({ message: "Credential should be scoped to correct service: 'execute-api'. " });
    const both = await send(post('sigv4-both'), { region: 'eu-west-1', service: 'es' });
    expect(both.body).toEqual({
      message:
        "Credential should be scoped to a valid region, not 'eu-west-1'. Credential should be scoped to correct service: 'execute-api'. ",
    });
  });

  it('a malformed Authorization header: an incomplete signature', async () => {
    const response = await fetch(`${t.stack.frontDoorUrl}/v1/jobs/fdl-0`, { headers: { authorization: 'AWS4 nope' } });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('IncompleteSignatureException');
  });
});

describe('the test stack client', () => {
  it('signs with the caller key pair the stack generated', () => {
    const api = apiClientFor(t.stack);
    expect(api.region).toBe('us-east-1');
    expect(t.stack.callerCredentials.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(t.stack.callerCredentials.secretAccessKey).toHaveLength(40);
    expect(t.stack.sigv4).toBe(true);
  });
});

function isJob(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'jobId' in body;
}
