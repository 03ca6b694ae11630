/**
 * The two per-namespace settings (shared/namespace-map.ts), parsed by one set of rules for the functions
 * (NAMESPACE_WORKSPACES, NAMESPACE_OIDC_CLIENT_IDS in shared/config.ts) and the stack (namespaceWorkspaces,
 * namespaceOidcClientIds in infra/stack-config.ts), so the stack refuses at synth what the functions would refuse
 * at their first invocation. Problems name positions, never values.
 */
import { type HostPattern, parseHostPattern } from './databricks/workspace-hosts.js';
import { type NamespaceMap, parseNamespaceMap } from './namespace-map.js';

/** A service principal's application (client) id, as Databricks issues them (a UUID) and DATABRICKS_CLIENT_ID. */
export const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Namespace (or "*") → the exact workspace hosts its jobs may use and its credentials may be sent to. */
export function parseNamespaceWorkspaces(text: string): NamespaceMap<HostPattern[]> | string {
  return parseNamespaceMap<HostPattern[]>(text, (value) => {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
      return { problem: 'must be a list of exact workspace hosts' };
    }
    const patterns: HostPattern[] = [];
    for (const [index, entry] of (value as string[]).entries()) {
      const pattern = parseHostPattern(entry);
      if ('problem' in pattern) return { problem: `host ${index + 1} ${pattern.problem}` };
      if (pattern.wildcard) return { problem: `host ${index + 1} is a wildcard; name exact workspace hosts` };
      patterns.push(pattern);
    }
    return { value: patterns };
  });
}

/** Namespace (or "*") → the service principal OIDC Model 1 is exchanged for in that namespace (trimmed). */
export function parseNamespaceOidcClientIds(text: string): NamespaceMap<string> | string {
  return parseNamespaceMap<string>(text, (value) =>
    typeof value === 'string' && CLIENT_ID.test(value.trim())
      ? { value: value.trim() }
      : { problem: "must be a service principal's application (client) id, e.g. a UUID" },
  );
}
