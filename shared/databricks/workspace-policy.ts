/**
 * Where jobs may run and where credentials may go. A tenant names the workspace of its jobs, so three rules apply
 * before any credential leaves the function:
 *
 * 1. The job's workspace must be one the operator allows: ALLOWED_DATABRICKS_HOSTS (patterns, wildcards allowed)
 *    or the default FLYTE_DATABRICKS_INSTANCE; INSECURE_ANY_DATABRICKS_HOST=true opts out. If NAMESPACE_WORKSPACES
 *    names the job's namespace (or has a "*" entry), the workspace must also be one of those. Checked at POST (400
 *    naming task.databricksInstance), at submit and at every rebuild.
 * 2. A namespace's own credentials (its secret, its ServiceAccount) go only to workspaces bound to that namespace:
 *    the hosts the credential itself names (a `host` key in the secret, the `flyte.org/databricks-host` annotation),
 *    else NAMESPACE_WORKSPACES' entry for the namespace. A credential bound to nothing is never sent.
 * 3. The connector's own credentials (its PAT, its OAuth client, its identity in OIDC Model 1) go only to a workspace
 *    the operator named exactly: FLYTE_DATABRICKS_INSTANCE, an exact ALLOWED_DATABRICKS_HOSTS entry, or the
 *    namespace's NAMESPACE_WORKSPACES entry. A wildcard never suffices: anyone can create a workspace under
 *    `*.cloud.databricks.com`.
 */
import type { Config } from '../config.js';
import { AuthConfigError, InvalidJobSpecError } from '../errors.js';
import { lookupNamespace } from '../namespace-map.js';
import { formatHostPattern, type HostPattern, hostMatches, parseHostPattern } from './workspace-hosts.js';
import { normalizeWorkspaceUrl } from './workspace-url.js';

export type WorkspacePolicyConfig = Pick<
  Config,
  | 'ALLOWED_DATABRICKS_HOSTS'
  | 'INSECURE_ANY_DATABRICKS_HOST'
  | 'FLYTE_DATABRICKS_INSTANCE'
  | 'ALLOW_INSECURE_LOOPBACK_DATABRICKS'
  | 'NAMESPACE_WORKSPACES'
>;

const FIELD = 'task.databricksInstance';

/** The host[:port] of an origin, for messages; a bare host as it is. */
function hostOf(origin: string): string {
  try {
    return new URL(origin).host;
  } catch {
    return origin;
  }
}

/** FLYTE_DATABRICKS_INSTANCE as a pattern, when set. */
function defaultInstance(config: WorkspacePolicyConfig): HostPattern | undefined {
  if (!config.FLYTE_DATABRICKS_INSTANCE) return undefined;
  const origin = normalizeWorkspaceUrl(config.FLYTE_DATABRICKS_INSTANCE, config.ALLOW_INSECURE_LOOPBACK_DATABRICKS);
  const pattern = parseHostPattern(origin);
  return 'problem' in pattern ? undefined : pattern;
}

/** Rule 1: throws InvalidJobSpecError (field task.databricksInstance) unless jobs of `namespace` may use `origin`. */
export function assertWorkspaceAllowed(origin: string, namespace: string, config: WorkspacePolicyConfig): void {
  if (!config.INSECURE_ANY_DATABRICKS_HOST) {
    const allowed = [...config.ALLOWED_DATABRICKS_HOSTS, ...[defaultInstance(config)].filter((p) => p !== undefined)];
    if (allowed.length === 0) {
      throw new InvalidJobSpecError(
        'No Databricks workspace is allowed: the operator has set neither ALLOWED_DATABRICKS_HOSTS nor ' +
          'FLYTE_DATABRICKS_INSTANCE',
        FIELD,
      );
    }
    if (!allowed.some((pattern) => hostMatches(pattern, origin))) {
      throw new InvalidJobSpecError(
        `Databricks workspace '${hostOf(origin)}' is not in ALLOWED_DATABRICKS_HOSTS`,
        FIELD,
      );
    }
  }
  const bound = lookupNamespace(config.NAMESPACE_WORKSPACES, namespace);
  if (bound !== undefined && !bound.some((pattern) => hostMatches(pattern, origin))) {
    throw new InvalidJobSpecError(
      `Databricks workspace '${hostOf(origin)}' is not one of namespace '${namespace}''s workspaces ` +
        `(NAMESPACE_WORKSPACES: ${bound.map(formatHostPattern).join(', ')})`,
      FIELD,
    );
  }
}

/**
 * The workspaces a credential names for itself: the comma-separated `host` of a namespace secret or the
 * ServiceAccount annotation; undefined when it names none. Exact hosts only.
 */
export function credentialHosts(value: string | undefined, where: string): HostPattern[] | undefined {
  const entries = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) return undefined;
  return entries.map((entry, index) => {
    const pattern = parseHostPattern(entry);
    if ('problem' in pattern || pattern.wildcard) {
      throw new AuthConfigError(
        `${where} names workspace ${index + 1} in a form that is not an exact workspace host ` +
          '(e.g. dbc-123.cloud.databricks.com)',
      );
    }
    return pattern;
  });
}

/**
 * Rule 2: throws AuthConfigError unless the namespace's own credential (found at `where`) may be sent to `origin`.
 * `named` are the hosts the credential names itself (credentialHosts), which decide when present.
 */
export function assertNamespaceCredentialBound(
  origin: string,
  namespace: string,
  named: readonly HostPattern[] | undefined,
  where: string,
  config: Pick<WorkspacePolicyConfig, 'NAMESPACE_WORKSPACES'>,
): void {
  if (named !== undefined) {
    if (named.some((pattern) => hostMatches(pattern, origin))) return;
    throw new AuthConfigError(
      `${where} is bound to ${named.map(formatHostPattern).join(', ')}, not to ${hostOf(origin)}: its ` +
        'credentials are never sent to another workspace. Run the job there, or add the workspace to its host',
    );
  }
  const bound = lookupNamespace(config.NAMESPACE_WORKSPACES, namespace);
  if (bound?.some((pattern) => hostMatches(pattern, origin))) return;
  throw new AuthConfigError(
    `${where} names no workspace and NAMESPACE_WORKSPACES binds namespace '${namespace}' to ` +
      `${bound ? bound.map(formatHostPattern).join(', ') : 'none'}, so its credentials may not go to ` +
      `${hostOf(origin)}: add a host key (the workspace, e.g. "host": "${hostOf(origin)}") beside the credentials, ` +
      'or bind the namespace in NAMESPACE_WORKSPACES',
  );
}

/**
 * Rule 3: throws AuthConfigError unless the connector's own credentials (`what`) may be sent to `origin` for a job
 * of `namespace`.
 */
export function assertConnectorCredentialAllowed(
  origin: string,
  namespace: string,
  what: string,
  config: WorkspacePolicyConfig,
): void {
  const exact = [
    defaultInstance(config),
    ...config.ALLOWED_DATABRICKS_HOSTS.filter((pattern) => !pattern.wildcard),
    ...(lookupNamespace(config.NAMESPACE_WORKSPACES, namespace) ?? []),
  ].filter((pattern) => pattern !== undefined);
  if (exact.some((pattern) => hostMatches(pattern, origin))) return;
  throw new AuthConfigError(
    `${what} would send the connector's own credentials to ${hostOf(origin)}, a workspace the operator has not ` +
      'named exactly (a wildcard is not enough): list it in ALLOWED_DATABRICKS_HOSTS or NAMESPACE_WORKSPACES, ' +
      'run the job on FLYTE_DATABRICKS_INSTANCE, or give the namespace credentials of its own',
  );
}
