/**
 * Wire and input types for the Databricks Jobs API client and the runs/submit body builder.
 * Response types are loose on purpose: Databricks adds fields and states over time, and we only read a few.
 */

/** The runs/submit body. Kept loose: user `databricksConf` keys pass through unchanged. */
export type SubmitRunBody = Record<string, unknown>;

export interface DatabricksRunState {
  life_cycle_state?: string;
  result_state?: string;
  state_message?: string;
  user_cancelled_or_timedout?: boolean;
}

export interface DatabricksRunStatus {
  state?: string;
  termination_details?: { code?: string; type?: string; message?: string };
  [k: string]: unknown;
}

/** The fields of runs/get we use. `state` is deprecated upstream in favour of `status`, but both are still sent. */
export interface DatabricksRun {
  run_id: number;
  job_id?: number;
  run_name?: string;
  run_page_url?: string;
  state?: DatabricksRunState;
  status?: DatabricksRunStatus;
  start_time?: number;
  end_time?: number;
  tasks?: Array<Record<string, unknown>>;
  [k: string]: unknown;
}

/** The Flyte task's `custom` block (DatabricksV2): the user's runs/submit body plus the notebook/serverless fields. */
export interface DatabricksTaskSpec {
  databricksConf: Record<string, unknown>;
  sparkConf?: Record<string, string>;
  notebookPath?: string;
  notebookBaseParameters?: Record<string, string>;
  databricksServiceCredentialProvider?: string;
  [k: string]: unknown;
}

/** The Flyte task container: image for classic clusters, args = the rendered pyflyte command, env for the job. */
export interface ContainerSpec {
  image?: string;
  args?: string[];
  env?: Record<string, string>;
}

/** The part of runs/get-output the connector reads: why a failed task run failed. */
export interface DatabricksRunOutput {
  error?: string;
  error_trace?: string;
}
