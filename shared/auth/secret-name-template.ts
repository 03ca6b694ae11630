/**
 * The rule every SECRET_NAME_TEMPLATE (stack context `secretNameTemplate`) must follow so that no two (namespace,
 * secret name) pairs can give the same Secrets Manager name, which would hand one tenant another's secret.
 *
 * A namespace holds only `a-z`, `0-9` and `-`; a secret name (a Kubernetes Secret name) also `.`. With `{namespace}`
 * and `{name}` each exactly once and, in the text between them, at least one character neither may contain (such as
 * `/`), the first such character after the fixed prefix marks where the first placeholder ends, so a secret name
 * gives back exactly one pair. `flyte-{namespace}-{name}` does not: namespace `a` with secret `b-c` and namespace
 * `a-b` with secret `c` are both `flyte-a-b-c`.
 */

const NAMESPACE = '{namespace}';
const NAME = '{name}';
/** Every character a namespace ([a-z0-9-]) or a secret name ([a-z0-9.-]) may contain. */
const PLACEHOLDER_VALUE_CHARS = /^[a-z0-9.-]*$/;
/** Every character a namespace may contain. */
const NAMESPACE_CHARS = /^[a-z0-9-]*$/;

const occurrences = (text: string, part: string): number => text.split(part).length - 1;

/** Why the template could map two (namespace, name) pairs to one secret name, or undefined when it cannot. */
export function secretNameTemplateProblem(template: string): string | undefined {
  if (occurrences(template, NAMESPACE) !== 1 || occurrences(template, NAME) !== 1) {
    return `must contain {namespace} and {name} exactly once each (got ${JSON.stringify(template)})`;
  }
  const namespaceAt = template.indexOf(NAMESPACE);
  const nameAt = template.indexOf(NAME);
  const between =
    namespaceAt < nameAt
      ? template.slice(namespaceAt + NAMESPACE.length, nameAt)
      : template.slice(nameAt + NAME.length, namespaceAt);
  if (!PLACEHOLDER_VALUE_CHARS.test(between)) return undefined;
  const render = (namespace: string, name: string) => template.replace(NAMESPACE, namespace).replace(NAME, name);
  let example = '';
  // When the text between could itself be part of a namespace, show two (namespace, name) pairs that collide.
  if (NAMESPACE_CHARS.test(between)) {
    const [[ns1, name1], [ns2, name2]] =
      namespaceAt < nameAt
        ? [
            ['a', `b${between}c`],
            [`a${between}b`, 'c'],
          ]
        : [
            [`b${between}c`, 'a'],
            ['c', `a${between}b`],
          ];
    example =
      `: namespace "${ns1}" with secret "${name1}" and namespace "${ns2}" with secret "${name2}" both give ` +
      JSON.stringify(render(ns1, name1));
  }
  const why =
    between === ''
      ? 'nothing separates {namespace} from {name}'
      : `the text between {namespace} and {name} (${JSON.stringify(between)}) holds only characters a namespace or ` +
        'secret name may contain';
  return (
    `could give two namespaces' secrets the same name (got ${JSON.stringify(template)}): ${why}, so where one ends ` +
    `and the other begins is ambiguous${example}. Put a character neither may contain, such as "/", between them ` +
    '(e.g. flyte/{namespace}/{name})'
  );
}
