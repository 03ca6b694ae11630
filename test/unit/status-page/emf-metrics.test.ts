import { describe, expect, it } from 'vitest';
import { EmfMetrics } from '../../../infra/local/status-page/emf-metrics.js';
import { METRICS_NAMESPACE } from '../../../shared/metrics/metric-catalog.js';
import { craftedLine } from './emf-lines.js';

const T0 = 1_767_225_600_000; // a bucket boundary at 5 s
const ENDED = { namespace: METRICS_NAMESPACE, name: 'JobsEnded', dimensions: ['service', 'Phase'] };
const ended = (phase: string, atMs: number, value = 1) =>
  craftedLine({ name: 'JobsEnded', unit: 'Count', value, dimensions: { Phase: phase }, timestampMs: atMs });

describe('EmfMetrics', () => {
  it('sums each series per 5 s bucket and since start, matching a query by its whole dimension set', () => {
    const metrics = new EmfMetrics({}, T0);
    metrics.accept(ended('SUCCEEDED', T0 + 1_000), T0 + 1_000);
    metrics.accept(ended('SUCCEEDED', T0 + 4_000, 2), T0 + 4_000);
    metrics.accept(ended('SUCCEEDED', T0 + 6_000), T0 + 6_000);
    metrics.accept(ended('FAILED', T0 + 6_500), T0 + 6_500);

    const series = metrics.query(ENDED, T0 + 7_000);
    const succeeded = series.find((s) => s.dimensions.Phase === 'SUCCEEDED');
    expect(series).toHaveLength(2);
    expect(succeeded?.total).toEqual({ sum: 4, count: 3, max: 2 });
    expect(succeeded?.buckets).toHaveLength(180);
    expect(succeeded?.buckets.slice(-2).map((b) => b.sum)).toEqual([3, 1]);
    // Another dimension set is another metric, as in CloudWatch.
    expect(metrics.query({ ...ENDED, dimensions: ['service'] }, T0 + 7_000)).toEqual([]);
    expect(metrics.bucketStarts(T0 + 7_000).slice(-2)).toEqual([T0, T0 + 5_000]);
  });

  it('lets a bucket leave the window after 15 minutes, keeps it in the totals, and reuses its slot', () => {
    const metrics = new EmfMetrics({}, T0);
    metrics.accept(ended('SUCCEEDED', T0), T0);
    const later = T0 + 15 * 60_000;
    metrics.accept(ended('SUCCEEDED', later), later);
    const [series] = metrics.query(ENDED, later);
    expect(series?.buckets.reduce((n, b) => n + b.sum, 0)).toBe(1);
    expect(series?.total.sum).toBe(2);
    // A line stamped before the window counts in the totals only.
    metrics.accept(ended('SUCCEEDED', T0 - 60_000), later);
    const [after] = metrics.query(ENDED, later);
    expect(after?.buckets.reduce((n, b) => n + b.sum, 0)).toBe(1);
    expect(after?.total.sum).toBe(3);
  });

  it("files a line stamped far in the future (the emitter's clock) at its receive time", () => {
    const metrics = new EmfMetrics({}, T0);
    metrics.accept(ended('SUCCEEDED', T0 + 3_600_000), T0 + 1_000);
    expect(metrics.query(ENDED, T0 + 1_000)[0]?.buckets.at(-1)?.sum).toBe(1);
  });

  it('keeps at most maxSeries series, counting what it drops, however many values the functions print', () => {
    const metrics = new EmfMetrics({ maxSeries: 10 }, T0);
    for (let i = 0; i < 5_000; i += 1) metrics.accept(ended(`phase-${i}`, T0 + i), T0 + i);
    expect(metrics.allSeries()).toHaveLength(10);
    expect(metrics.stats()).toMatchObject({ emfLines: 5_000, droppedPoints: 4_990 });
  });

  it('counts malformed EMF as ignored, never throws, and leaves ordinary log lines alone', () => {
    const metrics = new EmfMetrics({}, T0);
    expect(metrics.accept('{"_aws": nope', T0)).toBe(false);
    expect(metrics.accept(`{"_aws":{"CloudWatchMetrics":[]},"pad":"${'x'.repeat(300_000)}"}`, T0)).toBe(false);
    expect(metrics.accept('{"level":"WARN","message":"slow"}', T0)).toBe(false);
    expect(metrics.stats()).toEqual({ emfLines: 0, ignoredLines: 2, droppedPoints: 0, lastEmfAtMs: undefined });
    expect(metrics.accept(ended('SUCCEEDED', T0), T0 + 10)).toBe(true);
    expect(metrics.stats().lastEmfAtMs).toBe(T0 + 10);
  });

  it('keeps sum, count and maximum for timings (the detection lag)', () => {
    const metrics = new EmfMetrics({}, T0);
    for (const value of [1.5, 0.5, 4]) {
      metrics.accept(craftedLine({ name: 'DetectionLag', unit: 'Seconds', value, timestampMs: T0 }), T0);
    }
    const [lag] = metrics.query({ namespace: METRICS_NAMESPACE, name: 'DetectionLag', dimensions: ['service'] }, T0);
    expect(lag).toMatchObject({ unit: 'Seconds', total: { sum: 6, count: 3, max: 4 } });
  });
});
