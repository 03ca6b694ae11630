/**
 * The workspace allowlist. Tokens are sent only to hosts the operator listed; an empty list allows any https
 * host (the upstream connector's behaviour), which the deployment docs advise against.
 */
import { InvalidJobSpecError } from '../errors.js';

export function assertAllowedWorkspace(baseUrl: string, allowedHosts: readonly string[]): void {
  if (allowedHosts.length === 0) return;
  const { host, hostname } = new URL(baseUrl);
  if (allowedHosts.includes(host.toLowerCase()) || allowedHosts.includes(hostname.toLowerCase())) return;
  throw new InvalidJobSpecError(
    `Databricks workspace '${host}' is not in ALLOWED_DATABRICKS_HOSTS`,
    'task.databricksInstance',
  );
}
