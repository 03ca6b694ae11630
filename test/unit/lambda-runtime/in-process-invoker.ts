/**
 * The unit tests of the front door and the SQS event source run a handler in this process instead of in execution
 * environments of its own (the local stack's way, infra/local/lambda-runtime/function-environments.ts): the same
 * Invoker, with Lambda's JSON round trip, errors and timeout.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import {
  DEFAULT_ACCOUNT_ID,
  DEFAULT_REGION,
  type InvocationOutcome,
  type Invoker,
  LambdaTimeoutError,
} from '../../../infra/local/lambda-runtime/invocation.js';

/** A Lambda context for one invocation of `functionName`, its clock counting down from now. */
function contextFor(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const unsupported = () => {
    throw new Error('context.done/fail/succeed are not supported: return or throw from the async handler');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${DEFAULT_REGION}:${DEFAULT_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '128',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/**
 * Invokes `handler` as the Lambda Node.js runtime does: a JSON copy of the event, a throw or rejection fails the
 * invocation, the result goes through JSON (an unserialisable one fails it), and past `timeoutMs` it times out (the
 * handler's promise is abandoned, not cancelled).
 */
async function invokeHandler<TEvent>(
  handler: (event: TEvent, context: Context) => unknown,
  event: TEvent,
  context: Context,
  timeoutMs: number,
): Promise<InvocationOutcome> {
  const payload = JSON.parse(JSON.stringify(event)) as TEvent;
  const run = Promise.resolve().then(() => handler(payload, context));
  // The promise may settle after a timeout abandoned it; never let that become an unhandled rejection.
  run.catch(() => undefined);

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const settled = await Promise.race([
      run.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      timeout,
    ]);
    if (settled === 'timeout') return { status: 'timedOut', error: new LambdaTimeoutError(timeoutMs) };
    if (!settled.ok) return { status: 'failed', error: settled.error };
    const json = settled.value === undefined ? undefined : JSON.stringify(settled.value);
    return { status: 'succeeded', result: json === undefined ? null : (JSON.parse(json) as unknown) };
  } catch (error) {
    // JSON.stringify threw (circular structure, BigInt, a throwing toJSON): the runtime reports a function error.
    return { status: 'failed', error };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `handler` in this process, with a fresh Lambda context for `functionName` per invocation. */
export function inProcessInvoker<TEvent>(
  functionName: string,
  handler: (event: TEvent, context: Context) => unknown,
): Invoker {
  return (event, { timeoutMs }) =>
    invokeHandler(handler, event as TEvent, contextFor(functionName, timeoutMs), timeoutMs);
}
