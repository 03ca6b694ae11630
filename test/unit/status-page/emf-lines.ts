/**
 * EMF lines for the status page's tests: written by the real Powertools Metrics class (what the functions print), or
 * crafted exactly as it writes them (with a chosen timestamp).
 */
import { Metrics, type MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../../../shared/metrics/metric-catalog.js';

export interface EmitOptions {
  name: string;
  unit: 'Count' | 'Seconds' | 'Milliseconds';
  value: number;
  /** The dimensions besides `service`. */
  dimensions?: Record<string, string>;
  timestampMs?: number;
}

/** An EMF line as Powertools writes one with singleMetric().addDimensions(...).addMetric(...). */
export function craftedLine(options: EmitOptions): string {
  const dimensions = { service: METRICS_SERVICE, ...options.dimensions };
  return JSON.stringify({
    _aws: {
      Timestamp: options.timestampMs ?? Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [Object.keys(dimensions)],
          Metrics: [{ Name: options.name, Unit: options.unit }],
        },
      ],
    },
    ...dimensions,
    [options.name]: options.value,
  });
}

/** What Powertools prints for `emit`, captured from process.stdout (it writes there directly, not via console). */
export function linesPrintedBy(emit: EmitOptions[]): string[] {
  const printed: string[] = [];
  const write = process.stdout.write;
  // vitest.config.ts disables metrics in the test process; this is where they are wanted.
  const disabled = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });
  process.stdout.write = ((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    for (const { name, unit, value, dimensions } of emit) {
      if (dimensions && Object.keys(dimensions).length > 0) {
        const single = metrics.singleMetric();
        single.addDimensions(dimensions);
        single.addMetric(name, unit as (typeof MetricUnit)[keyof typeof MetricUnit], value);
      } else {
        metrics.addMetric(name, unit as (typeof MetricUnit)[keyof typeof MetricUnit], value);
      }
    }
    metrics.publishStoredMetrics();
  } finally {
    process.stdout.write = write;
    if (disabled === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = disabled;
  }
  return printed.join('').split('\n').filter(Boolean);
}
