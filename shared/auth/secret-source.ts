/**
 * Where namespace secrets are read from. Secrets Manager is the source on Lambda; a Kubernetes Secret source joins
 * it with the OIDC work. A missing secret is `undefined` (the caller falls back, and says so); being denied access
 * is an error, never a silent fallback: upstream's "every failure is not found" let tenants run as the global
 * identity without anyone noticing.
 */
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AuthConfigError } from '../errors.js';

export interface SecretSource {
  /** A log-safe name for error messages, e.g. "Secrets Manager". */
  readonly kind: string;
  /** The secret's string value, or undefined if no such secret exists. */
  read(secretId: string): Promise<string | undefined>;
  /** Forget any cached value of this secret (after a 401, the secret may have been rotated). */
  invalidate(secretId: string): void;
}

const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnrecognizedClientException']);

export class SecretsManagerSecretSource implements SecretSource {
  readonly kind = 'Secrets Manager';
  private readonly cache = new Map<string, { value: string | undefined; expiresAt: number }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly cacheMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async read(secretId: string): Promise<string | undefined> {
    const hit = this.cache.get(secretId);
    if (hit && hit.expiresAt > this.now()) return hit.value;
    const value = await this.fetch(secretId);
    if (this.cacheMs > 0) this.cache.set(secretId, { value, expiresAt: this.now() + this.cacheMs });
    return value;
  }

  invalidate(secretId: string): void {
    this.cache.delete(secretId);
  }

  private async fetch(secretId: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
      return out.SecretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      if (error instanceof Error && DENIED.has(error.name)) {
        throw new AuthConfigError(`Not allowed to read Secrets Manager secret '${secretId}' (${error.name})`, error);
      }
      throw error;
    }
  }
}

/**
 * Reads one key of a secret. Secrets hold JSON objects (`{"token": "..."}`, as the Kubernetes Secret keys are
 * named); a plain string is taken as the value of the secret's only key.
 */
export function secretKey(secretValue: string, key: string): string | undefined {
  const trimmed = secretValue.trim();
  if (!trimmed.startsWith('{')) return trimmed;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    const value = (parsed as Record<string, unknown>)[key];
    return typeof value === 'string' ? value.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** The Secrets Manager name of a namespace's secret, from the configured template. */
export function namespaceSecretId(template: string, namespace: string, name: string): string {
  return template.replaceAll('{namespace}', namespace).replaceAll('{name}', name);
}
