/**
 * The workspace allowlist. Tokens are sent only to hosts the operator listed: exact hosts (`dbc-1.cloud.databricks.com`,
 * `127.0.0.1:4010`) or one-level-or-deeper wildcards (`*.cloud.databricks.com`, which does not match the bare
 * `cloud.databricks.com`). An empty list allows any https host (the upstream connector's behaviour), which the
 * deployment docs advise against.
 */
import { InvalidJobSpecError } from '../errors.js';

export function assertAllowedWorkspace(baseUrl: string, allowedHosts: readonly string[]): void {
  if (allowedHosts.length === 0) return;
  const { host, hostname } = new URL(baseUrl);
  const candidates = [host.toLowerCase(), hostname.toLowerCase()];
  if (allowedHosts.some((pattern) => candidates.some((candidate) => matches(pattern, candidate)))) return;
  throw new InvalidJobSpecError(
    `Databricks workspace '${host}' is not in ALLOWED_DATABRICKS_HOSTS`,
    'task.databricksInstance',
  );
}

function matches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return host === pattern;
  const suffix = pattern.slice(1);
  return host.endsWith(suffix) && host.length > suffix.length;
}
