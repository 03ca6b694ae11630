/**
 * A local stack started with `sigv4: false`: the front door lets unsigned requests through, as an API whose methods
 * have no authorization would, and the function sees no caller identity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobsApiClient } from '../../shared/client/jobs-api-client.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { jobRequest, startTestStack, type TestStack } from './support/test-stack.js';

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack({ sigv4: false });
});
afterAll(() => t?.stack.stop());

describe('a front door without SigV4', () => {
  it('accepts unsigned requests and passes no caller identity', async () => {
    expect(t.stack.sigv4).toBe(false);
    const api = new JobsApiClient(t.stack.frontDoorUrl, { sign: false });
    const submitted = await api.submit(jobRequest('unsigned-ok'));
    expect(submitted.status).toBe(202);
    expect((await api.get(jobIdFor(jobRequest('x').namespace, 'unsigned-ok'))).status).toBe(200);
    expect(t.stack.frontDoorCalls.at(0)?.identity).toMatchObject({
      accessKey: null,
      userArn: null,
      caller: null,
      sourceIp: '127.0.0.1',
    });
  });

  it('still answers signed requests (a signature is simply not looked at)', async () => {
    const { status } = await t.api.get('fdl-0000000000000000000000000000000000000000');
    expect(status).toBe(404);
  });
});
