/**
 * The status page of a running local stack: its collected metrics, the DLQs its template defines, and the workspace
 * budget its functions run with (WORKSPACE_API_BUDGET_RPS as the poll function's configuration reads it, the
 * default included).
 */
import { parseConfig } from '../../../shared/config.js';
import type { LocalStack } from '../local-stack.js';
import { type StatusPage, startStatusPage } from './status-page-server.js';

export function startStackStatusPage(
  stack: Pick<LocalStack, 'metrics' | 'sqs' | 'deadLetterQueues' | 'functionEnvironment'>,
  options: { port?: number; refreshSeconds?: number } = {},
): Promise<StatusPage> {
  return startStatusPage({
    metrics: stack.metrics,
    sqs: stack.sqs,
    deadLetterQueues: stack.deadLetterQueues,
    budgetPerSecond: budgetOf(stack.functionEnvironment('poll')),
    ...options,
  });
}

function budgetOf(env: Record<string, string>): number | undefined {
  try {
    return parseConfig(env).WORKSPACE_API_BUDGET_RPS;
  } catch {
    return undefined;
  }
}
