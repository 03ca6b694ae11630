/**
 * An operator's per-namespace setting as JSON: `{"team-a": <value>, "*": <value for every other namespace>}`.
 * NAMESPACE_WORKSPACES and NAMESPACE_OIDC_CLIENT_IDS take this shape. An exact namespace entry wins over "*".
 */
import { NAMESPACE_MAX_LENGTH, NAMESPACE_PATTERN } from './jobs/submit-request.js';

export interface NamespaceMap<T> {
  readonly entries: ReadonlyMap<string, T>;
}

/** The value for `namespace`: its own entry, else the "*" entry, else undefined. */
export function lookupNamespace<T>(map: NamespaceMap<T> | undefined, namespace: string): T | undefined {
  return map?.entries.get(namespace) ?? map?.entries.get('*');
}

/** What `parseValue` makes of one entry's value. */
export type Parsed<T> = { value: T } | { problem: string };

/** Parses the JSON object. Returns the map, or why it is not valid, naming positions and never values. */
export function parseNamespaceMap<T>(
  text: string,
  parseValue: (value: unknown) => Parsed<T>,
): NamespaceMap<T> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'is not valid JSON; must be a JSON object from namespaces (or "*") to values';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'must be a JSON object from namespaces (or "*") to values';
  }
  const entries = new Map<string, T>();
  for (const [index, [key, raw]] of Object.entries(value).entries()) {
    const entry = `entry ${index + 1}`;
    if (key !== '*' && (key.length > NAMESPACE_MAX_LENGTH || !NAMESPACE_PATTERN.test(key))) {
      return `${entry}: the key is neither "*" nor a Kubernetes namespace name`;
    }
    const parsed = parseValue(raw);
    if ('problem' in parsed) return `${entry}: ${parsed.problem}`;
    entries.set(key, parsed.value);
  }
  return { entries };
}
