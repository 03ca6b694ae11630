/**
 * Chart: each function's cold-start import time (the median over fresh Node 22 processes, bench/cold-start.ts) as a
 * bar beside the Databricks SDK reference's, with issue #7's target (at most half the reference) as a dashed line.
 */
import { bandAxis, bands, niceTicks, plotArea, yAxis, yScaleOf } from './axes.js';
import { legend } from './legend.js';
import { type Chart, element, group, label, svgDocument, text } from './svg.js';

export interface ImportTimeData {
  /** Median import (ms) by function name, in the order to show them. */
  functions: Readonly<Record<string, number>>;
  /** The reference poll handler on the Databricks SDK, measured alike (ms). */
  referenceMs: number;
}

export const IMPORT_TIME_FILE = 'cold-start-import.svg';
const TITLE = 'Cold start: import time per function vs the Databricks SDK reference';
const WIDTH = 900;
const HEIGHT = 420;
const COLORS = { function: '#1f77b4', reference: '#8c8c8c', target: '#c0392b' } as const;
const REFERENCE_LABEL = 'SDK reference';

export function importTimeChart(data: ImportTimeData): Chart {
  const entries = Object.entries(data.functions);
  const targetMs = data.referenceMs / 2;
  const plot = plotArea(WIDTH, HEIGHT, { top: 74, right: 28, bottom: 62, left: 76 });
  const yTicks = niceTicks(Math.max(data.referenceMs, ...entries.map(([, ms]) => ms)) * 1.1);
  const y = yScaleOf(plot, yTicks[yTicks.length - 1] as number);
  const laidOut = bands(plot, [...entries.map(([name]) => [name]), [REFERENCE_LABEL]], 0.2);
  const bars = [
    ...entries.map(([, ms]) => ({ ms, kind: 'function' as const })),
    { ms: data.referenceMs, kind: 'reference' as const },
  ].flatMap((bar, i) => {
    const band = laidOut[i] as (typeof laidOut)[number];
    return [
      element('rect', {
        class: `bar ${bar.kind}`,
        x: band.x,
        y: y(bar.ms),
        width: band.width,
        height: plot.bottom - y(bar.ms),
        fill: COLORS[bar.kind],
      }),
      text(band.x + band.width / 2, y(bar.ms) - 5, `${label(bar.ms, 1, true)} ms`, {
        class: 'value-label',
        'text-anchor': 'middle',
      }),
    ];
  });
  const targetY = y(targetMs);
  const svg = svgDocument({
    id: 'cold-start-import',
    width: WIDTH,
    height: HEIGHT,
    title: TITLE,
    description: describe(entries, data.referenceMs),
    body: [
      legend(plot.left, 50, [
        { label: 'function (its deployed bundle)', color: COLORS.function, mark: 'box' },
        { label: 'reference: poll handler on the Databricks SDK', color: COLORS.reference, mark: 'box' },
        { label: 'target: half the reference', color: COLORS.target, mark: 'dashed' },
      ]),
      yAxis(plot, y, yTicks, 'import time (ms, median)'),
      group({ class: 'bars' }, bars),
      element('line', {
        class: 'target',
        x1: plot.left,
        x2: plot.right,
        y1: targetY,
        y2: targetY,
        stroke: COLORS.target,
        'stroke-width': 1.5,
        'stroke-dasharray': '6 4',
      }),
      text(plot.left + 6, targetY - 6, `target <= ${label(targetMs, 1)} ms`, {
        class: 'target-label',
        fill: COLORS.target,
      }),
      bandAxis(plot, laidOut, 'imported in fresh Node 22 processes, the median of each'),
    ],
  });
  return { file: IMPORT_TIME_FILE, title: TITLE, svg };
}

function describe(entries: readonly (readonly [string, number])[], referenceMs: number): string {
  const each = entries.map(([name, ms]) => `${name} ${label(ms, 1)} ms`).join(', ');
  return (
    `Median time to import each function's bundle in a fresh Node 22 process: ${each}. ` +
    `The reference poll handler on the Databricks SDK: ${label(referenceMs, 1)} ms; the target is at most half of ` +
    `it, ${label(referenceMs / 2, 1)} ms (dashed line).`
  );
}
