/** The Runtime API over real HTTP on 127.0.0.1, driven as a runtime drives it. */
import { afterEach, describe, expect, it } from 'vitest';
import { type RuntimeApi, startRuntimeApi } from '../../../infra/local/lambda-runtime/runtime-api.js';

const opened: RuntimeApi[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((api) => api.close()));
});

async function open(options: { maxResponseBytes?: number } = {}): Promise<{ api: RuntimeApi; base: string }> {
  const api = await startRuntimeApi(options);
  opened.push(api);
  return { api, base: `http://${api.address}/2018-06-01/runtime` };
}

const invocation = (requestId: string) => ({
  requestId,
  payload: JSON.stringify({ hello: 'world' }),
  deadlineMs: 1_900_000_000_000,
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fn',
  clientContext: JSON.stringify({ custom: { a: 1 } }),
});

describe('Runtime API', () => {
  it('holds /next until an invocation arrives, then takes its response', async () => {
    const { api, base } = await open();
    const next = fetch(`${base}/invocation/next`);
    await expect(api.init).resolves.toEqual({ kind: 'ready' });
    const result = api.invoke(invocation('req-1'));
    const delivered = await next;
    expect(delivered.status).toBe(200);
    expect(await delivered.json()).toEqual({ hello: 'world' });
    expect(delivered.headers.get('lambda-runtime-aws-request-id')).toBe('req-1');
    expect(delivered.headers.get('lambda-runtime-deadline-ms')).toBe('1900000000000');
    expect(delivered.headers.get('lambda-runtime-invoked-function-arn')).toBe(
      'arn:aws:lambda:us-east-1:123456789012:function:fn',
    );
    expect(delivered.headers.get('lambda-runtime-trace-id')).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};/);
    expect(delivered.headers.get('lambda-runtime-client-context')).toBe('{"custom":{"a":1}}');

    const posted = await fetch(`${base}/invocation/req-1/response`, { method: 'POST', body: '{"ok":true}' });
    expect(posted.status).toBe(202);
    expect(await posted.json()).toEqual({ status: 'OK' });
    await expect(result).resolves.toEqual({ kind: 'response', body: '{"ok":true}' });
    // Answered already: that request id is no longer current.
    const again = await fetch(`${base}/invocation/req-1/response`, { method: 'POST', body: '{}' });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ errorType: 'InvalidRequestID' });
  });

  it('takes a function error from the body, the header naming its type', async () => {
    const { api, base } = await open();
    const next = fetch(`${base}/invocation/next`);
    const result = api.invoke(invocation('req-2'));
    await next;
    const posted = await fetch(`${base}/invocation/req-2/error`, {
      method: 'POST',
      headers: { 'Lambda-Runtime-Function-Error-Type': 'Unhandled' },
      body: JSON.stringify({ errorType: 'TypeError', errorMessage: 'boom', stackTrace: ['at x'] }),
    });
    expect(posted.status).toBe(202);
    await expect(result).resolves.toEqual({
      kind: 'error',
      errorType: 'TypeError',
      errorMessage: 'boom',
      stackTrace: ['at x'],
    });
  });

  it('takes an init error during init and refuses one after', async () => {
    const first = await open();
    const posted = await fetch(`${first.base}/init/error`, {
      method: 'POST',
      headers: { 'Lambda-Runtime-Function-Error-Type': 'Runtime.ImportModuleError' },
      body: JSON.stringify({ errorType: 'Runtime.ImportModuleError', errorMessage: 'no index', trace: ['t'] }),
    });
    expect(posted.status).toBe(202);
    await expect(first.api.init).resolves.toEqual({
      kind: 'initError',
      errorType: 'Runtime.ImportModuleError',
      errorMessage: 'no index',
      stackTrace: ['t'],
    });

    const second = await open();
    void fetch(`${second.base}/invocation/next`).catch(() => undefined);
    await second.api.init;
    const late = await fetch(`${second.base}/init/error`, { method: 'POST', body: '{}' });
    expect(late.status).toBe(403);
  });

  it('refuses a response over the limit with 413 and fails the invocation as Lambda does', async () => {
    const { api, base } = await open({ maxResponseBytes: 16 });
    const next = fetch(`${base}/invocation/next`);
    const result = api.invoke(invocation('req-3'));
    await next;
    const posted = await fetch(`${base}/invocation/req-3/response`, { method: 'POST', body: 'x'.repeat(17) });
    expect(posted.status).toBe(413);
    expect(await posted.json()).toMatchObject({ errorType: 'RequestEntityTooLarge' });
    await expect(result).resolves.toMatchObject({ kind: 'error', errorType: 'Function.ResponseSizeTooLarge' });
  });

  it('answers 404 to anything else, and rejects an unfinished invoke when closed', async () => {
    const { api, base } = await open();
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    const result = api.invoke(invocation('req-4'));
    await api.close();
    await expect(result).rejects.toThrow(/closed/);
  });
});
