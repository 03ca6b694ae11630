/**
 * Where a workflow namespace's secrets live: AWS Secrets Manager (the default on Lambda, one secret per
 * namespace and name, through a name template) or Kubernetes Secrets in the namespace itself (upstream parity).
 * A secret is read as its keys and values (`token`; `client_id`, `client_secret`). A missing secret is
 * `undefined`, so the caller can fall back and say so; being denied access is an error, never a silent
 * fallback: upstream's "every failure is not found" let tenants run as the global identity unnoticed.
 */
export interface NamespaceSecrets {
  /** A log-safe name for messages: "Secrets Manager" or "Kubernetes". */
  readonly kind: string;
  /** Where (namespace, name) lives, for messages: "Secrets Manager secret 'flyte/ns/databricks-token'". */
  locate(namespace: string, name: string): string;
  /** The secret's keys and values, or undefined when no such secret exists. */
  read(namespace: string, name: string): Promise<SecretValues | undefined>;
  /** Forget a cached value (after a 401 the secret may have been rotated). */
  invalidate(namespace: string, name: string): void;
}

export type SecretValues = Readonly<Record<string, string>>;
