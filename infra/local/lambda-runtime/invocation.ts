/**
 * One invocation of a function as the front door and the event sources see it: the function runs in its own
 * execution environments (function-environments.ts), and this is what comes back.
 */

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

/** `timeoutMs` is when the invocation is ended at the latest (the function timeout, or earlier for an injected kill). */
export type Invoker = (event: unknown, options: { timeoutMs: number }) => Promise<InvocationOutcome>;

/** The account and region of a resource when nothing says otherwise (the same defaults as local-aws-sqs). */
export const DEFAULT_ACCOUNT_ID = '123456789012';
export const DEFAULT_REGION = 'us-east-1';
