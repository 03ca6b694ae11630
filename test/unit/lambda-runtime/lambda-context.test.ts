import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { invokeHandler, LambdaTimeoutError } from '../../../infra/local/lambda-runtime/invoke-handler.js';
import { createLambdaContext } from '../../../infra/local/lambda-runtime/lambda-context.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('createLambdaContext', () => {
  it('describes the invocation like the Lambda Node.js runtime', () => {
    const context = createLambdaContext({
      functionName: 'worker',
      timeoutMs: 30_000,
      memoryMb: 512,
      region: 'eu-west-1',
      accountId: '111122223333',
    });

    expect(context).toMatchObject({
      callbackWaitsForEmptyEventLoop: true,
      functionName: 'worker',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:worker',
      memoryLimitInMB: '512',
      logGroupName: '/aws/lambda/worker',
    });
    expect(context.awsRequestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(context.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
  });

  it('uses the defaults: 128 MB, AWS_REGION, and a fresh request id per context', () => {
    const first = createLambdaContext({ functionName: 'f', timeoutMs: 1000 });
    const second = createLambdaContext({ functionName: 'f', timeoutMs: 1000 });

    expect(first.memoryLimitInMB).toBe('128');
    expect(first.invokedFunctionArn).toBe(`arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:f`);
    expect(second.awsRequestId).not.toBe(first.awsRequestId);
  });

  it('counts getRemainingTimeInMillis down from the timeout, never below zero', () => {
    vi.useFakeTimers({ now: new Date('2024-01-01T00:00:00Z') });
    const context = createLambdaContext({ functionName: 'f', timeoutMs: 3000 });

    expect(context.getRemainingTimeInMillis()).toBe(3000);
    vi.advanceTimersByTime(1250);
    expect(context.getRemainingTimeInMillis()).toBe(1750);
    vi.advanceTimersByTime(5000);
    expect(context.getRemainingTimeInMillis()).toBe(0);
  });

  it('throws from the deprecated done/fail/succeed', () => {
    const context = createLambdaContext({ functionName: 'f', timeoutMs: 1000 });

    expect(() => context.done()).toThrow(/deprecated/);
    expect(() => context.fail('x')).toThrow(/deprecated/);
    expect(() => context.succeed('x')).toThrow(/deprecated/);
  });

  it('rejects a missing function name or a non-positive timeout', () => {
    expect(() => createLambdaContext({ functionName: '', timeoutMs: 1000 })).toThrow(/functionName/);
    expect(() => createLambdaContext({ functionName: 'f', timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

describe('invokeHandler', () => {
  const context = (): Context => createLambdaContext({ functionName: 'f', timeoutMs: 1000 });

  it('hands the handler a JSON copy of the event and returns the JSON of its result', async () => {
    const event = { when: new Date(0), nested: { list: [1] } };
    const outcome = await invokeHandler(
      async (received: typeof event) => {
        (received.nested.list as unknown[]).push(2);
        return { received, skipped: undefined, at: new Date(1000) };
      },
      event,
      context(),
      1000,
    );

    expect(event.nested.list).toEqual([1]);
    expect(outcome).toEqual({
      status: 'succeeded',
      result: {
        received: { when: '1970-01-01T00:00:00.000Z', nested: { list: [1, 2] } },
        at: '1970-01-01T00:00:01.000Z',
      },
    });
  });

  it('turns an undefined result into null', async () => {
    expect(await invokeHandler(async () => undefined, {}, context(), 1000)).toEqual({
      status: 'succeeded',
      result: null,
    });
  });

  it('fails on a synchronous throw, a rejection, and an unserialisable result', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;

    const thrown = await invokeHandler(
      () => {
        throw new Error('sync');
      },
      {},
      context(),
      1000,
    );
    const rejected = await invokeHandler(() => Promise.reject(new Error('async')), {}, context(), 1000);
    const unserialisable = await invokeHandler(async () => circular, {}, context(), 1000);

    expect(thrown).toEqual({ status: 'failed', error: new Error('sync') });
    expect(rejected).toEqual({ status: 'failed', error: new Error('async') });
    expect(unserialisable.status).toBe('failed');
  });

  it('times out and abandons a handler that outlives the timeout', async () => {
    let finished = false;
    const startedAt = Date.now();
    const outcome = await invokeHandler(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        finished = true;
        throw new Error('too late to matter');
      },
      {},
      context(),
      50,
    );

    expect(Date.now() - startedAt).toBeLessThan(250);
    expect(outcome.status).toBe('timedOut');
    expect(outcome.status === 'timedOut' && outcome.error).toBeInstanceOf(LambdaTimeoutError);
    expect(String(outcome.status === 'timedOut' && outcome.error.message)).toBe('Task timed out after 0.05 seconds');
    expect(finished).toBe(false);
  });
});
