/**
 * The page's two chart kinds as inline SVG strings (no script, no network): stacked columns (jobs by phase per
 * time bucket) and lines with an optional threshold (calls per second against the budget; DLQ depths). Each
 * column and point carries a <title>, so hovering shows the number.
 */
import { escapeMarkup, num } from '../svg-markup.js';

export interface ChartSeries {
  label: string;
  color: string;
  values: readonly number[];
}

export interface ChartFrame {
  width: number;
  height: number;
  /** Labels under the x axis, at a value index (e.g. `-10 min` at the bucket ten minutes ago). */
  xLabels: ReadonlyArray<{ index: number; text: string }>;
  /** How many values the x axis spans. */
  points: number;
  /** Shown after the y axis' numbers' tooltip values, e.g. `/s`. */
  unit?: string;
}

const MARGIN = { left: 44, right: 10, top: 10, bottom: 22 };

export function stackedColumns(series: readonly ChartSeries[], frame: ChartFrame): string {
  const totals = Array.from({ length: frame.points }, (_, i) => series.reduce((n, s) => n + (s.values[i] ?? 0), 0));
  const { x, y, yMax, plotWidth } = scales(frame, Math.max(...totals, 0));
  const columnWidth = Math.max(1, plotWidth / frame.points - 1);
  const columns: string[] = [];
  for (let i = 0; i < frame.points; i += 1) {
    let base = 0;
    for (const s of series) {
      const value = s.values[i] ?? 0;
      if (value <= 0) continue;
      const top = y(base + value);
      columns.push(
        `<rect x="${num(x(i))}" y="${num(top)}" width="${num(columnWidth)}" height="${num(y(base) - top)}" ` +
          `fill="${escapeMarkup(s.color)}"><title>${escapeMarkup(`${s.label}: ${formatNumber(value)}`)}</title></rect>`,
      );
      base += value;
    }
  }
  return svg(frame, yMax, columns.join(''));
}

export function lines(
  series: readonly ChartSeries[],
  frame: ChartFrame,
  threshold?: { value: number; label: string },
): string {
  const values = series.flatMap((s) => s.values).filter(Number.isFinite);
  const highest = Math.max(0, ...values, threshold ? threshold.value * 1.15 : 0);
  const { x, y, yMax, plotWidth } = scales(frame, highest);
  const step = plotWidth / frame.points;
  const parts: string[] = [];
  if (threshold) {
    const at = num(y(threshold.value));
    parts.push(
      `<line x1="${MARGIN.left}" x2="${frame.width - MARGIN.right}" y1="${at}" y2="${at}" stroke="#c62828" ` +
        `stroke-dasharray="6 4" stroke-width="1.5"><title>${escapeMarkup(threshold.label)}</title></line>`,
      // A white halo keeps the label readable where a line crosses it.
      `<text x="${MARGIN.left + 6}" y="${num(y(threshold.value) - 4)}" fill="#c62828" font-size="11" ` +
        `stroke="#fff" stroke-width="3" paint-order="stroke">${escapeMarkup(threshold.label)}</text>`,
    );
  }
  for (const s of series) {
    const known = s.values.filter(Number.isFinite);
    const title = `<title>${escapeMarkup(`${s.label}: peak ${formatNumber(Math.max(0, ...known))}${frame.unit ?? ''}`)}</title>`;
    // An unknown value (NaN: not sampled yet, unreadable) breaks the line instead of drawing a 0 nobody measured.
    for (const segment of segmentsOf(s.values)) {
      const xy = segment.map(({ i, v }) => [num(x(i) + step / 2), num(y(v))] as const);
      const [only] = xy;
      parts.push(
        xy.length === 1 && only
          ? `<circle cx="${only[0]}" cy="${only[1]}" r="2.5" fill="${escapeMarkup(s.color)}">${title}</circle>`
          : `<polyline points="${xy.map((p) => p.join(',')).join(' ')}" fill="none" ` +
              `stroke="${escapeMarkup(s.color)}" stroke-width="2">${title}</polyline>`,
      );
    }
  }
  return svg(frame, yMax, parts.join(''));
}

function segmentsOf(values: readonly number[]): Array<Array<{ i: number; v: number }>> {
  const segments: Array<Array<{ i: number; v: number }>> = [];
  let current: Array<{ i: number; v: number }> = [];
  values.forEach((v, i) => {
    if (Number.isFinite(v)) current.push({ i, v });
    else if (current.length > 0) {
      segments.push(current);
      current = [];
    }
  });
  if (current.length > 0) segments.push(current);
  return segments;
}

/** A short, stable number: integers as they are, others to two significant decimals. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function scales(frame: ChartFrame, highest: number) {
  const plotWidth = frame.width - MARGIN.left - MARGIN.right;
  const plotHeight = frame.height - MARGIN.top - MARGIN.bottom;
  const yMax = niceCeiling(highest);
  return {
    plotWidth,
    yMax,
    x: (index: number) => MARGIN.left + (index * plotWidth) / frame.points,
    y: (value: number) => MARGIN.top + plotHeight - (Math.min(value, yMax) / yMax) * plotHeight,
  };
}

/** 1, 2 or 5 times a power of ten, at least `value` (and at least 1: an empty chart still has an axis). */
function niceCeiling(value: number): number {
  if (!(value > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function svg(frame: ChartFrame, yMax: number, body: string): string {
  const bottom = frame.height - MARGIN.bottom;
  const right = frame.width - MARGIN.right;
  const middle = (MARGIN.top + bottom) / 2;
  const grid = [
    [MARGIN.top, yMax],
    [middle, yMax / 2],
    [bottom, 0],
  ]
    .map(
      ([at, value]) =>
        `<line x1="${MARGIN.left}" x2="${right}" y1="${num(at as number)}" y2="${num(at as number)}" ` +
        `stroke="#e0e0e0"/><text x="${MARGIN.left - 4}" y="${num((at as number) + 4)}" text-anchor="end" ` +
        `font-size="11" fill="#555">${escapeMarkup(formatNumber(value as number))}</text>`,
    )
    .join('');
  const plotWidth = right - MARGIN.left;
  const labels = frame.xLabels
    .map(
      ({ index, text }) =>
        `<text x="${num(MARGIN.left + (index * plotWidth) / frame.points)}" y="${frame.height - 6}" ` +
        `text-anchor="middle" font-size="11" fill="#555">${escapeMarkup(text)}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${frame.width}" height="${frame.height}" ` +
    `viewBox="0 0 ${frame.width} ${frame.height}" role="img">${grid}${labels}` +
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${bottom}" stroke="#999"/>${body}</svg>`
  );
}
