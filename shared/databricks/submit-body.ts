import { InvalidJobSpecError } from '../errors.js';
import type { ContainerSpec, DatabricksTaskSpec, SubmitRunBody } from './types.js';

/**
 * Builds the runs/submit body from a Flyte Databricks task, following flytekit's `_get_databricks_job_spec`
 * (serverless + notebook lineage, flytekit #3392). Differences from upstream: the input is never mutated,
 * `idempotency_token` is always set, and malformed shapes raise InvalidJobSpecError instead of crashing.
 * Upstream uses Python truthiness (an empty dict/list/string counts as absent); `truthy()` mirrors it.
 */
export interface BuildSubmitRunBodyInput {
  task: DatabricksTaskSpec;
  container: ContainerSpec;
  /** At most 64 chars; makes SQS redelivery and client retries create exactly one run. */
  idempotencyToken: string;
  /** Connector-wide default (FLYTE_DATABRICKS_SERVICE_CREDENTIAL_PROVIDER); the task field wins. */
  defaultServiceCredentialProvider?: string;
}

export const DEFAULT_GIT_SOURCE = Object.freeze({
  git_url: 'https://github.com/flyteorg/flytetools',
  git_provider: 'gitHub',
  git_commit: '572298df1f971fb58c258398bd70a6372f811c96',
});
export const CLASSIC_ENTRYPOINT = 'flytekitplugins/databricks/entrypoint.py';
export const SERVERLESS_ENTRYPOINT = 'flytekitplugins/databricks/entrypoint_serverless.py';
export const NO_COMPUTE_MESSAGE =
  "No compute configuration found in databricks_conf. Provide one of: 'existing_cluster_id' (classic), " +
  "'new_cluster' (classic), 'environment_key' (serverless), or 'environments' (serverless).";

const CONF_FIELD = 'task.databricksConf';

type Json = Record<string, unknown>;
type Envs = Record<string, string>;

export function buildSubmitRunBody(input: BuildSubmitRunBodyInput): SubmitRunBody {
  const { task, container, idempotencyToken } = input;
  if (typeof idempotencyToken !== 'string' || idempotencyToken.length < 1 || idempotencyToken.length > 64) {
    throw new InvalidJobSpecError('idempotency_token must be 1 to 64 characters', 'idempotencyToken');
  }
  if (!isRecord(task.databricksConf)) {
    throw new InvalidJobSpecError('databricksConf must be an object (the runs/submit body)', CONF_FIELD);
  }
  // Upstream mutates the task template in place; we work on a copy.
  const job: Json = structuredClone(task.databricksConf);
  const envs: Envs = { ...(container.env ?? {}), FLYTE_FAIL_ON_ERROR: 'true' };

  const hasCluster = job.existing_cluster_id != null || job.new_cluster != null;
  const hasServerless = truthy(job.environment_key) || truthy(job.environments);
  if (!hasCluster && !hasServerless) throw new InvalidJobSpecError(NO_COMPUTE_MESSAGE, CONF_FIELD);
  // Classic markers win when both are present; the serverless keys then pass through untouched.
  const serverless = hasServerless && !hasCluster;

  const body = truthy(task.notebookPath)
    ? buildNotebookJob(job, task, container, envs, serverless)
    : buildPythonFileJob(job, task, container, envs, serverless, input.defaultServiceCredentialProvider);
  body.idempotency_token = idempotencyToken;
  return body;
}

function buildNotebookJob(
  job: Json,
  task: DatabricksTaskSpec,
  container: ContainerSpec,
  envs: Envs,
  serverless: boolean,
) {
  const notebookTask: Json = { notebook_path: task.notebookPath };
  if (truthy(task.notebookBaseParameters)) notebookTask.base_parameters = { ...task.notebookBaseParameters };
  const userGitSource = truthy(job.git_source) ? job.git_source : undefined;
  if (userGitSource !== undefined) notebookTask.source = 'GIT';

  if (serverless) {
    const environmentKey = configureServerless(job, envs);
    job.tasks = [{ task_key: 'flyte_notebook_task', notebook_task: notebookTask, environment_key: environmentKey }];
  } else {
    configureClassicCluster(job, task, container, envs);
    job.notebook_task = notebookTask;
  }
  // Notebook mode has no default repo: git_source stays only if the user gave one (python_file passes through).
  delete job.git_source;
  if (userGitSource !== undefined) job.git_source = userGitSource;
  return job;
}

function buildPythonFileJob(
  job: Json,
  task: DatabricksTaskSpec,
  container: ContainerSpec,
  envs: Envs,
  serverless: boolean,
  defaultProvider: string | undefined,
) {
  const gitSource = truthy(job.git_source) ? job.git_source : { ...DEFAULT_GIT_SOURCE };
  const userPythonFile = truthy(job.python_file) ? job.python_file : undefined;
  const parameters = [...(container.args ?? [])];

  if (serverless) {
    const environmentKey = configureServerless(job, envs);
    // Appended last: pyflyte-fast-execute must stay the first argument.
    const provider = task.databricksServiceCredentialProvider ?? defaultProvider;
    if (truthy(provider)) parameters.push(`--flyte-credential-provider=${provider}`);
    const sparkPythonTask = { python_file: userPythonFile ?? SERVERLESS_ENTRYPOINT, source: 'GIT', parameters };
    job.tasks = [{ task_key: 'flyte_task', spark_python_task: sparkPythonTask, environment_key: environmentKey }];
  } else {
    configureClassicCluster(job, task, container, envs);
    job.spark_python_task = { python_file: userPythonFile ?? CLASSIC_ENTRYPOINT, source: 'GIT', parameters };
  }
  delete job.python_file;
  job.git_source = gitSource;
  return job;
}

/** existing_cluster_id: untouched. new_cluster: fill docker_image/spark_conf if absent, merge env (Flyte wins). */
function configureClassicCluster(job: Json, task: DatabricksTaskSpec, container: ContainerSpec, envs: Envs): void {
  if (job.existing_cluster_id != null) return;
  const cluster = job.new_cluster;
  if (cluster == null) return;
  if (!isRecord(cluster)) throw new InvalidJobSpecError('new_cluster must be an object', `${CONF_FIELD}.new_cluster`);
  // Upstream writes {url: None} when the container has no image; we leave it unset instead.
  if (!truthy(cluster.docker_image) && container.image) cluster.docker_image = { url: container.image };
  if (!truthy(cluster.spark_conf)) cluster.spark_conf = { ...(task.sparkConf ?? {}) };
  const existingEnv = truthy(cluster.spark_env_vars) ? cluster.spark_env_vars : {};
  if (!isRecord(existingEnv)) {
    throw new InvalidJobSpecError('spark_env_vars must be an object', `${CONF_FIELD}.new_cluster.spark_env_vars`);
  }
  cluster.spark_env_vars = { ...existingEnv, ...envs };
}

/** Ensures an environments[] entry for the key, merges env into it (Flyte wins), and returns the key. */
function configureServerless(job: Json, envs: Envs): string {
  const key = job.environment_key;
  if (key != null && typeof key !== 'string') {
    throw new InvalidJobSpecError('environment_key must be a string', `${CONF_FIELD}.environment_key`);
  }
  const environmentKey = key || 'default';
  const environments = job.environments ?? [];
  if (!Array.isArray(environments) || !environments.every(isRecord)) {
    throw new InvalidJobSpecError('environments must be a list of objects', `${CONF_FIELD}.environments`);
  }
  let entry = environments.find((env) => env.environment_key === environmentKey);
  if (entry === undefined) {
    entry = { environment_key: environmentKey, spec: { client: '1' } };
    environments.push(entry);
  }
  job.environments = environments;
  const spec = isRecord(entry.spec) ? entry.spec : {};
  const existingVars = isRecord(spec.environment_vars) ? spec.environment_vars : {};
  spec.environment_vars = { ...existingVars, ...envs };
  entry.spec = spec;
  // The key now lives on the task, not the top level.
  delete job.environment_key;
  return environmentKey;
}

function isRecord(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Python truthiness for JSON values: null, '', 0, false, [] and {} are all "absent". */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isRecord(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}
