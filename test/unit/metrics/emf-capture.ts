/**
 * What the functions print as embedded metric format, read back as CloudWatch would: every line on stdout holding an
 * `_aws.CloudWatchMetrics` directive, one entry per metric it defines, with the dimension sets it declares and the
 * values of its dimensions. Powertools Metrics writes through a Console on process.stdout, so the capture wraps
 * process.stdout.write (and passes nothing on: tests stay quiet).
 */
import { metrics } from '../../../shared/metrics/metrics.js';

export interface EmfMetric {
  namespace: string;
  name: string;
  unit: string;
  /** Every dimension set the directive declares (one, for ours). */
  dimensionSets: string[][];
  /** The values of the declared dimensions. */
  dimensions: Record<string, string>;
  /** A number, or several buffered in one line. */
  value: number | number[];
  /** The whole line, as printed. */
  line: string;
}

interface Directive {
  Namespace: string;
  Dimensions: string[][];
  Metrics: Array<{ Name: string; Unit: string }>;
}

/** The metrics of one printed line, or none when it is not EMF. */
export function parseEmf(line: string): EmfMetric[] {
  if (!line.includes('"_aws"')) return [];
  const document = JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Directive[] } };
  return document._aws.CloudWatchMetrics.flatMap((directive) =>
    directive.Metrics.map((metric) => {
      const names = [...new Set(directive.Dimensions.flat())];
      return {
        namespace: directive.Namespace,
        name: metric.Name,
        unit: metric.Unit,
        dimensionSets: directive.Dimensions,
        dimensions: Object.fromEntries(names.map((name) => [name, String(document[name])])),
        value: document[metric.Name] as number | number[],
        line,
      };
    }),
  );
}

export interface StdoutCapture {
  /** Every line printed since the capture started (or was last cleared). */
  lines(): string[];
  /** The EMF metrics among them, after flushing what the singleton still buffers (as logMetrics does). */
  metrics(): EmfMetric[];
  clear(): void;
  restore(): void;
}

export function captureStdout(): StdoutCapture {
  const original = process.stdout.write;
  let text = '';
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  const lines = () => text.split('\n').filter((line) => line.trim() !== '');
  return {
    lines,
    metrics() {
      metrics.publishStoredMetrics();
      return lines().flatMap(parseEmf);
    },
    clear() {
      text = '';
    },
    restore() {
      process.stdout.write = original;
    },
  };
}

/** The metrics named `name`, one entry per value (buffered arrays spread). */
export function valuesOf(all: EmfMetric[], name: string): Array<{ value: number; dimensions: Record<string, string> }> {
  return all
    .filter((metric) => metric.name === name)
    .flatMap((metric) =>
      (Array.isArray(metric.value) ? metric.value : [metric.value]).map((value) => ({
        value,
        dimensions: metric.dimensions,
      })),
    );
}
