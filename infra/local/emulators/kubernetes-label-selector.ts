/**
 * Kubernetes label selectors (the `labelSelector` query parameter), as k8s.io/apimachinery/pkg/labels parses them:
 * comma-separated requirements, all of which must hold.
 *
 * Verified (Kubernetes "Labels and Selectors" documentation): `k=v` / `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
 * `k` (exists), `!k` (does not exist); `!=` and `notin` also match objects without the label; keys are qualified
 * names (optional DNS-subdomain prefix and `/`, then a name of at most 63 characters), values at most 63 characters
 * of alphanumerics, `-`, `_`, `.`, beginning and ending alphanumeric, or empty. `k>n` / `k<n` exist too.
 *
 * Assumed: the exact wording of parse errors (the server answers 400 BadRequest with it).
 */

export type LabelOperator = 'exists' | 'notexists' | 'equals' | 'notequals' | 'in' | 'notin' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export class LabelSelectorError extends Error {
  override readonly name = 'LabelSelectorError';
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';

/** A qualified name: label and annotation keys. */
export function validKey(key: string): boolean {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length <= 63 && NAME.test(name);
}

/** A label value. */
export const validValue = (value: string): boolean => value === '' || (value.length <= 63 && NAME.test(value));

function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

function requirement(part: string): LabelRequirement {
  let m = new RegExp(`^!\\s*(${KEY})$`).exec(part);
  if (m) return { key: m[1] as string, operator: 'notexists', values: [] };
  m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`).exec(part);
  if (m) {
    const values = (m[3] as string).split(',').map((v) => v.trim());
    return { key: m[1] as string, operator: m[2] as 'in' | 'notin', values };
  }
  m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*([^=!\\s]*)$`).exec(part);
  if (m) {
    return { key: m[1] as string, operator: m[2] === '!=' ? 'notequals' : 'equals', values: [m[3] as string] };
  }
  m = new RegExp(`^(${KEY})\\s*([<>])\\s*(-?\\d+)$`).exec(part);
  if (m) return { key: m[1] as string, operator: m[2] === '>' ? 'gt' : 'lt', values: [m[3] as string] };
  m = new RegExp(`^(${KEY})$`).exec(part);
  if (m) return { key: m[1] as string, operator: 'exists', values: [] };
  throw new LabelSelectorError(
    `unable to parse requirement: found '${part}', expected: key, !key, key=value, key!=value, key in (...), key notin (...)`,
  );
}

/** Parses a selector; the empty string selects everything. Throws LabelSelectorError. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  if (text.trim() === '') return [];
  return splitRequirements(text).map((part) => {
    if (part === '') throw new LabelSelectorError("unable to parse requirement: found '', expected: identifier");
    const req = requirement(part);
    if (!validKey(req.key)) {
      throw new LabelSelectorError(
        `unable to parse requirement: key: Invalid value: "${req.key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
      );
    }
    for (const value of req.values) {
      if ((req.operator === 'gt' || req.operator === 'lt') && /^-?\d+$/.test(value)) continue;
      if (!validValue(value)) {
        throw new LabelSelectorError(
          `unable to parse requirement: values[0][${req.key}]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        );
      }
    }
    return req;
  });
}

function holds({ key, operator, values }: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, key);
  const value = labels[key] ?? '';
  if (operator === 'exists') return has;
  if (operator === 'notexists') return !has;
  if (operator === 'equals' || operator === 'in') return has && values.includes(value);
  if (operator === 'notequals' || operator === 'notin') return !has || !values.includes(value);
  if (!has || !/^-?\d+$/.test(value)) return false;
  const bound = Number(values[0]);
  return operator === 'gt' ? Number(value) > bound : Number(value) < bound;
}

export function matchesLabelSelector(requirements: LabelRequirement[], labels: Record<string, string>): boolean {
  return requirements.every((requirement) => holds(requirement, labels));
}
