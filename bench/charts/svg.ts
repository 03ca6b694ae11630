/**
 * SVG as text, for the bench's charts (bench/charts/): elements with escaped text and attributes, numbers written
 * the same way every time (same data, same bytes), and the document around a chart with its accessible title and
 * description. No DOM, no dependency; escaping and numbers from infra/local/svg-markup.ts (shared with the status page).
 */
import { escapeMarkup, num } from '../../infra/local/svg-markup.js';

export type Attributes = Readonly<Record<string, string | number | undefined>>;

/**
 * A number for a reader: `digits` decimals (at most, or exactly with `fixed`: "103.0 ms" beside "110.4 ms"),
 * thousands grouped with commas (no locale involved).
 */
export function label(value: number, digits = 0, fixed = false): string {
  const [whole = '0', fraction] = num(value, digits, fixed).split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  const grouped = whole.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${grouped}${fraction === undefined ? '' : `.${fraction}`}`;
}

/**
 * One element. Attributes are written in the order given, undefined ones left out; numbers through num(). Children
 * are serialized already (from element() or text content escaped with escapeMarkup()); none makes it self-closing.
 */
export function element(name: string, attributes: Attributes = {}, ...children: string[]): string {
  const attrs = attributesOf(attributes);
  return children.length === 0 ? `<${name}${attrs}/>` : `<${name}${attrs}>${children.join('')}</${name}>`;
}

/** An element whose children go one a line (the files then diff line by line). */
export function block(name: string, attributes: Attributes, children: readonly string[]): string {
  return `<${name}${attributesOf(attributes)}>\n${children.join('\n')}\n</${name}>`;
}

/** A <g> of elements, one a line. */
export function group(attributes: Attributes, children: readonly string[]): string {
  return block('g', attributes, children);
}

function attributesOf(attributes: Attributes): string {
  return Object.entries(attributes)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => ` ${key}="${typeof value === 'number' ? num(value) : escapeMarkup(value)}"`)
    .join('');
}

/** A <text> with its content escaped; several lines become <tspan>s one line-height apart. */
export function text(x: number, y: number, content: string | readonly string[], attributes: Attributes = {}): string {
  const lines = typeof content === 'string' ? [content] : content;
  if (lines.length === 1) return element('text', { x, y, ...attributes }, escapeMarkup(lines[0] as string));
  return element(
    'text',
    { x, y, ...attributes },
    ...lines.map((line, i) => element('tspan', { x, dy: i === 0 ? 0 : '1.2em' }, escapeMarkup(line))),
  );
}

export interface SvgDocument {
  /** Prefix of the ids of the title and the description: unique among charts shown together. */
  id: string;
  width: number;
  height: number;
  /** Shown at the top and read out as the image's name. */
  title: string;
  /** What the chart shows, in words and numbers, for a reader who cannot see it. */
  description: string;
  body: readonly string[];
}

/** The whole file: the XML declaration, a labelled role="img" root with <title> and <desc>, then the body. */
export function svgDocument(doc: SvgDocument): string {
  const root = block(
    'svg',
    {
      xmlns: 'http://www.w3.org/2000/svg',
      width: doc.width,
      height: doc.height,
      viewBox: `0 0 ${num(doc.width)} ${num(doc.height)}`,
      role: 'img',
      'aria-labelledby': `${doc.id}-title ${doc.id}-desc`,
      'font-family': 'Helvetica, Arial, sans-serif',
      'font-size': 12,
    },
    [
      element('title', { id: `${doc.id}-title` }, escapeMarkup(doc.title)),
      element('desc', { id: `${doc.id}-desc` }, escapeMarkup(doc.description)),
      element('rect', { width: doc.width, height: doc.height, fill: '#ffffff' }),
      text(doc.width / 2, 24, doc.title, { 'text-anchor': 'middle', 'font-size': 15, 'font-weight': 'bold' }),
      ...doc.body,
    ],
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}\n`;
}

/** Approximate width of `content` in pixels at `fontSize` (for laying out legends; no font metrics here). */
export function textWidth(content: string, fontSize = 12): number {
  return content.length * fontSize * 0.56;
}

/** One chart of the bench: the file it is written to (beside bench/results.md), its title, its SVG. */
export interface Chart {
  file: string;
  title: string;
  svg: string;
}
