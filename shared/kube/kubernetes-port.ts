/**
 * What the auth strategies need from Kubernetes, as one port. The adapter (@kubernetes/client-node) lives beside
 * it; tests of the strategies can run against the local stack's Kubernetes API emulator through the same adapter.
 */

/** A ServiceAccount labelled `flyte.org/databricks-enabled=true` with a non-empty client-id annotation. */
export interface DatabricksServiceAccount {
  name: string;
  /** `flyte.org/databricks-client-id`, trimmed. */
  clientId: string;
  /** `flyte.org/databricks-audience`, trimmed, when set. */
  audience: string | undefined;
  /** `flyte.org/databricks-host`, trimmed, when set: the workspace(s) its identity may be exchanged at. */
  hosts?: string | undefined;
}

export interface KubernetesPort {
  /** Lists the namespace's Databricks-enabled ServiceAccounts (label selector, then non-empty annotation). */
  listDatabricksServiceAccounts(namespace: string): Promise<DatabricksServiceAccount[]>;
  /** TokenRequest: a JWT for the ServiceAccount with the given audience and lifetime. */
  createServiceAccountToken(
    namespace: string,
    serviceAccount: string,
    audience: string,
    expirationSeconds: number,
  ): Promise<string>;
  /** A Secret's data, base64-decoded; undefined when it does not exist. 403 is an AuthConfigError, never "not found". */
  readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}
