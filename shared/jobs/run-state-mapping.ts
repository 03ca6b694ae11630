/**
 * Maps a Databricks run's state to a Flyte phase.
 *
 * Upstream raises on any state it does not know (QUEUED, BLOCKED, WAITING_FOR_RETRY and several result states),
 * which leaves jobs stuck or crashing; Airflow and Dagster shipped the same bug. Here every documented state has a
 * phase, and an unknown *life-cycle* state is treated as still running (flagged `unknown` so the caller logs it),
 * because Databricks says new states may be added and only TERMINATED, SKIPPED and INTERNAL_ERROR end a run.
 */
import type { Phase } from './phase.js';

export interface RunStateInput {
  state?: { life_cycle_state?: string; result_state?: string; state_message?: string };
  /** Jobs API 2.2 `status`: used when `state` is absent, since `state` is marked deprecated. */
  status?: { state?: string; termination_details?: { code?: string; type?: string; message?: string } };
}

export interface MappedRunState {
  phase: Phase;
  lifeCycleState: string | undefined;
  resultState: string | undefined;
  message: string;
  /** True when Databricks sent a state this code does not know; the phase is then a safe guess. */
  unknown: boolean;
}

const LIFE_CYCLE_PHASES: Record<string, Phase> = {
  QUEUED: 'WAITING_FOR_RESOURCES',
  BLOCKED: 'WAITING_FOR_RESOURCES',
  PENDING: 'INITIALIZING',
  RUNNING: 'RUNNING',
  TERMINATING: 'RUNNING',
  // Databricks retries the task itself; the run is not over.
  WAITING_FOR_RETRY: 'RUNNING',
  // 2.2 `status.state` spelling of the same idea.
  WAITING: 'WAITING_FOR_RESOURCES',
  SKIPPED: 'FAILED',
  INTERNAL_ERROR: 'RETRYABLE_FAILED',
};

const RESULT_PHASES: Record<string, Phase> = {
  SUCCESS: 'SUCCEEDED',
  // The run as a whole succeeded though some tasks failed; Databricks classifies it as a success.
  SUCCESS_WITH_FAILURES: 'SUCCEEDED',
  FAILED: 'FAILED',
  TIMEDOUT: 'FAILED',
  CANCELED: 'FAILED',
  UPSTREAM_FAILED: 'FAILED',
  UPSTREAM_CANCELED: 'FAILED',
  EXCLUDED: 'FAILED',
  DISABLED: 'FAILED',
  // The workspace was at its concurrency limit: trying again later can work.
  MAXIMUM_CONCURRENT_RUNS_REACHED: 'RETRYABLE_FAILED',
};

/** 2.2 `status.termination_details.type` when only `status` is present. */
const TERMINATION_TYPE_PHASES: Record<string, Phase> = {
  SUCCESS: 'SUCCEEDED',
  CLIENT_ERROR: 'FAILED',
  INTERNAL_ERROR: 'RETRYABLE_FAILED',
  CLOUD_FAILURE: 'RETRYABLE_FAILED',
};

export function mapRunState(run: RunStateInput): MappedRunState {
  const lifeCycleState = run.state?.life_cycle_state ?? run.status?.state;
  const details = run.status?.termination_details;
  const resultState = run.state?.result_state ?? details?.code;
  const message = run.state?.state_message || details?.message || '';
  if (lifeCycleState === undefined) {
    return { phase: 'UNDEFINED', lifeCycleState, resultState, message, unknown: true };
  }
  if (lifeCycleState !== 'TERMINATED') {
    const phase = LIFE_CYCLE_PHASES[lifeCycleState];
    return phase
      ? { phase, lifeCycleState, resultState, message, unknown: false }
      : { phase: 'RUNNING', lifeCycleState, resultState, message, unknown: true };
  }
  return { ...mapTerminated(run), lifeCycleState, resultState, message };
}

function mapTerminated(run: RunStateInput): { phase: Phase; unknown: boolean } {
  const fromResult = run.state?.result_state ? RESULT_PHASES[run.state.result_state] : undefined;
  if (fromResult) return { phase: fromResult, unknown: false };
  const type = run.status?.termination_details?.type;
  const fromType = type ? TERMINATION_TYPE_PHASES[type] : undefined;
  // A result_state we could not map is still worth a log line even when the 2.2 status decides the phase.
  if (fromType) return { phase: fromType, unknown: run.state?.result_state !== undefined };
  // Ended, but with a result nobody documented: failing loudly beats polling a finished run forever.
  return { phase: 'FAILED', unknown: true };
}
