/**
 * Memory per function, in MB: the stack deploys these and the benchmark reads them, so both price the same
 * functions. Kept apart from infra/stack.ts so that reading it does not load aws-cdk-lib.
 *
 * 256 MB each: a poll batch of 10 peaks far below that in RSS, and the lazy chunks keep what a cold start loads
 * small. Lambda gives CPU in proportion to memory, so raise a function here if its measured duration says so.
 */
import type { FunctionName } from './bundling/function-bundle.js';

export const FUNCTION_MEMORY_MB: Readonly<Record<FunctionName, number>> = {
  api: 256,
  submit: 256,
  poll: 256,
  cancel: 256,
  sweep: 256,
};
