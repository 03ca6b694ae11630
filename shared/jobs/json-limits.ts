/**
 * The one check every untrusted JSON document goes through after JSON.parse and before its schema: API request
 * bodies and SQS message bodies alike. It refuses what a schema either cannot see or should never have to
 * (prototype keys, absurd nesting, numbers JSON.parse turned into Infinity or that lose precision, giant strings,
 * key floods, an oversized `task.databricksConf`), naming the JSON path of the first offence.
 *
 * `JSON.parse` itself only ever creates *own* `__proto__` properties, but the next spread-into-`Object.assign`,
 * merge or `obj[key] = value` copy would turn one into a prototype change; refusing the keys here, before anything
 * else sees the value, keeps every downstream copy safe.
 */

/** Well under DynamoDB's 400 KB item limit, since the request is stored with the job (API 413, SQS bad message). */
export const MAX_BODY_BYTES = 256 * 1024;

export interface JsonLimits {
  /** Containers nested inside one another, the document itself counting as 1. */
  maxDepth: number;
  /** Characters (UTF-16 code units, as zod's `max` counts them) of any string value. */
  maxStringLength: number;
  /** Characters of any object key. */
  maxKeyLength: number;
  /** Object keys in the whole document. */
  maxKeys: number;
  /** Per-subtree limits, applied when the path exists and holds an object or array. */
  subtrees: ReadonlyArray<{ path: readonly string[]; maxBytes: number; maxDepth: number }>;
}

/** The key names that reach Object.prototype (or a constructor) through an ordinary property copy. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export const DATABRICKS_CONF_PATH = ['task', 'databricksConf'] as const;

export const JSON_LIMITS: JsonLimits = {
  maxDepth: 32,
  // The largest string the request schema allows anywhere (container args and env values).
  maxStringLength: 32_768,
  maxKeyLength: 1024,
  maxKeys: 10_000,
  // A runs/submit body (tasks, clusters, libraries, for_each_task) is a few KiB and a handful of levels deep.
  subtrees: [{ path: DATABRICKS_CONF_PATH, maxBytes: 128 * 1024, maxDepth: 16 }],
};

/** The first offence found: `path` is the dotted JSON path (`task.databricksConf.a.0.b`), '' for the document. */
export class JsonLimitError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path || '(document)'}: ${reason}`);
    this.name = 'JsonLimitError';
  }

  /** The field an API error names: the path, or nothing for the document itself. */
  get field(): string | undefined {
    return this.path || undefined;
  }
}

const joinPath = (path: readonly (string | number)[]): string => path.join('.');

/**
 * Throws JsonLimitError on the first violation of `limits`; returns nothing when `value` is acceptable. Only plain
 * JSON values (what JSON.parse returns) are accepted. Never recurses deeper than `limits.maxDepth`.
 */
export function assertJsonWithinLimits(value: unknown, limits: JsonLimits = JSON_LIMITS): void {
  let keys = 0;
  const path: (string | number)[] = [];

  const walk = (node: unknown, depth: number): void => {
    switch (typeof node) {
      case 'string':
        if (node.length > limits.maxStringLength) {
          throw new JsonLimitError(joinPath(path), `string longer than ${limits.maxStringLength} characters`);
        }
        return;
      case 'number':
        if (!Number.isFinite(node) || Math.abs(node) > Number.MAX_SAFE_INTEGER) {
          throw new JsonLimitError(
            joinPath(path),
            `number must be finite and within ±${Number.MAX_SAFE_INTEGER} (Number.MAX_SAFE_INTEGER)`,
          );
        }
        return;
      case 'boolean':
        return;
      case 'object':
        break;
      default:
        throw new JsonLimitError(joinPath(path), `not a JSON value (${typeof node})`);
    }
    if (node === null) return;
    if (depth + 1 > limits.maxDepth) {
      throw new JsonLimitError(joinPath(path), `nested deeper than ${limits.maxDepth} levels`);
    }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        path.push(i);
        walk(node[i], depth + 1);
        path.pop();
      }
      return;
    }
    if (Object.getPrototypeOf(node) !== Object.prototype && Object.getPrototypeOf(node) !== null) {
      throw new JsonLimitError(joinPath(path), 'not a plain JSON object');
    }
    // Own keys only, `__proto__` included (JSON.parse defines it as an own property).
    for (const key of Object.keys(node)) {
      if (key.length > limits.maxKeyLength) {
        throw new JsonLimitError(joinPath(path), `has a key longer than ${limits.maxKeyLength} characters`);
      }
      path.push(key);
      if (FORBIDDEN_KEYS.has(key)) throw new JsonLimitError(joinPath(path), `the key '${key}' is not allowed`);
      keys += 1;
      if (keys > limits.maxKeys) throw new JsonLimitError(joinPath(path), `more than ${limits.maxKeys} keys in total`);
      walk((node as Record<string, unknown>)[key], depth + 1);
      path.pop();
    }
  };

  walk(value, 0);
  for (const subtree of limits.subtrees) checkSubtree(value, subtree);
}

/** The same check as a predicate: the violation, or undefined. */
export function findJsonLimitViolation(value: unknown, limits: JsonLimits = JSON_LIMITS): JsonLimitError | undefined {
  try {
    assertJsonWithinLimits(value, limits);
    return undefined;
  } catch (error) {
    if (error instanceof JsonLimitError) return error;
    throw error;
  }
}

function checkSubtree(root: unknown, subtree: JsonLimits['subtrees'][number]): void {
  let node: unknown = root;
  for (const key of subtree.path) {
    if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, key)) return;
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node !== 'object' || node === null) return;
  const base = joinPath(subtree.path);
  // Depth first: the whole document already passed the global depth limit, so this walk is bounded too.
  const deepest = deepestPath(node, subtree.maxDepth);
  if (deepest) {
    throw new JsonLimitError(
      joinPath([...subtree.path, ...deepest]),
      `nested deeper than ${subtree.maxDepth} levels below ${base}`,
    );
  }
  const bytes = Buffer.byteLength(JSON.stringify(node));
  if (bytes > subtree.maxBytes) {
    throw new JsonLimitError(base, `serialized size ${bytes} bytes exceeds ${subtree.maxBytes} bytes`);
  }
}

/** The relative path of the first container nested more than `maxDepth` levels deep in `node` (itself level 1). */
function deepestPath(node: unknown, maxDepth: number): (string | number)[] | undefined {
  const path: (string | number)[] = [];
  const walk = (current: unknown, depth: number): boolean => {
    if (typeof current !== 'object' || current === null) return false;
    if (depth > maxDepth) return true;
    const entries: Array<[string | number, unknown]> = Array.isArray(current)
      ? current.map((v, i) => [i, v])
      : Object.entries(current);
    for (const [key, child] of entries) {
      path.push(key);
      if (walk(child, depth + 1)) return true;
      path.pop();
    }
    return false;
  };
  return walk(node, 1) ? path : undefined;
}

/**
 * JSON.parse, then the limits: the one way untrusted text becomes a value. Throws SyntaxError for text that is not
 * JSON, JsonLimitError for JSON that breaks a limit.
 */
export function parseUntrustedJson(text: string, limits: JsonLimits = JSON_LIMITS): unknown {
  const value: unknown = JSON.parse(text);
  assertJsonWithinLimits(value, limits);
  return value;
}
