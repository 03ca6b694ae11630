/**
 * Which namespaces (tenants) an API caller may use, from CALLER_NAMESPACES. The caller is the IAM principal API
 * Gateway's IAM authorization verified: `requestContext.identity.userArn`, else `caller`. With the map unset every
 * caller may use every namespace (as before); with it set, only what an entry grants, and an unidentified caller
 * nothing. Entries match the ARN exactly, or by prefix when the key ends in `*`
 * (`arn:aws:sts::123456789012:assumed-role/flyte-task-role/*` covers every session of that role); the namespaces of
 * all matching entries add up.
 *
 * POST answers 403 for a namespace the caller may not use; GET and DELETE answer 404 for a job in such a namespace,
 * exactly as for an unknown job, so ids of other tenants' jobs cannot be probed.
 */
import { type CallerNamespaceRule, type Config, config } from '../../shared/config.js';
import { HttpError } from './http-error.js';

/** Where the map comes from: `ports.config`, or by default the process's config. */
export type CallerNamespacesConfig = Pick<Config, 'CALLER_NAMESPACES'>;

/** The part of an API Gateway proxy event this reads (REST API, IAM authorization). */
export interface CallerEvent {
  requestContext?: {
    identity?: { userArn?: string | null; caller?: string | null } | null;
  } | null;
}

/** The verified caller principal, or undefined when API Gateway identified none. */
export function callerOf(event: CallerEvent): string | undefined {
  const identity = event.requestContext?.identity;
  const arn = identity?.userArn?.trim() || identity?.caller?.trim();
  return arn || undefined;
}

function ruleMatches(rule: CallerNamespaceRule, caller: string): boolean {
  return rule.prefix ? caller.startsWith(rule.principal) : caller === rule.principal;
}

/** True when the caller may use `namespace` (always, when CALLER_NAMESPACES is unset). */
export function callerMayUse(
  event: CallerEvent,
  namespace: string,
  settings: CallerNamespacesConfig = config(),
): boolean {
  const rules = settings.CALLER_NAMESPACES;
  if (rules === undefined) return true;
  const caller = callerOf(event);
  if (caller === undefined) return false;
  return rules.some(
    (rule) => ruleMatches(rule, caller) && (rule.namespaces === '*' || rule.namespaces.includes(namespace)),
  );
}

/**
 * Throws the 403 HttpError (field `namespace`) unless the caller may use `namespace`. For routes where the
 * namespace is the caller's own choice (POST /v1/jobs, GET /v1/jobs?namespace=); routes that look a job up by id
 * answer 404 instead (see assertCallerIdentified and callerMayUse).
 */
export function assertCallerMayUse(
  event: CallerEvent,
  namespace: string,
  settings: CallerNamespacesConfig = config(),
): void {
  if (settings.CALLER_NAMESPACES === undefined) return;
  const caller = assertCallerIdentified(event, settings);
  if (!callerMayUse(event, namespace, settings)) {
    throw new HttpError(403, 'Forbidden', `caller ${caller} may not use namespace '${namespace}'`, 'namespace');
  }
}

/**
 * With CALLER_NAMESPACES set, a request API Gateway did not identify is refused (403) on every route, before any
 * lookup; returns the caller (undefined when the map is unset and nobody is restricted).
 */
export function assertCallerIdentified(
  event: CallerEvent,
  settings: CallerNamespacesConfig = config(),
): string | undefined {
  const caller = callerOf(event);
  if (settings.CALLER_NAMESPACES !== undefined && caller === undefined) {
    throw new HttpError(
      403,
      'Forbidden',
      'The caller is not identified (no IAM principal in the request context); namespaces are restricted to known callers',
    );
  }
  return caller;
}
