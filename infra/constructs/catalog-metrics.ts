/**
 * CloudWatch metrics of shared/metrics/metric-catalog.ts, as the dashboard and the alarms query them. An EMF metric
 * is stored under its whole dimension set, and CloudWatch matches a query to a metric only with exactly that set: a
 * metric asked for with one dimension more or less shows no data, silently. So the dimensions a query names are
 * typed from the catalog (a renamed metric or dimension breaks the build) and checked against it again at synth.
 * `service` is always there, with its one value.
 */
import type { Duration } from 'aws-cdk-lib';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import {
  type DimensionName,
  METRICS,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  type MetricName,
} from '../../shared/metrics/metric-catalog.js';

/** The dimensions of `name` besides `service`, each to be given a value. */
export type DimensionsOf<N extends MetricName> = Record<
  Exclude<(typeof METRICS)[N]['dimensions'][number], 'service'>,
  string
>;

export interface CatalogMetricOptions {
  statistic: string;
  period: Duration;
  label?: string;
  color?: string;
}

/** The metric `name` with exactly its catalog dimensions: `service` and `dimensions`. */
export function catalogMetric<N extends MetricName>(
  name: N,
  dimensions: DimensionsOf<N>,
  options: CatalogMetricOptions,
): Metric {
  const dimensionsMap: Record<string, string> = { service: METRICS_SERVICE, ...dimensions };
  assertExactDimensions(name, Object.keys(dimensionsMap));
  return new Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap, ...options });
}

/** Fails synth when `given` is not the catalog's dimension set of `name` (a query that would match nothing). */
export function assertExactDimensions(name: MetricName, given: readonly string[]): void {
  const expected: readonly DimensionName[] = METRICS[name].dimensions;
  const sorted = (names: readonly string[]) => [...names].sort().join(',');
  if (sorted(given) !== sorted(expected)) {
    throw new Error(
      `${name} is emitted with dimensions [${expected.join(', ')}], not [${given.join(', ')}]: CloudWatch would match no data`,
    );
  }
}

/**
 * The Metrics Insights schema of `name`'s exact dimension set: `SCHEMA("<namespace>", service, ...)`, which only
 * metrics with exactly these dimension keys (or none at all) match.
 */
export function catalogSchema(name: MetricName): string {
  return `SCHEMA("${METRICS_NAMESPACE}", ${METRICS[name].dimensions.join(', ')})`;
}

/**
 * Powertools' cold-start metric (captureColdStartMetric): its own EMF line with `service` and `function_name` (the
 * Lambda function's name), in the catalog's namespace.
 */
export const COLD_START_METRIC = 'ColdStart';

export function coldStartMetric(functionName: string, options: CatalogMetricOptions): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: COLD_START_METRIC,
    dimensionsMap: { service: METRICS_SERVICE, function_name: functionName },
    ...options,
  });
}
