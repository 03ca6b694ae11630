/**
 * Markup as text, for the two places that draw charts without a DOM: the bench's SVG files (bench/charts/) and the
 * local status page's HTML with inline SVG (status-page/). One escape, safe in XML and HTML alike, so a value that
 * came from function output (a dimension, a metric name) cannot change the markup; one way to write numbers, so the
 * same data gives the same bytes.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or an attribute value made safe for XML and HTML: the five characters with a meaning there become entities. */
export function escapeMarkup(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/** A coordinate or length: at most `digits` decimals (exactly, with `fixed`), never "-0" or an exponent. */
export function num(value: number, digits = 1, fixed = false): string {
  if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  const rounded = Math.round(value * 10 ** digits) / 10 ** digits;
  const written = (Object.is(rounded, -0) ? 0 : rounded).toFixed(digits);
  return fixed || !written.includes('.') ? written : written.replace(/\.?0+$/, '');
}
