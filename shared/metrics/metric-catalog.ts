/**
 * Every metric the functions emit: name, unit and dimension set. It is the one contract between the code that emits
 * (shared/metrics/metrics.ts, embedded metric format on stdout), the stack's dashboard and alarms
 * (infra/constructs/operations-dashboard.ts, operations-alarms.ts), the local status page (infra/local/status-page/)
 * and the README's Operations section. Besides these, Powertools
 * writes its own `ColdStart` (Count; `service`, `function_name`) on each function's first invocation (logMetrics'
 * captureColdStartMetric).
 *
 * Dimensions are bounded by design: `service` (one value), an endpoint, a status class, a phase, an auth mode, a
 * deferral reason, each a short fixed list; the workspace host only in `WorkspaceCalls`, emitted only when the
 * operator allows it (METRICS_WORKSPACE_DIMENSION, bounded by ALLOWED_DATABRICKS_HOSTS). Never a namespace, job id,
 * run id, principal or anything a caller chooses: those are unbounded (and CloudWatch bills per dimension set).
 */
import { AUTH_MODES } from '../auth/auth-context.js';
import { TERMINAL_PHASES, type TerminalPhase } from '../jobs/phase.js';

/** The CloudWatch namespace (POWERTOOLS_METRICS_NAMESPACE) and the service dimension's one value. */
export const METRICS_NAMESPACE = 'FlyteDatabricksLambda';
export const METRICS_SERVICE = 'flyte-databricks-lambda';

/** The Jobs API operations the connector calls: the `Endpoint` dimension. */
export const DATABRICKS_ENDPOINTS = ['runs/submit', 'runs/get', 'runs/get-output', 'runs/cancel'] as const;
/** An answer's class: `network` when no HTTP answer came (reset, timeout, DNS); 429 apart from the other 4xx. */
export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '429', '5xx', 'network'] as const;
/** Why a record was put back on its queue for later instead of being processed now (DeferError). */
export const DEFERRAL_REASONS = ['deadline', 'retry-after', 'workspace-unhealthy', 'budget', 'kubernetes'] as const;
/** The phases that end a job (shared/jobs/phase.ts): the `Phase` dimension of JobsEnded. */
export { TERMINAL_PHASES, type TerminalPhase };

export type DatabricksEndpoint = (typeof DATABRICKS_ENDPOINTS)[number];
export type StatusClass = (typeof STATUS_CLASSES)[number];
export type DeferralReason = (typeof DEFERRAL_REASONS)[number];

export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds';
export type DimensionName = 'service' | 'Endpoint' | 'StatusClass' | 'Phase' | 'AuthMode' | 'Reason' | 'Workspace';

export interface MetricDefinition {
  unit: MetricUnit;
  /** The dimension set, in order; `service` is always first. */
  dimensions: readonly DimensionName[];
  /** Which function emits it and when: the README's Operations table is written from these. */
  description: string;
}

/** The allowed values of each dimension but `service` (one value) and `Workspace` (the allowed hosts). */
export const DIMENSION_VALUES = {
  Endpoint: DATABRICKS_ENDPOINTS,
  StatusClass: STATUS_CLASSES,
  Phase: TERMINAL_PHASES,
  AuthMode: AUTH_MODES,
  Reason: DEFERRAL_REASONS,
} as const;

export const METRICS = {
  JobsAccepted: {
    unit: 'Count',
    dimensions: ['service'],
    description: 'api, submit: a new job was stored (QUEUED); a repeated request for the same job is not counted.',
  },
  JobsSubmitted: {
    unit: 'Count',
    dimensions: ['service', 'AuthMode'],
    description: 'submit: runs/submit answered with a run id and the job recorded it.',
  },
  JobsEnded: {
    unit: 'Count',
    dimensions: ['service', 'Phase'],
    description: 'submit, poll, cancel, sweep: a job reached a terminal phase (counted once, by whoever wrote it).',
  },
  DetectionLag: {
    unit: 'Seconds',
    dimensions: ['service'],
    description: "poll: from the Databricks run's end_time to the job's terminal write.",
  },
  DatabricksCalls: {
    unit: 'Count',
    dimensions: ['service', 'Endpoint', 'StatusClass'],
    description: 'every Jobs API attempt (retries included), by operation and answer class.',
  },
  WorkspaceCalls: {
    unit: 'Count',
    dimensions: ['service', 'Workspace', 'StatusClass'],
    description: 'DatabricksCalls per workspace host; only with METRICS_WORKSPACE_DIMENSION=true.',
  },
  RetryAfterWait: {
    unit: 'Milliseconds',
    dimensions: ['service'],
    description: 'a 429/503 Retry-After the client waited out or deferred the record by.',
  },
  TokenRequests: {
    unit: 'Count',
    dimensions: ['service', 'AuthMode'],
    description: 'a token fetched (OAuth token endpoint, STS, Kubernetes TokenRequest), not served from cache.',
  },
  TokenFailures: {
    unit: 'Count',
    dimensions: ['service', 'AuthMode'],
    description: 'a token fetch or refresh that failed.',
  },
  PollsPaced: {
    unit: 'Count',
    dimensions: ['service'],
    description: 'poll: a poll sent on to its paced slot without calling Databricks.',
  },
  Deferrals: {
    unit: 'Count',
    dimensions: ['service', 'Reason'],
    description: 'submit, poll, cancel: a record put back on its queue for later (spends none of its receives).',
  },
  SweeperRescues: {
    unit: 'Count',
    dimensions: ['service'],
    description: 'sweep: a stale job re-sent its submit message or had its poll chain restarted.',
  },
  SweeperGiveUps: {
    unit: 'Count',
    dimensions: ['service'],
    description: 'sweep: a job found stale after its last rescue, ended RETRYABLE_FAILED.',
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;
