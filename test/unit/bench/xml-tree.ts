/**
 * A strict, small XML reader for the bench charts' tests: it throws on anything that is not well-formed (a tag left
 * open or closed out of order, an attribute unquoted or repeated, a bare & or an unknown entity, a < in an attribute
 * value, anything after the root) and returns the element tree with attributes and text decoded. No parser that
 * checks well-formedness is among the project's packages (the AWS SDK's own XML reader, @aws-sdk/xml-builder, is
 * lenient and not a dependency of ours), and the charts need only this subset: no comments, CDATA, DOCTYPE or
 * processing instructions past the XML declaration, which it rejects as unexpected.
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: (XmlElement | string)[];
}

const NAME = /[A-Za-z_][\w.:-]*/y;
const ENTITY = /^(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+)$/;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function parseXml(source: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`not well-formed at offset ${i}: ${why}`);
  };
  const skipSpace = (): boolean => {
    const from = i;
    while (i < source.length && ' \t\r\n'.includes(source[i] as string)) i++;
    return i > from;
  };
  const readName = (): string => {
    NAME.lastIndex = i;
    const match = NAME.exec(source);
    if (!match) return fail('expected a name');
    i += match[0].length;
    return match[0];
  };
  const decode = (raw: string): string =>
    raw.replace(/&([^;&]*)(;?)/g, (_, body: string, semicolon: string) => {
      if (semicolon !== ';' || !ENTITY.test(body)) fail(`a bare & or an unknown entity: &${body}${semicolon}`);
      if (body.startsWith('#x')) return String.fromCodePoint(Number.parseInt(body.slice(2), 16));
      if (body.startsWith('#')) return String.fromCodePoint(Number(body.slice(1)));
      return NAMED[body] as string;
    });

  const parseElement = (): XmlElement => {
    i++;
    const name = readName();
    const attributes: Record<string, string> = {};
    for (;;) {
      const spaced = skipSpace();
      if (source.startsWith('/>', i)) {
        i += 2;
        return { name, attributes, children: [] };
      }
      if (source[i] === '>') {
        i++;
        break;
      }
      if (!spaced) fail('attributes must be separated by white space');
      const attribute = readName();
      if (Object.hasOwn(attributes, attribute)) fail(`attribute ${attribute} repeated`);
      skipSpace();
      if (source[i] !== '=') fail(`expected = after ${attribute}`);
      i++;
      skipSpace();
      const quote = source[i];
      if (quote !== '"' && quote !== "'") fail(`the value of ${attribute} is not quoted`);
      const end = source.indexOf(quote as string, i + 1);
      if (end === -1) fail(`the value of ${attribute} is not closed`);
      const raw = source.slice(i + 1, end);
      if (raw.includes('<')) fail(`a < in the value of ${attribute}`);
      attributes[attribute] = decode(raw);
      i = end + 1;
    }
    const children: (XmlElement | string)[] = [];
    for (;;) {
      if (i >= source.length) fail(`<${name}> is not closed`);
      if (source.startsWith('</', i)) {
        i += 2;
        const closing = readName();
        skipSpace();
        if (source[i] !== '>') fail('expected > to end the closing tag');
        i++;
        if (closing !== name) fail(`</${closing}> closes <${name}>`);
        return { name, attributes, children };
      }
      if (source.startsWith('<!', i) || source.startsWith('<?', i)) {
        fail('a comment, CDATA, declaration or processing instruction: not expected in a chart');
      }
      if (source[i] === '<') {
        children.push(parseElement());
        continue;
      }
      const end = source.indexOf('<', i);
      const raw = source.slice(i, end === -1 ? source.length : end);
      if (raw.includes(']]>')) fail(']]> in text');
      children.push(decode(raw));
      i += raw.length;
    }
  };

  if (source.startsWith('<?xml')) {
    const end = source.indexOf('?>');
    if (end === -1) fail('the XML declaration is not closed');
    i = end + 2;
  }
  skipSpace();
  if (source[i] !== '<') fail('no root element');
  const root = parseElement();
  skipSpace();
  if (i !== source.length) fail('content after the root element');
  return root;
}

/** The element and every element under it, in document order. */
export function allElements(root: XmlElement): XmlElement[] {
  return [root, ...root.children.flatMap((child) => (typeof child === 'string' ? [] : allElements(child)))];
}

/** The elements under `root` (itself included) with the class `name` among theirs. */
export function byClass(root: XmlElement, name: string): XmlElement[] {
  return allElements(root).filter((el) => (el.attributes.class ?? '').split(/\s+/).includes(name));
}

/** The text of an element and its descendants. */
export function textOf(el: XmlElement): string {
  return el.children.map((child) => (typeof child === 'string' ? child : textOf(child))).join('');
}
