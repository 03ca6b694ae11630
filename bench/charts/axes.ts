/**
 * The plot area of a chart, its linear scales, "nice" ticks (steps of 1, 2 or 5 times a power of ten) and the axes
 * drawn with them: gridlines, tick labels and axis titles. Each tick label is a <text class="tick-label"> at its
 * tick's position, so a reader (or a test) can recover the scale from the file.
 */
import { element, group, label, text } from './svg.js';

export interface Plot {
  /** Left and right edges of the plot area (pixels). */
  left: number;
  right: number;
  /** Top and bottom edges (pixels; y grows downwards). */
  top: number;
  bottom: number;
}

export interface Margins {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export function plotArea(width: number, height: number, margins: Margins): Plot {
  return { left: margins.left, right: width - margins.right, top: margins.top, bottom: height - margins.bottom };
}

export type Scale = (value: number) => number;

/** The linear map from [d0, d1] onto [r0, r1]. */
export function linearScale([d0, d1]: readonly [number, number], [r0, r1]: readonly [number, number]): Scale {
  if (d1 === d0) throw new Error(`empty domain [${d0}, ${d1}]`);
  return (value) => r0 + ((value - d0) / (d1 - d0)) * (r1 - r0);
}

/** The y scale of `plot` for values from 0 to `max` (0 at the bottom). */
export function yScaleOf(plot: Plot, max: number): Scale {
  return linearScale([0, max], [plot.bottom, plot.top]);
}

/**
 * Ticks from 0 to at least `max`, about `count` of them, a step of 1, 2 or 5 times a power of ten apart; the last
 * is the axis' top. A max of 0 (nothing to plot) gets the ticks of 1.
 */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max >= 0) || !Number.isFinite(max)) throw new Error(`ticks need a finite max >= 0, got ${max}`);
  const rough = (max > 0 ? max : 1) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  const steps = Math.max(1, Math.ceil(max / step - 1e-9));
  return Array.from({ length: steps + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

/** Horizontal gridlines and labels at `ticks` (with the decimals they have), and the axis title turned up the left side. */
export function yAxis(plot: Plot, y: Scale, ticks: readonly number[], title: string): string {
  const middle = (plot.top + plot.bottom) / 2;
  // As many decimals as the ticks have (niceTicks' are exact to 12 digits): 0.5 steps read "0.5", not "1".
  const digits = Math.max(0, ...ticks.map((tick) => (String(tick).split('.')[1] ?? '').length));
  return group({ class: 'axis y-axis' }, [
    ...ticks.map((tick) =>
      element('line', {
        class: 'grid',
        x1: plot.left,
        x2: plot.right,
        y1: y(tick),
        y2: y(tick),
        stroke: tick === 0 ? '#333333' : '#e0e0e0',
      }),
    ),
    ...ticks.map((tick) =>
      text(plot.left - 8, y(tick) + 4, label(tick, digits), { class: 'tick-label', 'text-anchor': 'end' }),
    ),
    text(plot.left - 52, middle, title, {
      class: 'axis-title',
      'text-anchor': 'middle',
      transform: `rotate(-90 ${plot.left - 52} ${middle})`,
    }),
  ]);
}

/** The line along the bottom of the plot that an x axis stands on. */
function baseline(plot: Plot): string {
  return element('line', {
    class: 'baseline',
    x1: plot.left,
    x2: plot.right,
    y1: plot.bottom,
    y2: plot.bottom,
    stroke: '#333333',
  });
}

/** Ticks and labels along the bottom of a linear x axis, and its title under them. */
export function xAxis(
  plot: Plot,
  x: Scale,
  ticks: readonly number[],
  title: string,
  tickLabel: (tick: number) => string,
): string {
  return group({ class: 'axis x-axis' }, [
    baseline(plot),
    ...ticks.map((tick) =>
      element('line', {
        class: 'tick',
        x1: x(tick),
        x2: x(tick),
        y1: plot.bottom,
        y2: plot.bottom + 5,
        stroke: '#333333',
      }),
    ),
    ...ticks.map((tick) =>
      text(x(tick), plot.bottom + 19, tickLabel(tick), { class: 'tick-label', 'text-anchor': 'middle' }),
    ),
    text((plot.left + plot.right) / 2, plot.bottom + 42, title, { class: 'axis-title', 'text-anchor': 'middle' }),
  ]);
}

export interface Band {
  /** Label lines under the band. */
  label: readonly string[];
  /** The band's left edge and width (pixels). */
  x: number;
  width: number;
}

/** One equal band per label across the plot, `padding` (a fraction of each) left empty on each side. */
export function bands(plot: Plot, labels: readonly (readonly string[])[], padding = 0.15): Band[] {
  const step = (plot.right - plot.left) / labels.length;
  return labels.map((lines, i) => ({
    label: lines,
    x: plot.left + i * step + step * padding,
    width: step * (1 - 2 * padding),
  }));
}

/** The baseline of a band (category) axis, each band's label under its middle, and the axis title. */
export function bandAxis(plot: Plot, bandsOf: readonly Band[], title: string, titleOffset = 48): string {
  return group({ class: 'axis x-axis' }, [
    baseline(plot),
    ...bandsOf.map((band) =>
      text(band.x + band.width / 2, plot.bottom + 19, band.label, { class: 'tick-label', 'text-anchor': 'middle' }),
    ),
    text((plot.left + plot.right) / 2, plot.bottom + titleOffset, title, {
      class: 'axis-title',
      'text-anchor': 'middle',
    }),
  ]);
}
