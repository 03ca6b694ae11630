/**
 * The suite's one Powertools Metrics: the catalog's metrics (metric-catalog.ts) as embedded metric format lines on
 * stdout, which CloudWatch Logs turns into metrics without an API call. Code emits only through the helpers below,
 * which take the catalog's dimension values and nothing else (typed, and checked again when emitting), so a namespace,
 * job id, secret or any other value a caller chose can never become a dimension.
 *
 * A metric with dimensions of its own is written at once as a line of its own (Powertools singleMetric), whose
 * dimension set is exactly the catalog's; a metric with `service` alone is buffered and written once per invocation by
 * the logMetrics middleware (functions/lambda-handler.ts). Counting never fails the work it counts.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { AuthMode } from '../auth/auth-context.js';
import { DeferError } from '../invocation-deadline.js';
import { logger } from '../logger.js';
import {
  type DatabricksEndpoint,
  type DeferralReason,
  DIMENSION_VALUES,
  type DimensionName,
  METRICS,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  type MetricName,
  type StatusClass,
  type TerminalPhase,
} from './metric-catalog.js';
import type { WorkspaceDimension } from './workspace-dimension.js';

/** Powertools says so when an invocation buffered nothing, which most do (their metrics went out as single lines). */
const NOTHING_BUFFERED = 'No application metrics to publish';

/** Powertools' own warnings go to the suite's logger; the one about an empty buffer is routine, so it is debug. */
const metricsLog = {
  debug: (message: string) => logger.debug(message),
  info: (message: string) => logger.info(message),
  warn: (message: string) => (message.startsWith(NOTHING_BUFFERED) ? logger.debug(message) : logger.warn(message)),
  error: (message: string) => logger.error(message),
};

export const metrics = new Metrics({
  // Read here like the logger's service name: the singleton exists before the configuration is parsed.
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
  serviceName: METRICS_SERVICE,
  logger: metricsLog,
});

/** What each dimension may hold: a catalog value, or a host that passed the allowlist (workspace-dimension.ts). */
interface DimensionValueOf {
  Endpoint: DatabricksEndpoint;
  StatusClass: StatusClass;
  Phase: TerminalPhase;
  AuthMode: AuthMode;
  Reason: DeferralReason;
  Workspace: WorkspaceDimension;
}

type DimensionsOf<N extends MetricName> = {
  [D in Exclude<(typeof METRICS)[N]['dimensions'][number], 'service'>]: DimensionValueOf[D];
};

function isCatalogValue(dimension: DimensionName, value: string): boolean {
  // A WorkspaceDimension is only made by workspaceDimension(), which admits allowlisted hosts alone.
  if (dimension === 'Workspace') return true;
  const allowed: readonly string[] | undefined = DIMENSION_VALUES[dimension as keyof typeof DIMENSION_VALUES];
  return allowed?.includes(value) ?? false;
}

function emit<N extends MetricName>(name: N, value: number, dimensions: DimensionsOf<N>): void {
  // Powertools would print NaN as null, a value CloudWatch drops with the whole line.
  if (!Number.isFinite(value)) {
    logger.warn('Metric not emitted: its value is not a finite number', { metric: name });
    return;
  }
  // Powertools throws for what it refuses; a count must not fail the work it counts.
  try {
    const { unit, dimensions: names } = METRICS[name] as {
      unit: (typeof METRICS)[N]['unit'];
      dimensions: readonly DimensionName[];
    };
    // In the catalog's order, and only the catalog's names: the line's dimension set is exactly the catalog's.
    const given = dimensions as Record<string, string>;
    const own = names
      .filter((dimension) => dimension !== 'service')
      .map((dimension) => [dimension, given[dimension] ?? ''] as const);
    const refused = own.find(([dimension, text]) => !isCatalogValue(dimension, text));
    if (refused) {
      // Never the value: it is not one the catalog knows, so it may be anything.
      logger.warn('Metric not emitted: a dimension value is not in the catalog', {
        metric: name,
        dimension: refused[0],
      });
      return;
    }
    if (own.length === 0) metrics.addMetric(name, unit, value);
    else metrics.singleMetric().addDimensions(Object.fromEntries(own)).addMetric(name, unit, value);
  } catch (error) {
    logger.warn('Metric not emitted', { metric: name, error: error instanceof Error ? error.message : String(error) });
  }
}

/** api, submit: a new job was stored. */
export function countJobAccepted(): void {
  emit('JobsAccepted', 1, {});
}

/** submit: runs/submit answered and the job recorded the run id. */
export function countJobSubmitted(mode: AuthMode): void {
  emit('JobsSubmitted', 1, { AuthMode: mode });
}

/** Whoever wrote a job's terminal phase (shared/jobs/mutate-job.ts). */
export function countJobEnded(phase: TerminalPhase): void {
  emit('JobsEnded', 1, { Phase: phase });
}

/** poll: from the run's end (Databricks' end_time, epoch ms) to the job's terminal write; nothing without an end. */
export function recordDetectionLag(runEndTimeMs: number | undefined, now: Date): void {
  if (runEndTimeMs === undefined || !Number.isFinite(runEndTimeMs) || runEndTimeMs <= 0) return;
  // Clocks differ a little: a run that ended "after" now was detected at once.
  emit('DetectionLag', Math.max(0, (now.getTime() - runEndTimeMs) / 1000), {});
}

/** One Jobs API attempt; per workspace too when the operator allows it (`workspace` is set only then). */
export function countDatabricksCall(
  endpoint: DatabricksEndpoint,
  statusClass: StatusClass,
  workspace: WorkspaceDimension | undefined,
): void {
  emit('DatabricksCalls', 1, { Endpoint: endpoint, StatusClass: statusClass });
  if (workspace !== undefined) emit('WorkspaceCalls', 1, { Workspace: workspace, StatusClass: statusClass });
}

/** A Retry-After the client waited out, or deferred its record by. */
export function recordRetryAfterWait(ms: number): void {
  emit('RetryAfterWait', ms, {});
}

/**
 * Runs a token fetch (a cache miss: OAuth token endpoint, STS, Kubernetes TokenRequest) and counts it, and its failure.
 * A fetch deferred (no time left, the workspace's budget) asked nobody for a token: it is not counted.
 */
export async function countTokenFetch<T>(mode: AuthMode, fetch: () => Promise<T>): Promise<T> {
  try {
    const token = await fetch();
    emit('TokenRequests', 1, { AuthMode: mode });
    return token;
  } catch (error) {
    if (!(error instanceof DeferError)) {
      emit('TokenRequests', 1, { AuthMode: mode });
      emit('TokenFailures', 1, { AuthMode: mode });
    }
    throw error;
  }
}

/** poll: a poll sent on to its paced slot without calling Databricks. */
export function countPollPaced(): void {
  emit('PollsPaced', 1, {});
}

/** submit, poll, cancel: a record put back on its queue for later. */
export function countDeferral(reason: DeferralReason): void {
  emit('Deferrals', 1, { Reason: reason });
}

/** sweep: a stale job re-sent its submit message or had its poll chain restarted. */
export function countSweeperRescue(): void {
  emit('SweeperRescues', 1, {});
}

/** sweep: a stale job past its last rescue, ended RETRYABLE_FAILED. */
export function countSweeperGiveUp(): void {
  emit('SweeperGiveUps', 1, {});
}
