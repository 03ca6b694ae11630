import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** Account id used when nothing better is known; the same default as local-aws-sqs. */
export const DEFAULT_ACCOUNT_ID = '123456789012';
/** Region used when neither the caller nor AWS_REGION says otherwise. */
export const DEFAULT_REGION = 'us-east-1';
/** Lambda's default memory size. */
export const DEFAULT_MEMORY_MB = 128;

export interface LambdaContextOptions {
  functionName: string;
  /** The function timeout; `getRemainingTimeInMillis()` counts down from it. */
  timeoutMs: number;
  memoryMb?: number;
  /** Defaults to `process.env.AWS_REGION`, then us-east-1. */
  region?: string;
  accountId?: string;
  /** Defaults to `$LATEST`, as for an unqualified invoke. */
  functionVersion?: string;
  /** Defaults to a fresh stream name in Lambda's `yyyy/mm/dd/[$LATEST]<32 hex>` format. */
  logStreamName?: string;
}

/** A log stream name shaped like the ones Lambda creates per execution environment. */
export function createLogStreamName(functionVersion = '$LATEST', now = new Date()): string {
  const yyyy = now.getUTCFullYear();
  const mm = String(now.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(now.getUTCDate()).padStart(2, '0');
  return `${yyyy}/${mm}/${dd}/[${functionVersion}]${randomBytes(16).toString('hex')}`;
}

function deprecatedContextMethod(name: 'done' | 'fail' | 'succeed'): () => never {
  return () => {
    throw new Error(
      `context.${name}() is a deprecated Node.js 0.10 Lambda API that this runtime does not support: ` +
        'return (or resolve) the result from the async handler, or throw to fail the invocation.',
    );
  };
}

/**
 * Builds the `Context` Lambda passes as the handler's second argument, for one invocation:
 * a fresh awsRequestId, the function ARN, and a clock that starts counting down now.
 */
export function createLambdaContext(options: LambdaContextOptions): Context {
  const { functionName, timeoutMs } = options;
  if (!functionName) throw new Error('createLambdaContext: functionName is required');
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new Error(`createLambdaContext: timeoutMs must be a positive number, got ${timeoutMs}`);
  }
  const region = options.region ?? process.env.AWS_REGION ?? DEFAULT_REGION;
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const functionVersion = options.functionVersion ?? '$LATEST';
  const deadline = Date.now() + timeoutMs;

  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion,
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: String(options.memoryMb ?? DEFAULT_MEMORY_MB),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: options.logStreamName ?? createLogStreamName(functionVersion),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: deprecatedContextMethod('done'),
    fail: deprecatedContextMethod('fail'),
    succeed: deprecatedContextMethod('succeed'),
  };
}
