/**
 * Flyte task phases, as flyteidl's TaskExecution.Phase names them, and which of them end a job.
 * A job starts QUEUED when it is accepted, before any Databricks run exists.
 */
export const PHASES = [
  'UNDEFINED',
  'QUEUED',
  'WAITING_FOR_RESOURCES',
  'INITIALIZING',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'RETRYABLE_FAILED',
  'ABORTED',
] as const;
export type Phase = (typeof PHASES)[number];

const TERMINAL: ReadonlySet<Phase> = new Set(['SUCCEEDED', 'FAILED', 'RETRYABLE_FAILED', 'ABORTED']);

export function isTerminalPhase(phase: Phase): boolean {
  return TERMINAL.has(phase);
}
