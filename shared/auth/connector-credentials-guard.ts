/**
 * Where the connector's own credentials may go. A tenant picks the workspace host of its jobs; its own namespace
 * secret may follow it there, but the connector-level credentials (FLYTE_DATABRICKS_ACCESS_TOKEN and its secret,
 * DATABRICKS_CLIENT_ID/SECRET, and the connector's own identity in OIDC Model 1) belong to the operator. They are
 * only sent to a workspace the operator named: one in ALLOWED_DATABRICKS_HOSTS (when set, every job is already
 * held to it), or else the default FLYTE_DATABRICKS_INSTANCE. Upstream sends them wherever the task points.
 */
import type { Config } from '../config.js';
import { normalizeWorkspaceUrl } from '../databricks/workspace-url.js';
import { AuthConfigError } from '../errors.js';

export type ConnectorGuardConfig = Partial<
  Pick<Config, 'ALLOWED_DATABRICKS_HOSTS' | 'FLYTE_DATABRICKS_INSTANCE' | 'ALLOW_INSECURE_LOOPBACK_DATABRICKS'>
>;

/** Throws when the connector's own credentials may not be sent to `host` (a workspace origin). */
export function assertConnectorCredentialsAllowed(host: string, what: string, config: ConnectorGuardConfig): void {
  if ((config.ALLOWED_DATABRICKS_HOSTS ?? []).length > 0) return;
  const defaultInstance = config.FLYTE_DATABRICKS_INSTANCE
    ? normalizeWorkspaceUrl(config.FLYTE_DATABRICKS_INSTANCE, config.ALLOW_INSECURE_LOOPBACK_DATABRICKS ?? false)
    : undefined;
  if (defaultInstance !== undefined && defaultInstance === normalizeWorkspaceUrl(host, true)) return;
  throw new AuthConfigError(
    `${what} would send the connector's own credentials to ${new URL(host).host}, a workspace the operator has not ` +
      'named: set ALLOWED_DATABRICKS_HOSTS to the workspaces jobs may use (or run the job on FLYTE_DATABRICKS_INSTANCE), ' +
      'or give the namespace credentials of its own',
  );
}
