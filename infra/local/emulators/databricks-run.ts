/**
 * Run model for the Databricks workspace emulator: runs/submit body validation and the clock-driven run life cycle
 * (PENDING -> RUNNING -> TERMINATING -> TERMINATED), rendered as Jobs API 2.1 / 2.2 `runs/get` JSON.
 *
 * Verified against public sources:
 * - A submitted one-off run has a `job_id`, `run_type: "SUBMIT_RUN"`, `number_in_job` equal to the run id and a
 *   `run_page_url` of the form `https://<host>/?o=<workspace-id>#job/<job_id>/run/<run_id>`; a user-cancelled run reads
 *   `life_cycle_state: TERMINATED, result_state: CANCELED, state_message: "Run cancelled.",
 *   user_cancelled_or_timedout: true`; a legacy single-task submit reports one task whose `task_key` is the run name
 *   with spaces turned into underscores (runs/get response quoted in flyteorg/flytekit PR #1935).
 * - Life-cycle / result states, 2.2 `status.state` values and `termination_details {code, type, message}` enums
 *   (docs.databricks.com jobs API reference; Azure/azure-databricks-client #228 for USER_CANCELED).
 * - Submit body shape: `tasks[]` with `task_key` + one task type, compute via existing_cluster_id | new_cluster |
 *   environment_key, `environments[]` {environment_key, spec}, `git_source` {git_url, git_provider, one of
 *   git_branch | git_tag | git_commit}, `idempotency_token` at most 64 characters (Go SDK `SubmitRun`/`SubmitTask`).
 *   `source` defaults to GIT when a `git_source` is present (API reference for spark_python_task / notebook_task).
 *
 * Assumed (not verified): the exact wording of validation messages; which task types may omit compute (notebooks run
 * serverless without an environment_key, SQL/run-job/condition/pipeline/for-each tasks need no cluster); that
 * spark_version is required in new_cluster; rejecting `tasks` combined with a top-level task type; the
 * PENDING/RUNNING/FAILED state messages; termination `type` SUCCESS for USER_CANCELED; a cancel that arrives once the
 * run is already TERMINATING or TERMINATED leaves the outcome unchanged.
 */

export type ResultState =
  | 'SUCCESS'
  | 'FAILED'
  | 'TIMEDOUT'
  | 'CANCELED'
  | 'SUCCESS_WITH_FAILURES'
  | 'MAXIMUM_CONCURRENT_RUNS_REACHED'
  | 'EXCLUDED'
  | 'UPSTREAM_FAILED'
  | 'UPSTREAM_CANCELED'
  | 'DISABLED';

export type LifeCycleState = 'PENDING' | 'RUNNING' | 'TERMINATING' | 'TERMINATED' | 'SKIPPED' | 'INTERNAL_ERROR';
export type TerminationType = 'SUCCESS' | 'CLIENT_ERROR' | 'INTERNAL_ERROR' | 'CLOUD_FAILURE';

/** How a run ends when nobody cancels it. */
export interface RunOutcome {
  resultState: ResultState;
  stateMessage?: string;
  /** Terminal life-cycle state; TERMINATED unless a test wants INTERNAL_ERROR or SKIPPED. */
  lifeCycleState?: 'TERMINATED' | 'INTERNAL_ERROR' | 'SKIPPED';
  terminationCode?: string;
  terminationType?: TerminationType;
  /** This run's own pace, over the workspace's (a long job among short ones). */
  timing?: Partial<RunTiming>;
  /** What runs/get-output reports for its task once it has failed: the exception, and its stack trace. */
  error?: string;
  errorTrace?: string;
}

export interface RunTiming {
  pendingMs: number;
  runningMs: number;
  terminatingMs: number;
}

export const DEFAULT_RUN_TIMING: RunTiming = { pendingMs: 300, runningMs: 700, terminatingMs: 100 };

export interface EmulatedRun {
  readonly runId: number;
  readonly jobId: number;
  readonly runName: string;
  readonly body: Record<string, unknown>;
  readonly idempotencyToken: string | undefined;
  readonly submittedAt: number;
  readonly outcome: RunOutcome;
  readonly tasks: ReadonlyArray<{ taskKey: string; runId: number }>;
  /** Who submitted it: an SP application id, or `user:<owner>` for a PAT. */
  readonly principal: string;
  cancelRequested: boolean;
  /** Set when a cancel arrived before the run reached TERMINATING on its own. */
  canceledAt: number | undefined;
}

export interface TerminationDetails {
  code: string;
  type: TerminationType;
  message: string;
}

export interface RunSnapshot {
  lifeCycleState: LifeCycleState;
  /** 2.2 `status.state`: terminal life-cycle states all read TERMINATED there. */
  statusState: 'PENDING' | 'RUNNING' | 'TERMINATING' | 'TERMINATED';
  resultState: ResultState | undefined;
  stateMessage: string;
  userCancelledOrTimedout: boolean;
  terminationDetails: TerminationDetails | undefined;
  startTime: number;
  endTime: number;
  durations: { setup: number; execution: number; cleanup: number } | undefined;
}

const TASK_TYPES = [
  'spark_python_task',
  'notebook_task',
  'python_wheel_task',
  'spark_jar_task',
  'spark_submit_task',
  'sql_task',
  'dbt_task',
  'run_job_task',
  'condition_task',
  'pipeline_task',
  'for_each_task',
  'dashboard_task',
  'clean_rooms_notebook_task',
  'power_bi_task',
  'gen_ai_compute_task',
] as const;
/** Need a cluster or a serverless environment. */
const NEEDS_COMPUTE = new Set(['spark_python_task', 'python_wheel_task', 'dbt_task']);
/** Need a classic cluster (no serverless environment). */
const NEEDS_CLUSTER = new Set(['spark_jar_task', 'spark_submit_task']);
const GIT_SOURCED = new Set(['spark_python_task', 'notebook_task', 'dbt_task']);
const GIT_PROVIDERS = [
  'github',
  'bitbucketcloud',
  'azuredevopsservices',
  'githubenterprise',
  'bitbucketserver',
  'gitlab',
  'gitlabenterpriseedition',
  'awscodecommit',
];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

function validateNewCluster(cluster: unknown, at: (name: string) => string): string | undefined {
  if (!isObject(cluster)) return `${at('new_cluster')} must be an object.`;
  if (!isNonEmptyString(cluster.spark_version)) return `Missing required field: ${at('new_cluster')}.spark_version`;
  return undefined;
}

/** Validates one task definition (a `tasks[]` item, or the top level of a legacy single-task body). */
function validateTask(
  task: Record<string, unknown>,
  where: string,
  body: Record<string, unknown>,
  legacy: boolean,
): string | undefined {
  const at = (name: string): string => (where ? `${where}.${name}` : name);
  const types = TASK_TYPES.filter((type) => task[type] !== undefined && task[type] !== null);
  if (types.length === 0) {
    return `${where || 'run'}: exactly one task type is required (one of ${TASK_TYPES.slice(0, 6).join(', ')}, ...).`;
  }
  if (types.length > 1) return `${where || 'run'}: only one task type may be set, got ${types.join(', ')}.`;
  const type = types[0] as string;
  const spec = task[type];
  if (!isObject(spec)) return `${at(type)} must be an object.`;

  const hasCluster = task.existing_cluster_id !== undefined || task.new_cluster !== undefined;
  const envKey = legacy ? undefined : task.environment_key;
  if (task.existing_cluster_id !== undefined && !isNonEmptyString(task.existing_cluster_id)) {
    return `${at('existing_cluster_id')} must be a non-empty string.`;
  }
  if (task.existing_cluster_id !== undefined && task.new_cluster !== undefined) {
    return `${where || 'run'}: existing_cluster_id and new_cluster cannot both be specified.`;
  }
  if (task.new_cluster !== undefined) {
    const clusterError = validateNewCluster(task.new_cluster, at);
    if (clusterError) return clusterError;
  }
  if (envKey !== undefined) {
    if (!isNonEmptyString(envKey)) return `${at('environment_key')} must be a non-empty string.`;
    if (hasCluster)
      return `${where || 'run'}: environment_key cannot be combined with existing_cluster_id or new_cluster.`;
    const environments = Array.isArray(body.environments) ? body.environments : [];
    if (!environments.some((env) => isObject(env) && env.environment_key === envKey)) {
      return `${where || 'run'}: environment_key '${envKey}' is not defined in environments.`;
    }
  }
  if (legacy && !hasCluster) {
    return 'One of existing_cluster_id or new_cluster must be specified for a single-task run.';
  }
  if (NEEDS_CLUSTER.has(type) && !hasCluster) {
    return `${where || 'run'}: ${type} requires existing_cluster_id or new_cluster.`;
  }
  if (NEEDS_COMPUTE.has(type) && !hasCluster && envKey === undefined) {
    return `${where || 'run'}: ${type} requires compute: set one of existing_cluster_id, new_cluster or environment_key.`;
  }

  if (type === 'spark_python_task' && !isNonEmptyString(spec.python_file)) {
    return `Missing required field: ${at('spark_python_task')}.python_file`;
  }
  if (type === 'notebook_task' && !isNonEmptyString(spec.notebook_path)) {
    return `Missing required field: ${at('notebook_task')}.notebook_path`;
  }
  if (type === 'python_wheel_task' && (!isNonEmptyString(spec.package_name) || !isNonEmptyString(spec.entry_point))) {
    return `Missing required field: ${at('python_wheel_task')}.package_name / entry_point`;
  }
  if (spec.parameters !== undefined) {
    const params = spec.parameters;
    if (!Array.isArray(params) || params.some((p) => typeof p !== 'string')) {
      return `${at(type)}.parameters must be an array of strings.`;
    }
  }
  if (GIT_SOURCED.has(type)) {
    if (spec.source !== undefined && spec.source !== 'GIT' && spec.source !== 'WORKSPACE') {
      return `${at(type)}.source must be GIT or WORKSPACE.`;
    }
    // source defaults to GIT when a git_source is defined, WORKSPACE otherwise.
    if (spec.source === 'GIT' && body.git_source === undefined) {
      return `${at(type)}.source is GIT but no git_source is defined.`;
    }
  }
  return undefined;
}

function validateGitSource(git: unknown): string | undefined {
  if (!isObject(git)) return 'git_source must be an object.';
  if (!isNonEmptyString(git.git_url)) return 'Missing required field: git_source.git_url';
  if (!isNonEmptyString(git.git_provider)) return 'Missing required field: git_source.git_provider';
  if (!GIT_PROVIDERS.includes(git.git_provider.toLowerCase())) {
    return `Invalid git_source.git_provider: ${git.git_provider}`;
  }
  const refs = ['git_branch', 'git_tag', 'git_commit'].filter((key) => isNonEmptyString(git[key]));
  if (refs.length !== 1) return 'git_source requires exactly one of git_branch, git_tag or git_commit.';
  return undefined;
}

function validateEnvironments(environments: unknown): string | undefined {
  if (!Array.isArray(environments)) return 'environments must be an array.';
  const seen = new Set<string>();
  for (const [index, env] of environments.entries()) {
    if (!isObject(env) || !isNonEmptyString(env.environment_key)) {
      return `Missing required field: environments[${index}].environment_key`;
    }
    if (seen.has(env.environment_key)) return `Duplicate environment_key '${env.environment_key}' in environments.`;
    seen.add(env.environment_key);
    const spec = env.spec;
    if (!isObject(spec)) return `Missing required field: environments[${index}].spec`;
    if (spec.client === undefined && spec.environment_version === undefined && spec.base_environment === undefined) {
      return `environments[${index}].spec: either environment_version or client needs to be provided.`;
    }
  }
  return undefined;
}

/** Returns an INVALID_PARAMETER_VALUE message, or undefined when Databricks would accept the body. */
export function validateSubmitRun(body: Record<string, unknown>): string | undefined {
  const token = body.idempotency_token;
  if (token !== undefined && (typeof token !== 'string' || token.length > 64)) {
    return 'idempotency_token must be a string of at most 64 characters.';
  }
  if (body.run_name !== undefined && typeof body.run_name !== 'string') return 'run_name must be a string.';
  if (body.timeout_seconds !== undefined) {
    const timeout = body.timeout_seconds;
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0) {
      return 'timeout_seconds must be a non-negative integer.';
    }
  }
  if (body.git_source !== undefined) {
    const gitError = validateGitSource(body.git_source);
    if (gitError) return gitError;
  }
  if (body.environments !== undefined) {
    const envError = validateEnvironments(body.environments);
    if (envError) return envError;
  }
  const topLevelTypes = TASK_TYPES.filter((type) => body[type] !== undefined);
  if (body.tasks === undefined) {
    if (topLevelTypes.length === 0) return 'At least one task is required: set tasks or a single task definition.';
    return validateTask(body, '', body, true);
  }
  if (topLevelTypes.length > 0) return 'tasks cannot be combined with a top-level task definition.';
  if (!Array.isArray(body.tasks) || body.tasks.length === 0) return 'tasks must be a non-empty array.';
  const keys = new Set<string>();
  for (const [index, task] of body.tasks.entries()) {
    const where = `tasks[${index}]`;
    if (!isObject(task)) return `${where} must be an object.`;
    if (!isNonEmptyString(task.task_key)) return `Missing required field: ${where}.task_key`;
    if (!/^[\w-]{1,100}$/.test(task.task_key)) return `Invalid ${where}.task_key: ${task.task_key}`;
    if (keys.has(task.task_key)) return `Duplicate task_key '${task.task_key}'.`;
    keys.add(task.task_key);
    const taskError = validateTask(task, where, body, false);
    if (taskError) return taskError;
  }
  return undefined;
}

/** Task keys as runs/get reports them; a legacy single-task run is named after the run. */
export function taskKeysOf(body: Record<string, unknown>, runName: string): string[] {
  if (Array.isArray(body.tasks)) return body.tasks.map((task) => String((task as Record<string, unknown>).task_key));
  return [runName.replace(/\W/g, '_')];
}

function defaultTermination(outcome: RunOutcome): TerminationDetails {
  const message = outcome.stateMessage ?? defaultMessage(outcome);
  const life = outcome.lifeCycleState ?? 'TERMINATED';
  if (outcome.terminationCode) {
    return { code: outcome.terminationCode, type: outcome.terminationType ?? 'CLIENT_ERROR', message };
  }
  if (life === 'INTERNAL_ERROR') return { code: 'INTERNAL_ERROR', type: 'INTERNAL_ERROR', message };
  if (life === 'SKIPPED') return { code: 'SKIPPED', type: 'SUCCESS', message };
  switch (outcome.resultState) {
    case 'SUCCESS':
      return { code: 'SUCCESS', type: 'SUCCESS', message };
    case 'SUCCESS_WITH_FAILURES':
      return { code: 'SUCCESS_WITH_FAILURES', type: 'SUCCESS', message };
    case 'CANCELED':
      return { code: 'CANCELED', type: 'SUCCESS', message };
    default:
      return { code: 'RUN_EXECUTION_ERROR', type: outcome.terminationType ?? 'CLIENT_ERROR', message };
  }
}

function defaultMessage(outcome: RunOutcome): string {
  if (outcome.resultState === 'SUCCESS') return '';
  if (outcome.resultState === 'CANCELED') return 'Run cancelled.';
  if (outcome.resultState === 'TIMEDOUT') return 'Run timed out.';
  return 'Workload failed, see run output for details';
}

const USER_CANCELED: TerminationDetails = { code: 'USER_CANCELED', type: 'SUCCESS', message: 'Run cancelled.' };

/** Records a cancel; it only changes the outcome while the run is still PENDING or RUNNING. */
export function requestCancel(run: EmulatedRun, now: number, workspaceTiming: RunTiming): void {
  const timing = { ...workspaceTiming, ...run.outcome.timing };
  run.cancelRequested = true;
  if (run.canceledAt !== undefined) return;
  if (now < run.submittedAt + timing.pendingMs + timing.runningMs) run.canceledAt = now;
}

/** The run as the clock reads it now. */
export function snapshotRun(run: EmulatedRun, now: number, workspaceTiming: RunTiming): RunSnapshot {
  const timing = { ...workspaceTiming, ...run.outcome.timing };
  const start = run.submittedAt;
  const runningAt = start + timing.pendingMs;
  const terminatingAt = run.canceledAt ?? runningAt + timing.runningMs;
  const endAt = terminatingAt + timing.terminatingMs;
  const canceled = run.canceledAt !== undefined;
  const base = { startTime: start, endTime: 0, durations: undefined, resultState: undefined };

  if (now < terminatingAt) {
    const running = now >= runningAt;
    return {
      ...base,
      lifeCycleState: running ? 'RUNNING' : 'PENDING',
      statusState: running ? 'RUNNING' : 'PENDING',
      stateMessage: running ? 'In run' : 'Waiting for cluster',
      userCancelledOrTimedout: false,
      terminationDetails: undefined,
    };
  }
  const termination = canceled ? USER_CANCELED : defaultTermination(run.outcome);
  const userCancelledOrTimedout = canceled || run.outcome.resultState === 'TIMEDOUT';
  if (now < endAt) {
    return {
      ...base,
      lifeCycleState: 'TERMINATING',
      statusState: 'TERMINATING',
      stateMessage: '',
      userCancelledOrTimedout,
      terminationDetails: termination,
    };
  }
  const setup = Math.min(timing.pendingMs, terminatingAt - start);
  return {
    lifeCycleState: canceled ? 'TERMINATED' : (run.outcome.lifeCycleState ?? 'TERMINATED'),
    statusState: 'TERMINATED',
    resultState: canceled ? 'CANCELED' : run.outcome.resultState,
    stateMessage: termination.message,
    userCancelledOrTimedout,
    terminationDetails: termination,
    startTime: start,
    endTime: endAt,
    durations: { setup, execution: terminatingAt - start - setup, cleanup: timing.terminatingMs },
  };
}
