/**
 * One line a function printed, read as CloudWatch reads an embedded-metric-format (EMF) log event: a JSON object
 * whose `_aws.CloudWatchMetrics` directives name the metrics (and their units and dimension sets) and whose root
 * holds each metric's value (a number or an array of numbers) and each dimension's value. Anything else (a log
 * line, malformed or oversized JSON, a directive CloudWatch would reject) gives no data: never an exception, since
 * the lines come from function output.
 */

/** CloudWatch Logs' largest event (256 KiB): a longer line is not looked at. */
export const MAX_EMF_LINE_CHARS = 256 * 1024;
/** EMF's own limits: 100 metrics per directive, 30 dimensions per set, 100 values per metric. */
const MAX_METRICS_PER_DIRECTIVE = 100;
const MAX_DIMENSIONS_PER_SET = 30;
const MAX_VALUES_PER_METRIC = 100;
/** CloudWatch's limit on a dimension value's length. */
const MAX_DIMENSION_VALUE_CHARS = 1024;
/** More directives or dimension sets than any real emitter writes: a bound on the work one line can cause. */
const MAX_DIRECTIVES = 10;
const MAX_DIMENSION_SETS = 10;

/** One metric of one dimension set, with the values one line gave it. */
export interface EmfDatum {
  namespace: string;
  name: string;
  unit: string;
  /** The dimension set's names and their values, in the directive's order. */
  dimensions: Record<string, string>;
  values: number[];
  /** `_aws.Timestamp` (ms since the epoch), when it is a number. */
  timestampMs: number | undefined;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The EMF data on the line; [] when it is not an EMF line or not a valid one. */
export function parseEmfLine(line: string): EmfDatum[] {
  // Cheap tests first: most lines are logs, and a line too long is skipped unparsed.
  if (line.length > MAX_EMF_LINE_CHARS || !line.includes('_aws')) return [];
  let root = parseObject(line);
  // A line printed through the Lambda runtime's JSON log format wraps what was printed in `message`.
  if (root && !isObject(root._aws) && typeof root.message === 'string') root = parseObject(root.message);
  if (!root || !isObject(root._aws)) return [];
  const directives = root._aws.CloudWatchMetrics;
  if (!Array.isArray(directives)) return [];
  const timestamp = root._aws.Timestamp;
  const timestampMs = typeof timestamp === 'number' && Number.isFinite(timestamp) ? timestamp : undefined;

  const data: EmfDatum[] = [];
  for (const directive of directives.slice(0, MAX_DIRECTIVES)) {
    if (!isObject(directive) || typeof directive.Namespace !== 'string') continue;
    if (!Array.isArray(directive.Metrics) || !Array.isArray(directive.Dimensions)) continue;
    const dimensionSets = directive.Dimensions.slice(0, MAX_DIMENSION_SETS)
      .map((set) => dimensionsOf(set, root))
      .filter((set): set is Record<string, string> => set !== undefined);
    for (const metric of directive.Metrics.slice(0, MAX_METRICS_PER_DIRECTIVE)) {
      if (!isObject(metric) || typeof metric.Name !== 'string' || metric.Name === '') continue;
      const values = Object.hasOwn(root, metric.Name) ? valuesOf(root[metric.Name]) : [];
      if (values.length === 0) continue;
      const unit = typeof metric.Unit === 'string' ? metric.Unit : 'None';
      for (const dimensions of dimensionSets) {
        data.push({ namespace: directive.Namespace, name: metric.Name, unit, dimensions, values, timestampMs });
      }
    }
  }
  return data;
}

function parseObject(text: string): Json | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** A dimension set's values from the root; undefined when one is missing or not a string (CloudWatch drops it). */
function dimensionsOf(set: unknown, root: Json): Record<string, string> | undefined {
  if (!Array.isArray(set) || set.length > MAX_DIMENSIONS_PER_SET) return undefined;
  const entries: [string, string][] = [];
  for (const name of set) {
    if (typeof name !== 'string' || !Object.hasOwn(root, name)) return undefined;
    const value = root[name];
    if (typeof value !== 'string' || value.length > MAX_DIMENSION_VALUE_CHARS) return undefined;
    entries.push([name, value]);
  }
  // fromEntries defines own properties: a dimension named `__proto__` stays a plain key.
  return Object.fromEntries(entries);
}

function valuesOf(value: unknown): number[] {
  const candidates = Array.isArray(value) ? value.slice(0, MAX_VALUES_PER_METRIC) : [value];
  return candidates.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}
