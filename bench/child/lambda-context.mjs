/**
 * The Lambda `Context` for one invocation in a benchmark child: the fields our handlers and Powertools read
 * (awsRequestId, functionName, invokedFunctionArn, memoryLimitInMB, getRemainingTimeInMillis...), shaped as
 * infra/local/lambda-runtime/lambda-context.ts builds them. Plain JavaScript: the child runs on bare Node 22.
 */
import { randomBytes, randomUUID } from 'node:crypto';

const ACCOUNT_ID = '123456789012';

export function createLambdaContext({ functionName, timeoutMs, memoryMb, region }) {
  const deadline = Date.now() + timeoutMs;
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${today}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}
