/**
 * Text and attribute values for the status page's HTML and SVG. Everything the page shows that came from function
 * output (dimension values, metric names) passes through here: a function printing markup must not change the page.
 */
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}
