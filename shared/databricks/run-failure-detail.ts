/**
 * Why a run failed, where a Flyte user looks: the failed task's exception and the first lines of its stack trace
 * (runs/get-output), added to the job's message, as Airflow's Databricks operators do, so the Python error is seen
 * without opening Databricks. One call per failed run, within the workspace's budget like every other; what it reads
 * is a user's program output, so credential-looking parts are redacted and it is bounded.
 */
import { redactString } from '../log-redaction.js';
import type { DatabricksRun, DatabricksRunOutput } from './types.js';

/** At most this much of the detail is kept (UTF-16 units, about 2 KiB of ASCII). */
export const MAX_FAILURE_DETAIL_CHARS = 2048;
/** Lines of the stack trace kept: its head says where, its last line what (both within the bound). */
const TRACE_LINES = 12;
/** Task result states that mean the task itself failed (not one skipped because another did). */
const FAILED_TASK_STATES = new Set(['FAILED', 'TIMEDOUT', 'INTERNAL_ERROR']);

/**
 * The task run whose output says why the run failed: the first task that failed by itself, else the first task.
 * Undefined for a run without tasks (a legacy single-task run has no task runs to ask).
 */
export function failedTaskRunId(run: Pick<DatabricksRun, 'tasks'>): number | undefined {
  const tasks = (run.tasks ?? []).filter((task) => Number.isSafeInteger(task.run_id) && (task.run_id as number) > 0);
  const failed = tasks.find((task) => {
    const state = task.state as { result_state?: unknown; life_cycle_state?: unknown } | undefined;
    return FAILED_TASK_STATES.has(String(state?.result_state)) || state?.life_cycle_state === 'INTERNAL_ERROR';
  });
  return (failed ?? tasks[0])?.run_id as number | undefined;
}

/** `error`, then the trace's first lines; redacted, bounded; undefined when the output says nothing. */
export function failureDetail(output: DatabricksRunOutput): string | undefined {
  const error = output.error?.trim();
  const traceLines = output.error_trace?.trim().split('\n') ?? [];
  const trace = traceLines.slice(0, TRACE_LINES).join('\n') + (traceLines.length > TRACE_LINES ? '\n…' : '');
  const text = [error, trace].filter((part) => part !== undefined && part !== '').join('\n');
  if (text === '') return undefined;
  const redacted = redactString(text.slice(0, MAX_FAILURE_DETAIL_CHARS * 2));
  return redacted.length > MAX_FAILURE_DETAIL_CHARS ? `${redacted.slice(0, MAX_FAILURE_DETAIL_CHARS - 1)}…` : redacted;
}
