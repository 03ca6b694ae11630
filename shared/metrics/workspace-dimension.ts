/**
 * The `Workspace` dimension of WorkspaceCalls: a workspace's host (`dbc-1.cloud.databricks.com`), only when the
 * operator turned it on (METRICS_WORKSPACE_DIMENSION=true) and only for a host the operator's allowlist admits
 * (ALLOWED_DATABRICKS_HOSTS, or FLYTE_DATABRICKS_INSTANCE), as normalized for the calls. Without the allowlist
 * (INSECURE_ANY_DATABRICKS_HOST) the host is whatever a tenant wrote: no dimension then. A call is only made once a
 * credential's exact workspace binding passed (shared/databricks/workspace-policy.ts), so a wildcard entry does not
 * open the dimension to hosts nobody configured.
 *
 * A branded string: the metrics helpers take no other, so a raw host from a request can never become a dimension.
 */
import type { Config } from '../config.js';
import { assertWorkspaceAllowed, type WorkspacePolicyConfig } from '../databricks/workspace-policy.js';
import { normalizeWorkspaceUrl } from '../databricks/workspace-url.js';

declare const allowlisted: unique symbol;
export type WorkspaceDimension = string & { readonly [allowlisted]: true };

export type WorkspaceDimensionConfig = Pick<Config, 'METRICS_WORKSPACE_DIMENSION'> & WorkspacePolicyConfig;

/** The host as a dimension value, or undefined when the switch is off or the host is not on the allowlist. */
export function workspaceDimension(host: string, config: WorkspaceDimensionConfig): WorkspaceDimension | undefined {
  if (!config.METRICS_WORKSPACE_DIMENSION || config.INSECURE_ANY_DATABRICKS_HOST) return undefined;
  try {
    const origin = normalizeWorkspaceUrl(host, config.ALLOW_INSECURE_LOOPBACK_DATABRICKS);
    // The allowlist alone (rule 1 without a namespace): which namespace's job it is does not change the host.
    assertWorkspaceAllowed(origin, '', { ...config, NAMESPACE_WORKSPACES: undefined });
    return new URL(origin).host as WorkspaceDimension;
  } catch {
    return undefined;
  }
}
