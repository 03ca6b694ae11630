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

/** The phases that end a job (also the JobsEnded metric's Phase values, shared/metrics/metric-catalog.ts). */
export const TERMINAL_PHASES = [
  'SUCCEEDED',
  'FAILED',
  'RETRYABLE_FAILED',
  'ABORTED',
] as const satisfies readonly Phase[];
export type TerminalPhase = (typeof TERMINAL_PHASES)[number];

const TERMINAL: ReadonlySet<Phase> = new Set(TERMINAL_PHASES);

export function isTerminalPhase(phase: Phase): phase is TerminalPhase {
  return TERMINAL.has(phase);
}
