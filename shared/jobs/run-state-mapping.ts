/**
 * Maps a Databricks run's state to a Flyte phase.
 *
 * Upstream raises on any state it does not know (QUEUED, BLOCKED, WAITING_FOR_RETRY and several result states),
 * which leaves jobs stuck or crashing; Airflow and Dagster shipped the same bug. Here every documented state has a
 * phase, and an unknown *life-cycle* state is treated as still running (flagged `unknown` so the caller logs it),
 * because Databricks says new states may be added and only TERMINATED, SKIPPED and INTERNAL_ERROR end a run.
 *
 * When Databricks answers with only the Jobs API 2.2 `status` (no deprecated `state`), a terminated run reads
 * `status.state: TERMINATED` whatever happened, and `termination_details.type` is SUCCESS for cancelled and skipped
 * runs too; so the phase comes from `termination_details.code`, the type deciding only for a code not documented yet.
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

/**
 * 2.2 `status.termination_details.code`: every value of the Jobs API's TerminationCodeCode enum (Databricks SDKs,
 * generated from the API spec). Cancelled, skipped and timed-out runs fail as their `state.result_state` would
 * (CANCELED, TIMEDOUT, SKIPPED); a failure another attempt can get past (the platform, the cloud, a limit that clears)
 * is RETRYABLE_FAILED; one the run's own configuration, code or permissions caused is FAILED.
 */
export const TERMINATION_CODE_PHASES: Readonly<Record<string, Phase>> = {
  SUCCESS: 'SUCCEEDED',
  // Some child runs failed, but Databricks counts the run as a success (as result_state SUCCESS_WITH_FAILURES).
  SUCCESS_WITH_FAILURES: 'SUCCEEDED',
  // A user's cancel (ABORTED when this API asked for it: see the poll's cancel handling).
  USER_CANCELED: 'FAILED',
  // Cancelled by the platform, e.g. the run exceeded its timeout_seconds.
  CANCELED: 'FAILED',
  // Never executed (an upstream task failed, a condition was not met).
  SKIPPED: 'FAILED',
  DISABLED: 'FAILED',
  INTERNAL_ERROR: 'RETRYABLE_FAILED',
  CLOUD_FAILURE: 'RETRYABLE_FAILED',
  // The cluster or the link to its driver failed; a new attempt gets a new cluster.
  CLUSTER_ERROR: 'RETRYABLE_FAILED',
  DRIVER_ERROR: 'RETRYABLE_FAILED',
  // Talking to the git provider failed.
  REPOSITORY_CHECKOUT_FAILED: 'RETRYABLE_FAILED',
  // Limits that clear as other runs end (as result_state MAXIMUM_CONCURRENT_RUNS_REACHED).
  WORKSPACE_RUN_LIMIT_EXCEEDED: 'RETRYABLE_FAILED',
  CLUSTER_REQUEST_LIMIT_EXCEEDED: 'RETRYABLE_FAILED',
  MAX_CONCURRENT_RUNS_EXCEEDED: 'RETRYABLE_FAILED',
  MAX_JOB_QUEUE_SIZE_EXCEEDED: 'RETRYABLE_FAILED',
  MAX_SPARK_CONTEXTS_EXCEEDED: 'RETRYABLE_FAILED',
  RUN_EXECUTION_ERROR: 'FAILED',
  INVALID_CLUSTER_REQUEST: 'FAILED',
  INVALID_RUN_CONFIGURATION: 'FAILED',
  RESOURCE_NOT_FOUND: 'FAILED',
  FEATURE_DISABLED: 'FAILED',
  LIBRARY_INSTALLATION_ERROR: 'FAILED',
  STORAGE_ACCESS_ERROR: 'FAILED',
  UNAUTHORIZED_ERROR: 'FAILED',
  // A budget policy stops the run until an administrator changes it.
  BUDGET_POLICY_LIMIT_EXCEEDED: 'FAILED',
  // In the enum without a description; nothing suggests retrying helps.
  BREAKING_CHANGE: 'FAILED',
};

/** 2.2 `status.termination_details.type`, for a code not in the table above. */
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
  const details = run.status?.termination_details;
  const fromCode = details?.code ? TERMINATION_CODE_PHASES[details.code] : undefined;
  // A result_state we could not map is still worth a log line even when the 2.2 status decides the phase.
  if (fromCode) return { phase: fromCode, unknown: run.state?.result_state !== undefined };
  const fromType = details?.type ? TERMINATION_TYPE_PHASES[details.type] : undefined;
  // A code this release does not know: the type gives a sound phase, and the code a log line.
  if (fromType) return { phase: fromType, unknown: true };
  // Ended, but with a result nobody documented: failing loudly beats polling a finished run forever.
  return { phase: 'FAILED', unknown: true };
}
