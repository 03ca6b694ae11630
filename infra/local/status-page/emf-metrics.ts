/**
 * The functions' EMF metrics, aggregated as CloudWatch would for a dashboard: per series (namespace, metric, one
 * dimension set with its values) a sum, a count of values and a maximum per fixed time bucket, and since start.
 * Memory is bounded whatever the functions print: a ring of buckets (the last 15 minutes at 5 s by default), at
 * most `maxSeries` series (later ones are counted as dropped, not kept), and no line is ever stored.
 */
import { type EmfDatum, parseEmfLine } from './emf-line.js';

export interface Aggregate {
  sum: number;
  count: number;
  max: number;
}

export interface SeriesQuery {
  namespace: string;
  name: string;
  /** The exact dimension set, as the catalog names it (CloudWatch matches a metric by its whole set). */
  dimensions: readonly string[];
}

export interface Series {
  dimensions: Readonly<Record<string, string>>;
  unit: string;
  /** Oldest first, one per bucket of the window, ending with the bucket that holds `nowMs`. */
  buckets: Aggregate[];
  /** Every value since the collector started, including those older than the window. */
  total: Aggregate;
}

export interface EmfMetricsOptions {
  bucketMs?: number;
  buckets?: number;
  maxSeries?: number;
}

export interface EmfMetricsStats {
  /** Lines that held EMF data. */
  emfLines: number;
  /** Lines that mentioned `_aws` but were no valid EMF (malformed, oversized, a rejected directive). */
  ignoredLines: number;
  /** Data points not kept because `maxSeries` series were already kept. */
  droppedPoints: number;
  /** Receive time of the last EMF line, ms since the epoch. */
  lastEmfAtMs: number | undefined;
}

interface SeriesState {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  /** `dimensions`' names, sorted and joined: what a query matches. */
  dimensionSet: string;
  total: Aggregate;
}

interface Bucket {
  /** Which bucket of time (start / bucketMs) this slot of the ring holds now. */
  index: number;
  values: Map<string, Aggregate>;
}

/** A timestamp further ahead than this is the emitter's clock, not ours: the receive time is used instead. */
const MAX_CLOCK_AHEAD_MS = 60_000;

export class EmfMetrics {
  readonly bucketMs: number;
  readonly bucketCount: number;
  private readonly maxSeries: number;
  private readonly series = new Map<string, SeriesState>();
  private readonly ring: Bucket[];
  private readonly counters: EmfMetricsStats = {
    emfLines: 0,
    ignoredLines: 0,
    droppedPoints: 0,
    lastEmfAtMs: undefined,
  };
  readonly startedAtMs: number;

  constructor(options: EmfMetricsOptions = {}, nowMs = Date.now()) {
    this.bucketMs = options.bucketMs ?? 5_000;
    this.bucketCount = options.buckets ?? 180;
    this.maxSeries = options.maxSeries ?? 256;
    this.ring = Array.from({ length: this.bucketCount }, () => ({ index: -1, values: new Map() }));
    this.startedAtMs = nowMs;
  }

  /** One line a function printed; true when it held EMF data. Never throws. */
  accept(line: string, nowMs = Date.now()): boolean {
    const data = parseEmfLine(line);
    if (data.length === 0) {
      if (line.includes('"_aws"')) this.counters.ignoredLines += 1;
      return false;
    }
    for (const datum of data) this.record(datum, nowMs);
    this.counters.emfLines += 1;
    this.counters.lastEmfAtMs = nowMs;
    return true;
  }

  /** The series that match the query, with their buckets over the window that ends at `nowMs`. */
  query(query: SeriesQuery, nowMs = Date.now()): Series[] {
    const wanted = [...query.dimensions].sort().join('\u0000');
    const last = Math.floor(nowMs / this.bucketMs);
    const result: Series[] = [];
    for (const [key, state] of this.series) {
      if (state.namespace !== query.namespace || state.name !== query.name || state.dimensionSet !== wanted) continue;
      const buckets: Aggregate[] = [];
      for (let index = last - this.bucketCount + 1; index <= last; index += 1) {
        const bucket = this.slotOf(index);
        const found = bucket.index === index ? bucket.values.get(key) : undefined;
        buckets.push(found ? { ...found } : { sum: 0, count: 0, max: 0 });
      }
      result.push({ dimensions: { ...state.dimensions }, unit: state.unit, buckets, total: { ...state.total } });
    }
    return result;
  }

  /** Every series kept (for the page's table of all metrics), without buckets. */
  allSeries(): Array<Omit<Series, 'buckets'> & { namespace: string; name: string }> {
    return [...this.series.values()].map((s) => ({
      namespace: s.namespace,
      name: s.name,
      unit: s.unit,
      dimensions: { ...s.dimensions },
      total: { ...s.total },
    }));
  }

  /** Start (ms since the epoch) of each bucket of the window ending at `nowMs`, oldest first. */
  bucketStarts(nowMs = Date.now()): number[] {
    const last = Math.floor(nowMs / this.bucketMs);
    return Array.from({ length: this.bucketCount }, (_, i) => (last - this.bucketCount + 1 + i) * this.bucketMs);
  }

  stats(): EmfMetricsStats {
    return { ...this.counters };
  }

  private record(datum: EmfDatum, nowMs: number): void {
    const key = seriesKey(datum);
    let state = this.series.get(key);
    if (!state) {
      if (this.series.size >= this.maxSeries) {
        this.counters.droppedPoints += datum.values.length;
        return;
      }
      state = {
        namespace: datum.namespace,
        name: datum.name,
        unit: datum.unit,
        dimensions: datum.dimensions,
        dimensionSet: Object.keys(datum.dimensions).sort().join('\u0000'),
        total: { sum: 0, count: 0, max: Number.NEGATIVE_INFINITY },
      };
      this.series.set(key, state);
    }
    for (const value of datum.values) add(state.total, value);

    const at =
      datum.timestampMs !== undefined && datum.timestampMs <= nowMs + MAX_CLOCK_AHEAD_MS ? datum.timestampMs : nowMs;
    const index = Math.floor(at / this.bucketMs);
    // Older than the window: in the totals only.
    if (index <= Math.floor(nowMs / this.bucketMs) - this.bucketCount) return;
    const bucket = this.slotOf(index);
    if (bucket.index !== index) {
      // The slot still holds a bucket that has left the window; a later one is never overwritten by an older one.
      if (bucket.index > index) return;
      bucket.index = index;
      bucket.values.clear();
    }
    let aggregate = bucket.values.get(key);
    if (!aggregate) {
      aggregate = { sum: 0, count: 0, max: Number.NEGATIVE_INFINITY };
      bucket.values.set(key, aggregate);
    }
    for (const value of datum.values) add(aggregate, value);
  }

  private slotOf(index: number): Bucket {
    return this.ring[((index % this.bucketCount) + this.bucketCount) % this.bucketCount] as Bucket;
  }
}

function add(aggregate: Aggregate, value: number): void {
  aggregate.sum += value;
  aggregate.count += 1;
  aggregate.max = Math.max(aggregate.max, value);
}

/** The series a datum belongs to. JSON of ordered pairs: no separator a dimension value could forge. */
function seriesKey(datum: EmfDatum): string {
  const pairs = Object.entries(datum.dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([datum.namespace, datum.name, pairs]);
}
