/**
 * Chart: how long after a run ends its job notices, by run length. The runs and lags are the schedule simulation's
 * own (bench/simulate-schedule.ts with `trace`), grouped by the bands of the run-length mix (bench/run-length-mix.ts);
 * for each band the median, the 90th percentile (nearest rank) and the longest lag, as bars.
 */
import { max, median, percentile } from '../bench-stats.js';
import type { RunLengthBand } from '../run-length-mix.js';
import type { Detection } from '../simulate-schedule.js';
import { bandAxis, bands, niceTicks, plotArea, yAxis, yScaleOf } from './axes.js';
import { legend } from './legend.js';
import { type Chart, element, group, label, svgDocument, text } from './svg.js';

export interface DetectionLagData {
  /** Every simulated run: its length and the time from its end to the poll that found it ended. */
  detections: readonly Detection[];
  /** The run-length bands to group them by (RUN_LENGTH_MIX). */
  bands: readonly RunLengthBand[];
}

export interface LagBucket {
  /** "1–5 min" */
  label: string;
  runs: number;
  p50: number;
  p90: number;
  max: number;
}

export const DETECTION_LAG_FILE = 'detection-lag.svg';
const TITLE = 'Detection lag by run length: from a run ending to its job noticing';
const WIDTH = 900;
const HEIGHT = 440;
const STATS = [
  { key: 'p50', name: 'median', color: '#9ecae1' },
  { key: 'p90', name: '90th percentile', color: '#4292c6' },
  { key: 'max', name: 'longest', color: '#08519c' },
] as const;

/** The runs grouped by band (a run goes to the first band it is shorter than the end of; the last takes the rest). */
export function lagByRunLength(detections: readonly Detection[], bandsOf: readonly RunLengthBand[]): LagBucket[] {
  if (bandsOf.length === 0) throw new Error('no run-length bands');
  const lags = bandsOf.map(() => [] as number[]);
  for (const { runSeconds, lagSeconds } of detections) {
    const index = bandsOf.findIndex((band) => runSeconds < band.maxSeconds);
    lags[index === -1 ? bandsOf.length - 1 : index]?.push(lagSeconds);
  }
  return bandsOf.flatMap((band, i) => {
    const values = lags[i] as number[];
    if (values.length === 0) return [];
    return [
      {
        label: bandLabel(band),
        runs: values.length,
        p50: median(values),
        p90: percentile(values, 90),
        max: max(values),
      },
    ];
  });
}

export function detectionLagChart(data: DetectionLagData): Chart {
  const buckets = lagByRunLength(data.detections, data.bands);
  const plot = plotArea(WIDTH, HEIGHT, { top: 74, right: 28, bottom: 80, left: 76 });
  const yTicks = niceTicks(Math.max(0, ...buckets.map((bucket) => bucket.max)) * 1.08);
  const y = yScaleOf(plot, yTicks[yTicks.length - 1] as number);
  const laidOut = bands(
    plot,
    buckets.map((bucket) => [bucket.label, `${label(bucket.runs)} runs`]),
    0.12,
  );
  const bars = laidOut.flatMap((band, i) => {
    const bucket = buckets[i] as LagBucket;
    const width = band.width / STATS.length;
    return STATS.flatMap((stat, j) => {
      const value = bucket[stat.key];
      const x = band.x + j * width;
      return [
        element('rect', {
          class: `bar ${stat.key}`,
          x: x + 1,
          y: y(value),
          width: width - 2,
          height: plot.bottom - y(value),
          fill: stat.color,
        }),
        text(x + width / 2, y(value) - 5, `${label(value, value < 10 ? 1 : 0, true)} s`, {
          class: 'value-label',
          'text-anchor': 'middle',
        }),
      ];
    });
  });
  const svg = svgDocument({
    id: 'detection-lag',
    width: WIDTH,
    height: HEIGHT,
    title: TITLE,
    description: describe(buckets, data.detections.length),
    body: [
      legend(
        plot.left,
        50,
        STATS.map((stat) => ({ label: stat.name, color: stat.color, mark: 'box' as const })),
      ),
      yAxis(plot, y, yTicks, "seconds after the run's end"),
      group({ class: 'bars' }, bars),
      bandAxis(
        plot,
        laidOut,
        `run length (${label(data.detections.length)} runs of the simulated mix, default poll schedule)`,
        58,
      ),
    ],
  });
  return { file: DETECTION_LAG_FILE, title: TITLE, svg };
}

function describe(buckets: readonly LagBucket[], runs: number): string {
  const each = buckets.map(
    (bucket) =>
      `${bucket.label} (${label(bucket.runs)} runs): median ${label(bucket.p50, 1)} s, ` +
      `90th percentile ${label(bucket.p90, 1)} s, longest ${label(bucket.max, 1)} s`,
  );
  return (
    `Seconds from a run's end to the poll that finds it ended, for ${label(runs)} simulated runs (virtual clock, ` +
    `the default poll schedule), by run length. ${each.join('; ')}.`
  );
}

/** "1–5 min", "20–90 min", "1.5–6 h": minutes unless the band ends at two hours or later. */
function bandLabel(band: RunLengthBand): string {
  const hours = band.maxSeconds >= 7200;
  const unit = hours ? 3600 : 60;
  return `${label(band.minSeconds / unit, 1)}–${label(band.maxSeconds / unit, 1)} ${hours ? 'h' : 'min'}`;
}
