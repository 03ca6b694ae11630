/**
 * "Least privilege, measured": per principal, what its identity policies grant (each Allow statement's actions x
 * resources, as written), what it actually used (the requests that were allowed), the grants no request used, and
 * every call that was denied. Sorted throughout, so two runs of the same demo print the same report.
 */
import type { NamedPolicy, PolicyStatement } from './iam-policy-evaluation.js';

export interface PrincipalUsage {
  /** `<action> on <resource>` per Allow statement (`(conditional)` when it has conditions). */
  granted: string[];
  /** `<action> on <resource>` of the allowed requests, with how many there were: `... (3 calls)`. */
  used: string[];
  /** The granted entries no allowed request matched. */
  unused: string[];
}

export interface DeniedCall {
  principal: string;
  action: string;
  resource: string;
  message: string;
  count: number;
}

export interface LeastPrivilegeReport {
  /** By principal display name (e.g. `SubmitFunction`). */
  principals: Record<string, PrincipalUsage>;
  deniedCalls: DeniedCall[];
}

/** One Allow statement's action and resource pattern (IAM wildcards `*` and `?`). */
export interface Grant {
  action: string;
  resource: string;
  conditional: boolean;
  /** NotAction / NotResource statements match everything but: listed, never matched against requests. */
  negated: boolean;
}

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every Allow statement's action x resource, as written (wildcards are not expanded). */
export function grantsOf(policies: readonly NamedPolicy[]): Grant[] {
  const grants: Grant[] = [];
  for (const { document } of policies) {
    const statements: PolicyStatement[] = Array.isArray(document.Statement) ? document.Statement : [document.Statement];
    for (const statement of statements) {
      if (statement.Effect !== 'Allow') continue;
      const negated = statement.NotAction !== undefined || statement.NotResource !== undefined;
      const actions = statement.NotAction
        ? [`NotAction ${list(statement.NotAction).join(',')}`]
        : list(statement.Action);
      const resources = statement.NotResource
        ? [`NotResource ${list(statement.NotResource).join(',')}`]
        : list(statement.Resource);
      const conditional = statement.Condition !== undefined && Object.keys(statement.Condition).length > 0;
      for (const action of actions) {
        for (const resource of resources) grants.push({ action, resource, conditional, negated });
      }
    }
  }
  return grants;
}

export const grantLabel = (grant: Grant): string =>
  `${grant.action} on ${grant.resource}${grant.conditional ? ' (conditional)' : ''}`;

/** IAM's pattern match: `*` any run of characters, `?` one; actions case-insensitively, resources exactly. */
export function iamPatternMatches(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

export function grantCovers(grant: Grant, action: string, resource: string): boolean {
  return !grant.negated && iamPatternMatches(grant.action, action, true) && iamPatternMatches(grant.resource, resource);
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The usage of one principal: its grants against its allowed requests (`<action> on <resource>` -> count). */
export function principalUsage(grants: readonly Grant[], allowed: ReadonlyMap<string, number>): PrincipalUsage {
  const used = [...allowed.entries()]
    .map(([call, count]) => `${call} (${count} call${count === 1 ? '' : 's'})`)
    .sort(byText);
  const calls = [...allowed.keys()].map((call) => {
    const at = call.indexOf(' on ');
    return { action: call.slice(0, at), resource: call.slice(at + 4) };
  });
  const unused = grants.filter((grant) => !calls.some((c) => grantCovers(grant, c.action, c.resource)));
  return {
    granted: [...new Set(grants.map(grantLabel))].sort(byText),
    used,
    unused: [...new Set(unused.map(grantLabel))].sort(byText),
  };
}

export function sortDeniedCalls(calls: Iterable<DeniedCall>): DeniedCall[] {
  return [...calls].sort(
    (a, b) =>
      byText(a.principal, b.principal) ||
      byText(a.action, b.action) ||
      byText(a.resource, b.resource) ||
      byText(a.message, b.message),
  );
}
