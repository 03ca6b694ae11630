/**
 * Who may use which namespace (tenant): CALLER_NAMESPACES, one set of rules for both front doors. The API checks the
 * IAM principal API Gateway verified (its ARN and its unique id); the submit queue checks the SenderId SQS stamped
 * on a message (the unique id of the principal that signed SendMessage), since a queue producer has no ARN on the
 * message. Upstream could trust the namespace because Flyte supplies it; here the caller names it, so the caller must
 * be bound to it.
 *
 * A rule's key is one of:
 * - an IAM ARN, matched exactly (`arn:aws:iam::123456789012:role/flyte-task`);
 * - an ARN ending in `/*`: any principal under that path (`arn:aws:sts::123456789012:assumed-role/flyte-task/*`
 *   covers every session of that role). The `*` stands for whole path segments after the `/`, so
 *   `…:role/flyte-*` is refused when parsed: it would also match `flyte-admin`;
 * - an IAM unique id (`AROA…` for a role, covering its sessions `AROA…:<session>`; `AIDA…` for a user), which is
 *   what SQS reports as a message's SenderId and API Gateway as `identity.user`.
 * The namespaces of every matching rule add up. With no rules configured, nobody may use any namespace unless the
 * operator opted out explicitly (INSECURE_ANY_CALLER_ANY_NAMESPACE=true, a single-tenant stack).
 */
import { NAMESPACE_MAX_LENGTH, NAMESPACE_PATTERN } from './jobs/submit-request.js';

/** One CALLER_NAMESPACES entry. */
export interface CallerNamespaceRule {
  kind: 'arn' | 'arn-prefix' | 'principal-id';
  /** The ARN, the ARN prefix (ending in `/`), or the unique id. */
  principal: string;
  /** The namespaces the caller may use; '*' for any. */
  namespaces: '*' | readonly string[];
}

/** Who is asking: what API Gateway or SQS verified. Either may be missing. */
export interface Principal {
  /** `identity.userArn` (API only). */
  arn?: string | undefined;
  /** The unique id, possibly with a session (`AROA…:session`, `AIDA…`): `identity.user`, or an SQS SenderId. */
  id?: string | undefined;
}

export interface CallerNamespacesSettings {
  CALLER_NAMESPACES: readonly CallerNamespaceRule[] | undefined;
  INSECURE_ANY_CALLER_ANY_NAMESPACE: boolean;
}

/** The configuration says nothing about callers: a deployment mistake, refused rather than left open. */
export class CallerRulesMissingError extends Error {
  constructor() {
    super(
      'CALLER_NAMESPACES is not set: no caller may use any namespace. Set it (caller ARN or principal id to ' +
        'namespaces), or INSECURE_ANY_CALLER_ANY_NAMESPACE=true for a single-tenant stack',
    );
    this.name = 'CallerRulesMissingError';
  }
}

/** `AROA…` (role) or `AIDA…` (user): how IAM unique ids start (AWS IAM identifiers reference). */
export const PRINCIPAL_ID = /^(AROA|AIDA)[A-Z0-9]{8,124}$/;
const ARN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:[\w+=,.@/-]+$/;

const SHAPE =
  'must be a JSON object mapping callers (an IAM ARN, an ARN ending in /*, or a principal id such as AROA…) to ' +
  'lists of namespaces ("*" for any)';

/** The rules, or why the text is not a valid CALLER_NAMESPACES (naming positions, never values). */
export function parseCallerNamespaces(text: string): CallerNamespaceRule[] | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `is not valid JSON; ${SHAPE}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return SHAPE;
  const rules: CallerNamespaceRule[] = [];
  for (const [index, [key, list]] of Object.entries(value).entries()) {
    const entry = `entry ${index + 1}`;
    if (key.length === 0 || key.length > 2048) return `${entry}: the caller must be 1 to 2048 characters`;
    const kind = callerKind(key);
    if (kind === undefined) {
      return (
        `${entry}: the caller must be an IAM ARN, an ARN whose last segment is * after a /, or a principal id ` +
        '(AROA… or AIDA…); a * elsewhere would match more principals than it names'
      );
    }
    if (!Array.isArray(list) || list.some((ns) => typeof ns !== 'string')) return `${entry}: ${SHAPE}`;
    const names = list as string[];
    const bad = names.findIndex(
      (ns) => ns !== '*' && (ns.length > NAMESPACE_MAX_LENGTH || !NAMESPACE_PATTERN.test(ns)),
    );
    if (bad !== -1) return `${entry}: namespace ${bad + 1} is neither "*" nor a Kubernetes namespace name`;
    rules.push({
      kind,
      principal: kind === 'arn-prefix' ? key.slice(0, -1) : key,
      namespaces: names.includes('*') ? '*' : [...new Set(names)],
    });
  }
  return rules;
}

function callerKind(key: string): CallerNamespaceRule['kind'] | undefined {
  if (PRINCIPAL_ID.test(key)) return 'principal-id';
  if (key.endsWith('/*') && ARN.test(`${key.slice(0, -1)}x`) && !key.slice(0, -1).includes('*')) return 'arn-prefix';
  if (ARN.test(key)) return 'arn';
  return undefined;
}

/** The rules' IAM unique ids (AROA… roles, AIDA… users): the principals that may also produce to the submit queue. */
export function principalIdsOf(rules: readonly CallerNamespaceRule[]): string[] {
  return [...new Set(rules.filter((rule) => rule.kind === 'principal-id').map((rule) => rule.principal))];
}

function ruleMatches(rule: CallerNamespaceRule, principal: Principal): boolean {
  const { arn, id } = principal;
  switch (rule.kind) {
    case 'arn':
      return arn === rule.principal;
    case 'arn-prefix':
      return arn !== undefined && arn.length > rule.principal.length && arn.startsWith(rule.principal);
    case 'principal-id':
      return id !== undefined && (id === rule.principal || id.startsWith(`${rule.principal}:`));
  }
}

/**
 * Whether the principal may use `namespace`. Throws CallerRulesMissingError when the operator configured neither
 * rules nor the opt-out: failing closed, loudly.
 */
export function principalMayUse(principal: Principal, namespace: string, settings: CallerNamespacesSettings): boolean {
  const rules = settings.CALLER_NAMESPACES;
  if (rules === undefined) {
    if (settings.INSECURE_ANY_CALLER_ANY_NAMESPACE) return true;
    throw new CallerRulesMissingError();
  }
  return rules.some(
    (rule) => ruleMatches(rule, principal) && (rule.namespaces === '*' || rule.namespaces.includes(namespace)),
  );
}

/** True when rules apply (callers must be identified); false under the explicit opt-out. */
export function callersRestricted(settings: CallerNamespacesSettings): boolean {
  if (settings.CALLER_NAMESPACES !== undefined) return true;
  if (settings.INSECURE_ANY_CALLER_ANY_NAMESPACE) return false;
  throw new CallerRulesMissingError();
}
