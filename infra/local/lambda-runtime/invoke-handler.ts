import type { Context } from 'aws-lambda';

/** The error an invocation fails with when the handler outlives the function timeout. */
export class LambdaTimeoutError extends Error {
  override readonly name = 'LambdaTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
  }
}

export type InvocationOutcome =
  /** `result` is the handler's return value after a JSON round trip (undefined becomes null), as Lambda returns it. */
  | { status: 'succeeded'; result: unknown }
  | { status: 'failed'; error: unknown }
  | { status: 'timedOut'; error: LambdaTimeoutError };

/**
 * Invokes a handler the way the Lambda Node.js runtime does: the event is a JSON copy (the handler can
 * mutate it freely), a synchronous throw or a rejection fails the invocation, the result is serialised
 * to JSON (an unserialisable result fails the invocation), and when `timeoutMs` passes first the
 * invocation fails with a timeout. On timeout the handler's promise is abandoned, not cancelled:
 * unlike Lambda, which freezes and resets the sandbox, its remaining work still runs in this process.
 */
export async function invokeHandler<TEvent>(
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

/**
 * One invocation of a function, however it runs: in this process (inProcessInvoker: unit tests of the runtime's
 * event sources) or in the function's own execution environments (the local stack). `timeoutMs` is when the
 * invocation is ended at the latest (the function timeout, or earlier for an injected kill).
 */
export type Invoker = (event: unknown, options: { timeoutMs: number }) => Promise<InvocationOutcome>;

/** Runs `handler` in this process, with a fresh Lambda context per invocation. */
export function inProcessInvoker<TEvent>(
  handler: (event: TEvent, context: Context) => unknown,
  contextFor: (timeoutMs: number) => Context,
): Invoker {
  return (event, { timeoutMs }) => invokeHandler(handler, event as TEvent, contextFor(timeoutMs), timeoutMs);
}
