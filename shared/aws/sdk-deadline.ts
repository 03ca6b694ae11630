/**
 * AWS SDK v3 clients within the invocation's deadline (shared/invocation-deadline.ts). The SDK bounds each attempt
 * with its own timeouts and makes up to 3 attempts (4 for DynamoDB) with backoff, none of which knows when Lambda
 * will end the invocation; so each client gets three pieces, through the SDK's public extension points:
 *
 * - its HTTP handler is wrapped: every attempt is aborted when the time left runs out (at most, still, the
 *   handler's own timeouts), and none starts with less than MIN_ATTEMPT_TIME_MS left;
 * - its retry strategy is wrapped: the SDK's StandardRetryStrategy sleeps its backoff inside
 *   refreshRetryTokenForRetry (@smithy/core 3.41 util-retry), so the wrapper races that call and refuses the retry
 *   once it could no longer start with MIN_ATTEMPT_TIME_MS left, instead of letting it run past the deadline;
 * - a middleware at the `initialize` step (once per `send`, outside the retries) turns a call cut short by the
 *   deadline into a DeferError, so the record is deferred (no receive spent, the job not failed) rather than failed.
 *
 * The same objects serve a DynamoDBDocumentClient made from the client (it shares the client's config and middleware
 * stack). Outside a deadline (the API function, tests, scripts) the time left is Infinity and all three step aside.
 */
import type {
  HttpHandlerOptions,
  InitializeHandlerArguments,
  InitializeHandlerOutput,
  InitializeMiddleware,
  MetadataBearer,
  Provider,
  RetryErrorInfo,
  RetryStrategy,
  RetryStrategyV2,
  RetryToken,
} from '@smithy/types';
import { DeferError, MIN_ATTEMPT_TIME_MS } from '../invocation-deadline.js';

/** The parts of a client's runtime extension configuration this uses (setHttpHandler, setRetryStrategy). */
export interface DeadlineExtensionConfiguration {
  httpHandler(): SdkHttpHandler;
  setHttpHandler(handler: SdkHttpHandler): void;
  retryStrategy(): Provider<RetryStrategyV2 | RetryStrategy>;
  setRetryStrategy(retryStrategy: Provider<RetryStrategyV2 | RetryStrategy>): void;
}

/** What the SDK asks of a request handler (smithy's HttpHandler), with the request and response left opaque. */
export interface SdkHttpHandler {
  metadata?: { handlerProtocol: string };
  handle(request: never, options?: HttpHandlerOptions): Promise<{ response: unknown }>;
  destroy?(): void;
  updateHttpClientConfig(key: never, value: never): void;
  httpHandlerConfigs(): object;
}

/** The smallest client this applies to: any AWS SDK v3 client. */
interface SdkClient {
  middlewareStack: { add(middleware: InitializeMiddleware<object, MetadataBearer>, options: object): void };
}

/**
 * Errors of a call whose retry was refused for lack of time: the retry middleware rethrows the attempt's own error
 * (it cannot be told why the strategy refused), so the middleware recognises them here.
 */
const refusedForTime = new WeakSet<object>();

/**
 * Runtime extension for a client's constructor (`extensions: [deadlineExtension(left)]`), `left` being the time
 * its calls may take (remainingMs, or handOffRemainingMs for SQS).
 */
export function deadlineExtension(left: () => number, what: string) {
  return {
    configure(config: DeadlineExtensionConfiguration): void {
      config.setHttpHandler(new DeadlineHttpHandler(config.httpHandler(), left, what));
      const inner = config.retryStrategy();
      let wrapped: Promise<RetryStrategyV2 | RetryStrategy> | undefined;
      config.setRetryStrategy(() => {
        wrapped ??= Promise.resolve(typeof inner === 'function' ? inner() : inner).then((strategy) =>
          // A legacy (v1) strategy runs its own loop; its attempts are still bounded by the handler.
          isRetryStrategyV2(strategy) ? new DeadlineRetryStrategy(strategy, left) : strategy,
        );
        return wrapped;
      });
    },
  };
}

/** Adds the middleware that turns a call cut short by the deadline into a DeferError (once per client). */
export function addDeadlineMiddleware<C extends SdkClient>(client: C, left: () => number, what: string): C {
  client.middlewareStack.add(deadlineMiddleware(left, what), {
    step: 'initialize',
    priority: 'high',
    name: 'invocationDeadlineMiddleware',
    override: true,
  });
  return client;
}

function deadlineMiddleware(left: () => number, what: string): InitializeMiddleware<object, MetadataBearer> {
  return (next, context) =>
    async (args: InitializeHandlerArguments<object>): Promise<InitializeHandlerOutput<MetadataBearer>> => {
      const call = `${what} ${context.commandName ?? 'call'}`;
      if (left() < MIN_ATTEMPT_TIME_MS) throw noTimeFor(call);
      try {
        return await next(args);
      } catch (error) {
        if (error instanceof DeferError) throw error;
        if (typeof error === 'object' && error !== null && refusedForTime.has(error)) {
          const name = error instanceof Error ? error.name : 'error';
          throw new DeferError(`No time left in this invocation to retry ${call} after ${name}`, 1, {
            reason: 'deadline',
            cause: error,
          });
        }
        throw error;
      }
    };
}

function noTimeFor(call: string): DeferError {
  return new DeferError(`No time left in this invocation for ${call}`, 1, { reason: 'deadline' });
}

/**
 * The client's HTTP handler, each attempt aborted when the time left runs out. Its own timeouts (AWS_HTTP_TIMEOUTS)
 * still apply when they are shorter.
 */
export class DeadlineHttpHandler implements SdkHttpHandler {
  constructor(
    readonly inner: SdkHttpHandler,
    private readonly left: () => number,
    private readonly what: string,
  ) {}

  get metadata() {
    return this.inner.metadata;
  }

  async handle(request: never, options: HttpHandlerOptions = {}): Promise<{ response: unknown }> {
    const left = this.left();
    if (!Number.isFinite(left)) return this.inner.handle(request, options);
    if (left < MIN_ATTEMPT_TIME_MS) throw noTimeFor(this.what);
    const deadline = AbortSignal.timeout(left);
    const caller = options.abortSignal;
    const abortSignal = caller instanceof AbortSignal ? AbortSignal.any([caller, deadline]) : deadline;
    try {
      return await this.inner.handle(request, { ...options, abortSignal });
    } catch (error) {
      // Ours, not the caller's: the record goes back rather than failing (the retry strategy never retries it).
      if (deadline.aborted && !caller?.aborted) {
        throw new DeferError(`${this.what} did not answer before the invocation's deadline`, 1, {
          reason: 'deadline',
          cause: error,
        });
      }
      throw error;
    }
  }

  destroy(): void {
    this.inner.destroy?.();
  }

  updateHttpClientConfig(key: never, value: never): void {
    this.inner.updateHttpClientConfig(key, value);
  }

  httpHandlerConfigs(): object {
    return this.inner.httpHandlerConfigs();
  }
}

/**
 * The SDK's retry strategy, refusing a retry that could not start with MIN_ATTEMPT_TIME_MS left. What is retried,
 * the backoff and the retry quota stay the SDK's.
 */
export class DeadlineRetryStrategy implements RetryStrategyV2 {
  constructor(
    readonly inner: RetryStrategyV2,
    private readonly left: () => number,
  ) {}

  acquireInitialRetryToken(scope: string): Promise<RetryToken> {
    return this.inner.acquireInitialRetryToken(scope);
  }

  recordSuccess(token: RetryToken): void {
    this.inner.recordSuccess(token);
  }

  async refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    const { error } = errorInfo;
    // Out of time already: never retried (the SDK would not either, but its capacity need not be asked).
    if (error instanceof DeferError) throw error;
    const wanted = errorInfo.errorType === 'THROTTLING' || errorInfo.errorType === 'TRANSIENT';
    const left = this.left();
    if (!wanted || !Number.isFinite(left)) return this.inner.refreshRetryTokenForRetry(token, errorInfo);
    const refuse = () => {
      if (error) refusedForTime.add(error);
      return new Error('No time left in this invocation for a retry');
    };
    // The backoff must end with a whole attempt's time left.
    const window = left - MIN_ATTEMPT_TIME_MS;
    if (window <= 0) throw refuse();
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(refuse()), window);
    });
    try {
      // The inner strategy sleeps its backoff before it answers (or refuses at once: no retry wanted, quota spent).
      return await Promise.race([this.inner.refreshRetryTokenForRetry(token, errorInfo), cut]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function isRetryStrategyV2(strategy: RetryStrategyV2 | RetryStrategy): strategy is RetryStrategyV2 {
  return typeof (strategy as Partial<RetryStrategyV2>).refreshRetryTokenForRetry === 'function';
}
