/**
 * The API's side of CALLER_NAMESPACES (shared/caller-namespaces.ts): the caller is the IAM principal API Gateway's
 * IAM authorization verified, by ARN (`requestContext.identity.userArn`) and by unique id (`identity.user`, else
 * `identity.caller`: `AIDA…` for a user, `AROA…:session` for a role session).
 *
 * POST answers 403 for a namespace the caller may not use; GET and DELETE answer 404 for a job in such a namespace,
 * exactly as for an unknown job, so ids of other tenants' jobs cannot be probed. A stack with no rules configured
 * (and no explicit opt-out) refuses every request: the error is logged and answered 500, a deployment to fix.
 */
import {
  type CallerNamespacesSettings,
  callersRestricted,
  type Principal,
  principalMayUse,
} from '../../shared/caller-namespaces.js';
import { config } from '../../shared/config.js';
import { HttpError } from './http-error.js';

/** Where the rules come from: `ports.config`, or by default the process's config. */
export type CallerNamespacesConfig = CallerNamespacesSettings;

/** The part of an API Gateway proxy event this reads (REST API, IAM authorization). */
export interface CallerEvent {
  requestContext?: {
    identity?: { userArn?: string | null; user?: string | null; caller?: string | null } | null;
  } | null;
}

/** The verified caller principal, or undefined when API Gateway identified none. */
export function principalOf(event: CallerEvent): Principal | undefined {
  const identity = event.requestContext?.identity;
  const arn = identity?.userArn?.trim() || undefined;
  const id = identity?.user?.trim() || identity?.caller?.trim() || undefined;
  return arn === undefined && id === undefined ? undefined : { arn, id };
}

/** The caller as it reads in messages: the ARN, else the unique id. */
export function callerOf(event: CallerEvent): string | undefined {
  const principal = principalOf(event);
  return principal?.arn ?? principal?.id;
}

/** True when the caller may use `namespace`. */
export function callerMayUse(
  event: CallerEvent,
  namespace: string,
  settings: CallerNamespacesConfig = config(),
): boolean {
  if (!callersRestricted(settings)) return true;
  const principal = principalOf(event);
  return principal !== undefined && principalMayUse(principal, namespace, settings);
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
  if (!callersRestricted(settings)) return;
  const caller = assertCallerIdentified(event, settings);
  if (!callerMayUse(event, namespace, settings)) {
    throw new HttpError(403, 'Forbidden', `caller ${caller} may not use namespace '${namespace}'`, 'namespace');
  }
}

/**
 * With callers restricted, a request API Gateway did not identify is refused (403) on every route, before any
 * lookup; returns the caller (undefined under the explicit opt-out).
 */
export function assertCallerIdentified(
  event: CallerEvent,
  settings: CallerNamespacesConfig = config(),
): string | undefined {
  const caller = callerOf(event);
  if (callersRestricted(settings) && caller === undefined) {
    throw new HttpError(
      403,
      'Forbidden',
      'The caller is not identified (no IAM principal in the request context); namespaces are restricted to known callers',
    );
  }
  return caller;
}
