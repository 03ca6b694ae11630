/**
 * Small in-test implementations of the auth code's ports (namespace secrets, Kubernetes, discovery) and a scripted
 * fetch for the token endpoint that records every request (method, URL, headers, form).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import type { AuthDeps } from '../../../shared/auth/auth-mode.js';
import type { KubernetesAccess, ServiceAccountLookup } from '../../../shared/auth/kubernetes-access.js';
import type { NamespaceSecrets, SecretValues } from '../../../shared/auth/namespace-secrets.js';
import { SecretsManagerSecrets } from '../../../shared/auth/secrets-manager-secrets.js';
import { TokenCache } from '../../../shared/auth/token-cache.js';
import type { DatabricksServiceAccount, KubernetesPort } from '../../../shared/kube/kubernetes-port.js';

export interface RecordedRequest {
  url: string;
  method: string | undefined;
  headers: Record<string, string>;
  form: Record<string, string>;
  redirect: RequestInit['redirect'];
  hasSignal: boolean;
}

type Reply = Response | Error | ((request: RecordedRequest) => Response | Error);

/** A fetch that answers from a script, in order (the last reply repeats), recording each request. */
export function scriptedFetch(...replies: Reply[]) {
  const requests: RecordedRequest[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const request: RecordedRequest = {
      url: String(input),
      method: init?.method,
      headers,
      form: Object.fromEntries(new URLSearchParams(String(init?.body ?? '')).entries()),
      redirect: init?.redirect,
      hasSignal: init?.signal instanceof AbortSignal,
    };
    requests.push(request);
    const scripted = replies[Math.min(requests.length - 1, replies.length - 1)];
    if (scripted === undefined) throw new Error('no reply scripted');
    const reply = typeof scripted === 'function' ? scripted(request) : scripted;
    if (reply instanceof Error) throw reply;
    return reply.clone();
  }) as typeof globalThis.fetch;
  return { fetch, requests };
}

export const tokenResponse = (accessToken: string, expiresIn: number | undefined = 3600) =>
  json(
    200,
    expiresIn === undefined ? { access_token: accessToken } : { access_token: accessToken, expires_in: expiresIn },
  );

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

export const oauthError = (status: number, error: string, description: string) =>
  json(status, { error, error_description: description });

export const networkError = () =>
  Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
  });

export const noSleep = { sleep: async () => undefined, random: () => 0 };

/** Namespace secrets in memory, located as Secrets Manager would name them. */
export class InMemorySecrets implements NamespaceSecrets {
  readonly kind = 'Secrets Manager';
  readonly reads: string[] = [];
  readonly invalidated: string[] = [];
  private readonly values = new Map<string, SecretValues>();

  set(namespace: string, name: string, values: SecretValues): this {
    this.values.set(`${namespace}/${name}`, values);
    return this;
  }

  delete(namespace: string, name: string): void {
    this.values.delete(`${namespace}/${name}`);
  }

  locate(namespace: string, name: string): string {
    return `Secrets Manager secret 'flyte/${namespace}/${name}'`;
  }

  async read(namespace: string, name: string): Promise<SecretValues | undefined> {
    this.reads.push(`${namespace}/${name}`);
    return this.values.get(`${namespace}/${name}`);
  }

  invalidate(namespace: string, name: string): void {
    this.invalidated.push(`${namespace}/${name}`);
  }
}

export class FakeKubernetes implements KubernetesPort {
  readonly tokenRequests: { namespace: string; serviceAccount: string; audience: string; expirationSeconds: number }[] =
    [];
  constructor(private readonly mint: (n: number) => string = (n) => `k8s-jwt-${n}`) {}

  async listDatabricksServiceAccounts(): Promise<DatabricksServiceAccount[]> {
    return [];
  }

  async createServiceAccountToken(
    namespace: string,
    serviceAccount: string,
    audience: string,
    expirationSeconds: number,
  ): Promise<string> {
    this.tokenRequests.push({ namespace, serviceAccount, audience, expirationSeconds });
    return this.mint(this.tokenRequests.length);
  }

  async readSecret(): Promise<Record<string, string> | undefined> {
    return undefined;
  }
}

export class FakeDiscovery implements ServiceAccountLookup {
  readonly discovered: string[] = [];
  readonly evicted: string[] = [];
  constructor(private readonly byNamespace: Record<string, DatabricksServiceAccount | Error> = {}) {}

  async discover(namespace: string): Promise<DatabricksServiceAccount | undefined> {
    this.discovered.push(namespace);
    const found = this.byNamespace[namespace];
    if (found instanceof Error) throw found;
    return found;
  }

  evict(namespace: string): void {
    this.evicted.push(namespace);
  }
}

export const kubernetesAccess = (port = new FakeKubernetes(), discovery = new FakeDiscovery()): KubernetesAccess => ({
  port,
  discovery,
});

/** A compact JWS-shaped string (header.payload.signature), enough for the subject-token shape check. */
export function fakeJwt(subject: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ sub: subject, aud: 'databricks' })}.c2lnbmF0dXJl`;
}

export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection');
}

/**
 * AuthDeps for building strategies in a test: in-memory namespace secrets, a Secrets Manager source that caches
 * nothing, no Kubernetes, an STS client that is never called unless a test mocks it, a fresh token cache. Override
 * what the test is about.
 */
export function testAuthDeps(overrides: Partial<AuthDeps> & Pick<AuthDeps, 'config'>): AuthDeps {
  return {
    secrets: new InMemorySecrets(),
    secretsManager: new SecretsManagerSecrets(new SecretsManagerClient({ region: 'us-east-1' }), {
      nameTemplate: 'flyte/{namespace}/{name}',
      cacheMs: 0,
    }),
    kubernetes: async () => undefined,
    sts: () => new STSClient({ region: 'us-east-1' }),
    tokenCache: new TokenCache(),
    ...overrides,
  };
}
