/** A chart's legend: one row of swatches (a line, a dashed line or a filled box), each followed by its label. */
import { element, group, text, textWidth } from './svg.js';

export interface LegendItem {
  label: string;
  color: string;
  mark: 'line' | 'dashed' | 'box';
}

const SWATCH = 22;
const GAP = 8;
const SPACING = 22;

/** The legend's items from left to right, starting at `x`, centred on `y`. */
export function legend(x: number, y: number, items: readonly LegendItem[]): string {
  let at = x;
  const parts: string[] = [];
  for (const item of items) {
    parts.push(
      item.mark === 'box'
        ? element('rect', { x: at, y: y - 6, width: 12, height: 12, fill: item.color })
        : element('line', {
            x1: at,
            x2: at + SWATCH,
            y1: y,
            y2: y,
            stroke: item.color,
            'stroke-width': 2,
            'stroke-dasharray': item.mark === 'dashed' ? '6 4' : undefined,
          }),
    );
    const labelX = at + (item.mark === 'box' ? 12 : SWATCH) + GAP;
    parts.push(text(labelX, y + 4, item.label, { class: 'legend-label' }));
    at = labelX + textWidth(item.label) + SPACING;
  }
  return group({ class: 'legend' }, parts);
}
