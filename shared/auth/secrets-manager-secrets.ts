/**
 * Namespace secrets in AWS Secrets Manager. A namespace's secret is named by the configured template
 * (default `flyte/{namespace}/{name}`) and must hold a JSON object of string keys, as a Kubernetes Secret would
 * (`{"token": "…", "host": "…"}`): a plain string is refused there, since a task names the secret and any plain
 * string under the namespace's prefix (a password, a key) would otherwise be sent as a token. The connector's own
 * secrets, named exactly by the operator, may be a plain string (taken as `token`). Values are cached briefly per warm
 * container; `invalidate` drops one. One read per secret is in flight at a time: the ten records of a cold batch
 * that all need a namespace's secret share one GetSecretValue.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AuthConfigError } from '../errors.js';
import { ReadThroughCache } from '../read-through-cache.js';
import type { NamespaceSecrets, SecretValues } from './namespace-secrets.js';

const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnrecognizedClientException']);

/** A client, or how to load one on first use: the functions keep the SDK package off their cold start. */
export type SecretsManagerClientSource = SecretsManagerClient | (() => Promise<SecretsManagerClient>);

export class SecretsManagerSecrets implements NamespaceSecrets {
  readonly kind = 'Secrets Manager';
  /** The raw SecretString ('' for a binary secret), or undefined when the secret does not exist. */
  private readonly cache: ReadThroughCache<string | undefined>;

  constructor(
    private readonly client: SecretsManagerClientSource,
    private readonly options: { nameTemplate: string; cacheMs: number; now?: () => number },
  ) {
    this.cache = new ReadThroughCache({ ttlMs: options.cacheMs, now: options.now });
  }

  secretId(namespace: string, name: string): string {
    return this.options.nameTemplate.replaceAll('{namespace}', namespace).replaceAll('{name}', name);
  }

  locate(namespace: string, name: string): string {
    return `Secrets Manager secret '${this.secretId(namespace, name)}'`;
  }

  async read(namespace: string, name: string): Promise<SecretValues | undefined> {
    const secretId = this.secretId(namespace, name);
    const text = await this.cache.get(secretId, () => this.fetch(secretId));
    return text === undefined ? undefined : parseNamespaceSecretString(text, this.locate(namespace, name));
  }

  invalidate(namespace: string, name: string): void {
    this.invalidateId(this.secretId(namespace, name));
  }

  /** A connector secret by its full id (name or ARN), such as the connector-wide fallback PAT. */
  async readById(secretId: string): Promise<SecretValues | undefined> {
    const text = await this.cache.get(secretId, () => this.fetch(secretId));
    return text === undefined ? undefined : parseSecretString(text);
  }

  invalidateId(secretId: string): void {
    this.cache.evict(secretId);
  }

  private async fetch(secretId: string): Promise<string | undefined> {
    const { GetSecretValueCommand, ResourceNotFoundException } = await import('../aws/secrets-manager-sdk.js');
    const client = typeof this.client === 'function' ? await this.client() : this.client;
    let secretString: string | undefined;
    try {
      secretString = (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      if (error instanceof Error && DENIED.has(error.name)) {
        throw new AuthConfigError(`Not allowed to read Secrets Manager secret '${secretId}' (${error.name})`, error);
      }
      throw error;
    }
    return secretString ?? '';
  }
}

/** A namespace secret: a JSON object of string keys, never a bare string. Never echoes the content on error. */
export function parseNamespaceSecretString(secretString: string, where: string): SecretValues {
  const values = secretString.trim().startsWith('{') ? parseSecretString(secretString) : undefined;
  if (values === undefined) {
    throw new AuthConfigError(
      `${where} is not a JSON object: a namespace secret must hold keys such as {"token": "<PAT>", "host": ` +
        '"<workspace>"}; a plain-string secret is not accepted for a namespace',
    );
  }
  return values;
}

/** JSON object -> its string-valued keys; anything else -> a bare token. Never echoes the content on error. */
export function parseSecretString(secretString: string): SecretValues {
  const trimmed = secretString.trim();
  if (!trimmed.startsWith('{')) return { token: trimmed };
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed).flatMap(([key, value]) => (typeof value === 'string' ? [[key, value.trim()]] : [])),
    );
  } catch {
    return {};
  }
}
