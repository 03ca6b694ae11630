/**
 * The Kubernetes port over @kubernetes/client-node's CoreV1Api. Every failure becomes a ConnectorError that says
 * what was attempted and what to fix: denied and unauthenticated calls are permanent (AuthConfigError, naming the
 * RBAC rule), while 5xx, 429, timeouts and connection errors are transient so the SQS message is retried. Messages
 * carry the API's Status message at most, never a token or a secret value.
 */
import {
  ApiException,
  type ConfigurationOptions,
  CoreV1Api,
  type HttpLibrary,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  type ResponseContext,
  type V1ServiceAccount,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import { AuthConfigError, ConnectorError } from '../errors.js';
import { DeferError, MIN_ATTEMPT_TIME_MS, remainingMs } from '../invocation-deadline.js';
import type { DatabricksServiceAccount, KubernetesPort } from './kubernetes-port.js';

export const DATABRICKS_ENABLED_SELECTOR = 'flyte.org/databricks-enabled=true';
export const CLIENT_ID_ANNOTATION = 'flyte.org/databricks-client-id';
export const AUDIENCE_ANNOTATION = 'flyte.org/databricks-audience';
/** The workspace host(s), comma-separated, this ServiceAccount's identity may be exchanged at. */
export const HOST_ANNOTATION = 'flyte.org/databricks-host';

export interface ClientNodeKubernetesOptions {
  /** Where the API is, for messages (LoadedKubeConfig.describe()). */
  describe?: string;
  /**
   * Per request; client-node sets none, and a hung call would otherwise eat the whole Lambda timeout. Shortened to
   * what is left of the invocation's deadline (shared/invocation-deadline.ts).
   */
  timeoutMs?: number;
}

/** What a call was, for messages: the verb and resource as RBAC names them. */
interface Operation {
  verb: 'get' | 'list' | 'create';
  resource: 'serviceaccounts' | 'serviceaccounts/token' | 'secrets';
  namespace: string;
  name?: string;
  /** The rule that grants it (upstream's RBAC section). */
  rule: string;
}

const RULES = {
  serviceaccounts: 'apiGroups [""], resources ["serviceaccounts"], verbs ["get", "list"]',
  token: 'apiGroups [""], resources ["serviceaccounts/token"], verbs ["create"]',
  secrets: 'apiGroups [""], resources ["secrets"], verbs ["get"]',
} as const;

const TLS_TRUST_ERRORS =
  /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_CERT_ALTNAME)/;

export class ClientNodeKubernetes implements KubernetesPort {
  private readonly api: CoreV1Api;
  private readonly callOptions: ConfigurationOptions;
  private readonly where: string;

  constructor(kubeConfig: KubeConfig, options: ClientNodeKubernetesOptions = {}) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
    // Per-call options are the only typed way to change a makeApiClient client; an HTTP library (unlike a
    // middleware, whose typing in 2.0.1 disagrees with what runs) passes through unchanged.
    this.callOptions = { httpApi: withTimeout(options.timeoutMs ?? 10_000) };
    this.where = options.describe ?? `Kubernetes API ${kubeConfig.getCurrentCluster()?.server ?? '(no cluster)'}`;
  }

  async listDatabricksServiceAccounts(namespace: string): Promise<DatabricksServiceAccount[]> {
    const op: Operation = { verb: 'list', resource: 'serviceaccounts', namespace, rule: RULES.serviceaccounts };
    const list = await this.call(op, () =>
      this.api.listNamespacedServiceAccount(
        { namespace, labelSelector: DATABRICKS_ENABLED_SELECTOR },
        this.callOptions,
      ),
    );
    return list.items.flatMap(toDatabricksServiceAccount);
  }

  async createServiceAccountToken(
    namespace: string,
    serviceAccount: string,
    audience: string,
    expirationSeconds: number,
  ): Promise<string> {
    const op: Operation = {
      verb: 'create',
      resource: 'serviceaccounts/token',
      namespace,
      name: serviceAccount,
      rule: RULES.token,
    };
    const body = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      // No boundObjectRef: the token lives for expirationSeconds, not for some pod's lifetime (upstream parity).
      spec: { audiences: [audience], expirationSeconds },
    };
    const response = await this.call(
      op,
      () => this.api.createNamespacedServiceAccountToken({ name: serviceAccount, namespace, body }, this.callOptions),
      (status) => {
        if (status !== 404) return undefined;
        throw new AuthConfigError(
          `ServiceAccount '${namespace}/${serviceAccount}' not found (${this.where}): it was deleted or renamed ` +
            'after the job chose it; submit the job again to discover the namespace afresh',
        );
      },
    );
    const token = response.status?.token;
    if (!token) {
      throw new AuthConfigError(
        `TokenRequest for ServiceAccount '${namespace}/${serviceAccount}' returned no token (${this.where})`,
      );
    }
    return token;
  }

  async readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const op: Operation = { verb: 'get', resource: 'secrets', namespace, name, rule: RULES.secrets };
    const secret = await this.call(
      op,
      () => this.api.readNamespacedSecret({ name, namespace }, this.callOptions),
      // Missing is an answer (the caller falls back and says so); 403 is not, and is mapped below.
      (status) => (status === 404 ? { value: undefined } : undefined),
    );
    if (secret === undefined) return undefined;
    // Secret data is base64 on the wire; values are read as UTF-8 text, as upstream does.
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
    );
  }

  /**
   * Runs one API call and maps its failure. `onStatus` may answer a status with a value (or throw its own error)
   * before the generic mapping applies.
   */
  private async call<T, S = never>(
    op: Operation,
    request: () => Promise<T>,
    onStatus?: (status: number) => { value: S } | undefined,
  ): Promise<T | S> {
    try {
      return await request();
    } catch (error) {
      const answer = error instanceof ApiException ? onStatus?.(error.code) : undefined;
      if (answer) return answer.value;
      throw this.mapError(error, op);
    }
  }

  private mapError(error: unknown, op: Operation): ConnectorError {
    if (error instanceof ConnectorError) return error;
    const target = `${op.resource}${op.name ? ` '${op.name}'` : ''} in namespace '${op.namespace}'`;
    // Cut short by the invocation's deadline (or not started): the record is deferred, not failed.
    if (error instanceof OutOfTime) {
      return new DeferError(
        `${error.started ? 'No answer in time' : 'No time left in this invocation'} to ${op.verb} ${target} ` +
          `at ${this.where}`,
        1,
        { reason: 'kubernetes', cause: error.cause },
      );
    }
    if (error instanceof ApiException) {
      const code: number = error.code;
      const said = statusMessage(error.body);
      const detail = said ? ` Kubernetes said: ${said}` : '';
      if (code === 401) {
        return new AuthConfigError(
          `the Kubernetes API rejected the connector's credentials (${this.where}) when trying to ${op.verb} ${target}: ` +
            'check the identity it authenticates as (on EKS: an access entry for the function role).' +
            detail,
          error,
        );
      }
      if (code === 403) {
        return new AuthConfigError(
          `Forbidden: the connector may not ${op.verb} ${target} (${this.where}). Grant its identity the RBAC rule ` +
            `{${op.rule}} through a ClusterRole, or a Role and RoleBinding in '${op.namespace}'.${detail}`,
          error,
        );
      }
      const transient = code >= 500 || code === 429 || code === 408;
      return new ConnectorError(
        `Kubernetes API returned HTTP ${code} to ${op.verb} ${target} (${this.where}).${detail}`,
        {
          permanent: !transient,
          cause: error,
        },
      );
    }
    const reason = networkReason(error);
    if (reason && TLS_TRUST_ERRORS.test(reason)) {
      return new AuthConfigError(
        `Could not verify the Kubernetes API's TLS certificate (${reason}) at ${this.where}: set KUBERNETES_CA_DATA ` +
          "to the cluster's CA (EKS certificateAuthority.data)",
        error,
      );
    }
    // Connection refused/reset, DNS, timeouts, and anything unforeseen: retrying may help. Never echo the
    // error's message, which for a malformed response could quote the body (a secret's data).
    return new ConnectorError(
      `Could not ${op.verb} ${target} at ${this.where}: ${reason ?? 'unexpected error'}; will retry`,
      { permanent: false, cause: error },
    );
  }
}

function toDatabricksServiceAccount(sa: V1ServiceAccount): DatabricksServiceAccount[] {
  const name = sa.metadata?.name;
  const annotations = sa.metadata?.annotations ?? {};
  const clientId = annotations[CLIENT_ID_ANNOTATION]?.trim();
  // Upstream skips a labelled ServiceAccount whose client id is empty or whitespace.
  if (!name || !clientId) return [];
  const audience = annotations[AUDIENCE_ANNOTATION]?.trim();
  const hosts = annotations[HOST_ANNOTATION]?.trim();
  return [{ name, clientId, audience: audience || undefined, hosts: hosts || undefined }];
}

/** A Status object's `message`; client-node 2.x hands error bodies over as unparsed text. */
function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { kind, message } = parsed as { kind?: unknown; message?: unknown };
  if (kind !== 'Status' || typeof message !== 'string') return undefined;
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/** A short, safe reason for a transport failure: an error code or name, such as ECONNREFUSED or TimeoutError. */
function networkReason(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return `${e.name} (no answer in time)`;
  }
  return error instanceof Error ? error.name : undefined;
}

/** A request the invocation's deadline did not leave time for (`started`: it was cut short, else never sent). */
class OutOfTime extends Error {
  constructor(
    readonly started: boolean,
    cause?: unknown,
  ) {
    super('no time left in this invocation', { cause });
    this.name = 'OutOfTime';
  }
}

/**
 * The default fetch-based HTTP library (undici fetch, client-node 2.0.1), with an abort signal on every request: the
 * timeout, or what is left of the invocation's deadline when that is shorter. The signal covers the body too.
 * client-node makes one attempt per call, so there is no retry to bound.
 */
function withTimeout(timeoutMs: number): HttpLibrary {
  const inner = new IsomorphicFetchHttpLibrary();
  return wrapHttpLibrary({
    async send(request) {
      const left = remainingMs();
      if (left < MIN_ATTEMPT_TIME_MS) throw new OutOfTime(false);
      const byDeadline = left < timeoutMs;
      const signal = AbortSignal.timeout(Math.min(timeoutMs, left));
      const translate = (error: unknown) => (byDeadline && signal.aborted ? new OutOfTime(true, error) : error);
      request.setSignal(signal);
      let response: ResponseContext;
      try {
        response = await inner.send(request).toPromise();
      } catch (error) {
        throw translate(error);
      }
      // The body is read after this returns (by the API's response processor), under the same signal.
      const { body } = response;
      response.body = {
        text: () => body.text().catch((error: unknown) => Promise.reject(translate(error))),
        binary: () => body.binary().catch((error: unknown) => Promise.reject(translate(error))),
        stream: () => body.stream(),
      };
      return response;
    },
  });
}
