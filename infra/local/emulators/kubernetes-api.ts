/**
 * Kubernetes API server emulator, the subset the connector uses (shared/kube/kubernetes-port.ts): list and get
 * ServiceAccounts, TokenRequest (`serviceaccounts/<name>/token`), get Secrets, and the service-account issuer's
 * discovery document and JWKS. Bearer-token authentication (static tokens and EKS `k8s-aws-v1.` tokens), an RBAC
 * hook, request and TokenRequest logs, and injectable faults. Binds 127.0.0.1 only; plain http.
 *
 * Verified:
 * - Status objects: `{kind:"Status",apiVersion:"v1",metadata:{},status:"Failure",message,reason,details,code}`;
 *   NotFound `<resource> "<name>" not found` with details {name, kind: <resource>}; Forbidden `<resource>
 *   ["<name>"] is forbidden: User "<u>" cannot <verb> resource "<resource>[/<subresource>]" in API group "" in the
 *   namespace "<ns>"`, details {name?, kind: <resource>} (apiserver responsewriters/errors.go `forbiddenMessage`,
 *   apimachinery errors `NewForbidden`, `NewNotFound`). An unauthenticated request is 401 with exactly
 *   `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":
 *   "Unauthorized","code":401}` and the newline Go's json.Encoder appends (Content-Length 129), `Content-Type:
 *   application/json`, `Cache-Control: no-cache, private` (nmap fingerprints of real API servers, unauthenticated
 *   `GET /`).
 * - TokenRequest (pkg/registry/core/serviceaccount/storage/token.go, current): body name/namespace, when set, must
 *   match the URL, else 422 Invalid `TokenRequest.authentication.k8s.io "<sa>" is invalid: metadata.name: Invalid
 *   value: "<x>": must match the service account name if specified`; then the ServiceAccount lookup (404); then empty
 *   audiences default to the API server's audiences; then validation: expirationSeconds < 600 or > 2^32 is 422 Invalid
 *   (not 400) `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not
 *   specify a duration less than 10 minutes` (message confirmed by a kubectl transcript), causes [{reason:
 *   FieldValueInvalid, message, field}]; a server maximum shortens the expiration with a Warning; expirationSeconds
 *   defaults to 3600 (authentication/v1 defaults). The response echoes the request with metadata name, namespace and
 *   creationTimestamp, and status {token, expirationTimestamp = now + expirationSeconds}.
 * - Token claims (pkg/serviceaccount/claims.go): iss, sub `system:serviceaccount:<ns>:<sa>`, aud (array), iat, nbf,
 *   exp, and `kubernetes.io: {namespace, serviceaccount: {name, uid}}` (pod/secret/node only for bound tokens).
 * - Discovery at `/.well-known/openid-configuration`, JWKS at `/openid/v1/jwks` (served unauthenticated here, as EKS's
 *   public OIDC endpoint is).
 * - @kubernetes/client-node 2.0.1 (read in node_modules): accepts 200/201/202 for create, throws ApiException(code,
 *   body text) otherwise; a 401 is thrown without the body; it needs a JSON Content-Type. It refuses an `http://`
 *   server unless the cluster has `skipTLSVerify: true`, so point a KubeConfig at this emulator with that set.
 *
 * Assumed (not verified): TokenRequest answers 201 Created; jti present (ServiceAccountTokenJTI, on by default since
 * 1.30); missing credentials are always 401 (a cluster with anonymous auth and RBAC for system:anonymous would
 * answer 403 instead); unknown paths are 404 "the server could not find the requested resource" (that message and
 * reason are the API server's) with details {}, after RBAC on the parsed resource; every bearer token that is not a
 * static one goes to the EKS check when EKS tokens are enabled (as to the authenticator webhook); unsupported
 * methods on served resources are 405 MethodNotAllowed (the real server supports more verbs); messages for malformed
 * bodies (400) and a non-JSON Content-Type (415); label selector parse errors are 400 BadRequest; the all-namespaces
 * list (`/api/v1/serviceaccounts`) and watches are not served.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyEksToken } from './kubernetes-eks-token.js';
import { LabelSelectorError, matchesLabelSelector, parseLabelSelector } from './kubernetes-label-selector.js';
import { createOidcIssuer, type OidcIssuer, oidcRoute } from './oidc-issuer.js';

export interface KubernetesIdentity {
  user: string;
  groups?: string[];
}

/** `resource` is `serviceaccounts`, `serviceaccounts/token` or `secrets`; returns whether the request is allowed. */
export type RbacCheck = (user: string, verb: string, resource: string, namespace: string, name?: string) => boolean;

export interface AcceptEksTokens {
  /** STS region of the presigned URL (its regional host, or the global one). */
  region?: string;
  /** accessKeyId -> secretAccessKey known to the emulated STS. */
  credentials: Record<string, string>;
  accountId?: string;
  /** The Kubernetes user name for a key; default `arn:aws:iam::<accountId>:role/<accessKeyId>`. */
  principalFor?: (accessKeyId: string) => string;
}

export interface KubernetesApiOptions {
  port?: number;
  /** Checked against the signed `x-k8s-aws-id` of EKS tokens. */
  clusterName?: string;
  /** Static bearer tokens. */
  tokens?: Record<string, KubernetesIdentity>;
  acceptEksTokens?: AcceptEksTokens;
  /** Default: allow everything. Denials added with `deny` are checked first. */
  rbac?: RbacCheck;
  /** Milliseconds since the epoch; defaults to Date.now. */
  clock?: () => number;
  /** Audiences for a TokenRequest without any (`--api-audiences`); default [issuer]. */
  apiAudiences?: string[];
  /** `--service-account-max-token-expiration`: longer requests are shortened, with a Warning header. */
  maxTokenExpirationSeconds?: number;
}

export type KubernetesRoute = 'list-serviceaccounts' | 'get-serviceaccount' | 'create-token' | 'get-secret' | 'oidc';

/**
 * An HTTP error answered instead of the real handler (body defaults to a Status object), `'reset'` (socket destroyed
 * before handling) or `'reset-after'` (handled, e.g. a token minted and logged, then the socket destroyed).
 */
export type KubernetesFault =
  | { status: number; body?: object | string; headers?: Record<string, string> }
  | 'reset'
  | 'reset-after';

/** `status` 0 means the socket was destroyed. */
export interface RecordedKubernetesRequest {
  method: string;
  path: string;
  query: string;
  status: number;
  user: string | undefined;
  /** Why authentication failed, for 401s. */
  authError?: string;
}

export interface TokenRequestRecord {
  namespace: string;
  serviceAccount: string;
  audiences: string[];
  expirationSeconds: number;
  requester: string;
  token: string;
  expirationTimestamp: string;
}

export interface DenyRule {
  verb?: string;
  resource?: string;
  namespace?: string;
  name?: string;
}

export interface KubernetesApi {
  readonly url: string;
  /** The service-account issuer (`iss`) = url. */
  readonly issuer: string;
  readonly oidc: OidcIssuer;
  readonly clusterName: string;
  addServiceAccount(
    namespace: string,
    name: string,
    meta?: { labels?: Record<string, string>; annotations?: Record<string, string> },
  ): { uid: string };
  deleteServiceAccount(namespace: string, name: string): boolean;
  /** Stores `data` base64-encoded, as the API does. */
  putSecret(namespace: string, name: string, data: Record<string, string>, type?: string): void;
  deleteSecret(namespace: string, name: string): boolean;
  addToken(token: string, identity: KubernetesIdentity): void;
  removeToken(token: string): void;
  /** Denies matching requests of a user (or of the user behind a static token); unset rule fields match anything. */
  deny(subject: string, rule?: DenyRule): void;
  clearDenials(): void;
  setRbac(rbac: RbacCheck | undefined): void;
  readonly tokenRequests: readonly TokenRequestRecord[];
  readonly requests: readonly RecordedKubernetesRequest[];
  injectFaults(route: KubernetesRoute | 'any', faults: KubernetesFault[]): void;
  close(): Promise<void>;
}

interface StoredObject {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

interface StoredSecret extends StoredObject {
  data: Record<string, string>;
  type: string;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface Caller {
  user: string;
  groups: string[];
  token: string;
}

const TOKEN_REQUEST_GROUP = 'authentication.k8s.io';
const MIN_EXPIRATION = 600;
const MAX_EXPIRATION = 2 ** 32;
const RESOURCE_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?\/?$/;

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>): object {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

const failure = (code: number, reason: string, message: string, details?: Record<string, unknown>): Reply => ({
  status: code,
  body: statusBody(code, reason, message, details),
});

const notFound = (resource: string, name: string): Reply =>
  failure(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });

const badRequest = (message: string): Reply => failure(400, 'BadRequest', message);

function invalidTokenRequest(name: string, field: string, value: string, detail: string): Reply {
  const body = `Invalid value: ${value}: ${detail}`;
  return failure(422, 'Invalid', `TokenRequest.${TOKEN_REQUEST_GROUP} "${name}" is invalid: ${field}: ${body}`, {
    ...(name ? { name } : {}),
    group: TOKEN_REQUEST_GROUP,
    kind: 'TokenRequest',
    causes: [{ reason: 'FieldValueInvalid', message: body, field }],
  });
}

const DEFAULT_REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function verbFor(method: string, name: string | undefined, query: URLSearchParams): string {
  switch (method) {
    case 'GET':
    case 'HEAD': {
      if (name) return 'get';
      const watch = query.get('watch');
      return watch === 'true' || watch === '1' ? 'watch' : 'list';
    }
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function meta(object: StoredObject): Record<string, unknown> {
  return {
    name: object.name,
    namespace: object.namespace,
    uid: object.uid,
    resourceVersion: object.resourceVersion,
    creationTimestamp: object.creationTimestamp,
    ...(Object.keys(object.labels).length ? { labels: { ...object.labels } } : {}),
    ...(Object.keys(object.annotations).length ? { annotations: { ...object.annotations } } : {}),
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export async function startKubernetesApi(options: KubernetesApiOptions = {}): Promise<KubernetesApi> {
  const clusterName = options.clusterName ?? 'local-eks';
  const clock = options.clock ?? Date.now;
  const tokens = new Map(Object.entries(options.tokens ?? {}));
  const serviceAccounts = new Map<string, StoredObject>();
  const secrets = new Map<string, StoredSecret>();
  const denials: { subject: string; rule: DenyRule }[] = [];
  const requests: RecordedKubernetesRequest[] = [];
  const tokenRequests: TokenRequestRecord[] = [];
  const faults = new Map<KubernetesRoute | 'any', KubernetesFault[]>();
  let rbac = options.rbac;
  let resourceVersion = 1000;
  const key = (namespace: string, name: string): string => `${namespace}/${name}`;

  function newObject(namespace: string, name: string, existing?: StoredObject): StoredObject {
    return {
      name,
      namespace,
      uid: existing?.uid ?? randomUUID(),
      resourceVersion: String(++resourceVersion),
      creationTimestamp: existing?.creationTimestamp ?? rfc3339(clock()),
      labels: {},
      annotations: {},
    };
  }

  function authenticate(req: IncomingMessage): Caller | { error: string } {
    const header = req.headers.authorization;
    if (!header) return { error: 'no credentials' };
    const parts = header.split(' ');
    if (parts.length < 2 || parts[0]?.toLowerCase() !== 'bearer' || !parts[1]) {
      return { error: 'not a bearer token' };
    }
    const token = parts[1];
    const known = tokens.get(token);
    if (known) {
      const groups = [...new Set([...(known.groups ?? []), 'system:authenticated'])];
      return { user: known.user, groups, token };
    }
    // As with the authenticator webhook on EKS: every token no other authenticator recognised goes to it.
    if (options.acceptEksTokens) {
      const eks = options.acceptEksTokens;
      const result = verifyEksToken(token, {
        clusterName,
        region: eks.region ?? 'us-east-1',
        credentials: eks.credentials,
        now: clock(),
      });
      if (!result.ok) return { error: result.reason };
      const user = eks.principalFor
        ? eks.principalFor(result.accessKeyId)
        : `arn:aws:iam::${eks.accountId ?? '123456789012'}:role/${result.accessKeyId}`;
      return { user, groups: ['system:authenticated'], token };
    }
    return { error: 'unknown bearer token' };
  }

  function allowed(caller: Caller, verb: string, resource: string, namespace: string, name?: string): boolean {
    const denied = denials.some(
      ({ subject, rule }) =>
        (subject === caller.user || subject === caller.token) &&
        (rule.verb === undefined || rule.verb === verb) &&
        (rule.resource === undefined || rule.resource === resource) &&
        (rule.namespace === undefined || rule.namespace === namespace) &&
        (rule.name === undefined || rule.name === name),
    );
    if (denied) return false;
    return rbac ? rbac(caller.user, verb, resource, namespace, name) : true;
  }

  function listServiceAccounts(namespace: string, query: URLSearchParams): Reply {
    let requirements: ReturnType<typeof parseLabelSelector>;
    try {
      requirements = parseLabelSelector(query.get('labelSelector') ?? '');
    } catch (err) {
      if (err instanceof LabelSelectorError) return badRequest(err.message);
      throw err;
    }
    const items = [...serviceAccounts.values()]
      .filter((sa) => sa.namespace === namespace && matchesLabelSelector(requirements, sa.labels))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((sa) => ({ metadata: meta(sa) }));
    return {
      status: 200,
      body: {
        kind: 'ServiceAccountList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(resourceVersion) },
        items,
      },
    };
  }

  async function createToken(
    namespace: string,
    name: string,
    raw: string,
    req: IncomingMessage,
    caller: Caller,
  ): Promise<Reply> {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (contentType !== 'application/json' && !contentType.endsWith('+json')) {
      return failure(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
      );
    }
    let body: unknown;
    try {
      body = raw.trim() === '' ? {} : JSON.parse(raw);
    } catch (err) {
      return badRequest(`the object provided is unrecognized (must be of type TokenRequest): ${String(err)}`);
    }
    if (!isRecord(body)) return badRequest('the object provided is unrecognized (must be of type TokenRequest)');
    if (body.apiVersion !== undefined && body.apiVersion !== `${TOKEN_REQUEST_GROUP}/v1`) {
      return badRequest(
        `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${TOKEN_REQUEST_GROUP}/v1)`,
      );
    }
    if (body.kind !== undefined && body.kind !== 'TokenRequest') {
      return badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (TokenRequest)`);
    }
    const metadata = isRecord(body.metadata) ? body.metadata : {};
    const spec = body.spec === undefined || body.spec === null ? {} : body.spec;
    if (!isRecord(spec)) return badRequest('TokenRequest in version "v1" cannot be handled as a TokenRequest: spec');
    const audiences = spec.audiences ?? [];
    if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== 'string')) {
      return badRequest(
        'TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal into Go struct field TokenRequestSpec.spec.audiences of type []string',
      );
    }
    const requested = spec.expirationSeconds ?? 3600;
    if (typeof requested !== 'number' || !Number.isInteger(requested)) {
      return badRequest(
        'TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal into Go struct field TokenRequestSpec.spec.expirationSeconds of type int64',
      );
    }
    if (typeof metadata.name === 'string' && metadata.name !== '' && metadata.name !== name) {
      return invalidTokenRequest(
        name,
        'metadata.name',
        `"${metadata.name}"`,
        'must match the service account name if specified',
      );
    }
    if (typeof metadata.namespace === 'string' && metadata.namespace !== '' && metadata.namespace !== namespace) {
      return invalidTokenRequest(
        name,
        'metadata.namespace',
        `"${metadata.namespace}"`,
        'must match the service account namespace if specified',
      );
    }
    const sa = serviceAccounts.get(key(namespace, name));
    if (!sa) return notFound('serviceaccounts', name);
    const finalAudiences = audiences.length > 0 ? (audiences as string[]) : (options.apiAudiences ?? [issuer.issuer]);
    if (requested < MIN_EXPIRATION) {
      return invalidTokenRequest(
        '',
        'spec.expirationSeconds',
        String(requested),
        'may not specify a duration less than 10 minutes',
      );
    }
    if (requested > MAX_EXPIRATION) {
      return invalidTokenRequest(
        '',
        'spec.expirationSeconds',
        String(requested),
        'may not specify a duration larger than 2^32 seconds',
      );
    }
    const headers: Record<string, string> = {};
    let expirationSeconds = requested;
    const max = options.maxTokenExpirationSeconds;
    if (max !== undefined && max > 0 && requested > max) {
      headers.Warning = `299 - "requested expiration of ${requested} seconds shortened to ${max} seconds"`;
      expirationSeconds = max;
    }
    const now = clock();
    const token = await issuer.sign({
      sub: `system:serviceaccount:${namespace}:${name}`,
      aud: [...finalAudiences],
      expiresInSeconds: expirationSeconds,
      extra: { 'kubernetes.io': { namespace, serviceaccount: { name, uid: sa.uid } } },
    });
    const expirationTimestamp = rfc3339(now + expirationSeconds * 1000);
    tokenRequests.push({
      namespace,
      serviceAccount: name,
      audiences: [...finalAudiences],
      expirationSeconds,
      requester: caller.user,
      token,
      expirationTimestamp,
    });
    return {
      status: 201,
      headers,
      body: {
        kind: 'TokenRequest',
        apiVersion: `${TOKEN_REQUEST_GROUP}/v1`,
        metadata: { name, namespace, creationTimestamp: rfc3339(now) },
        spec: { audiences: [...finalAudiences], expirationSeconds, boundObjectRef: null },
        status: { token, expirationTimestamp },
      },
    };
  }

  function routeOf(method: string, pathname: string): KubernetesRoute | undefined {
    if (oidcRoute(issuer, 'GET', pathname)) return 'oidc';
    const m = RESOURCE_PATH.exec(pathname);
    if (!m) return undefined;
    const [, , resource, name, sub] = m;
    if (resource === 'serviceaccounts' && !name && method === 'GET') return 'list-serviceaccounts';
    if (resource === 'serviceaccounts' && name && !sub && method === 'GET') return 'get-serviceaccount';
    if (resource === 'serviceaccounts' && name && sub === 'token' && method === 'POST') return 'create-token';
    if (resource === 'secrets' && name && !sub && method === 'GET') return 'get-secret';
    return undefined;
  }

  async function handle(
    method: string,
    url: URL,
    raw: string,
    req: IncomingMessage,
    record: Partial<RecordedKubernetesRequest>,
  ): Promise<Reply> {
    const caller = authenticate(req);
    if ('error' in caller) {
      record.authError = caller.error;
      return failure(401, 'Unauthorized', 'Unauthorized');
    }
    record.user = caller.user;
    const m = RESOURCE_PATH.exec(url.pathname);
    if (!m) return failure(404, 'NotFound', 'the server could not find the requested resource', {});
    const [namespace, resource, name, subresource] = m
      .slice(1)
      .map((part) => (part === undefined ? undefined : decodeURIComponent(part))) as [
      string,
      string,
      string | undefined,
      string | undefined,
    ];
    const verb = verbFor(method, name, url.searchParams);
    const fullResource = subresource ? `${resource}/${subresource}` : resource;
    if (!allowed(caller, verb, fullResource, namespace, name)) {
      const subject = name ? `${resource} "${name}"` : resource;
      return failure(
        403,
        'Forbidden',
        `${subject} is forbidden: User "${caller.user}" cannot ${verb} resource "${fullResource}" in API group "" in the namespace "${namespace}"`,
        name ? { name, kind: resource } : { kind: resource },
      );
    }
    if (resource === 'serviceaccounts' && !name && verb === 'list')
      return listServiceAccounts(namespace, url.searchParams);
    if (resource === 'serviceaccounts' && name && !subresource && verb === 'get') {
      const sa = serviceAccounts.get(key(namespace, name));
      return sa
        ? { status: 200, body: { kind: 'ServiceAccount', apiVersion: 'v1', metadata: meta(sa) } }
        : notFound('serviceaccounts', name);
    }
    if (resource === 'serviceaccounts' && name && subresource === 'token' && verb === 'create') {
      return createToken(namespace, name, raw, req, caller);
    }
    if (resource === 'secrets' && name && !subresource && verb === 'get') {
      const secret = secrets.get(key(namespace, name));
      return secret
        ? {
            status: 200,
            body: {
              kind: 'Secret',
              apiVersion: 'v1',
              metadata: meta(secret),
              data: { ...secret.data },
              type: secret.type,
            },
          }
        : notFound('secrets', name);
    }
    const served =
      (resource === 'serviceaccounts' && (subresource === undefined || subresource === 'token')) ||
      (resource === 'secrets' && subresource === undefined);
    return served
      ? failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {})
      : failure(404, 'NotFound', 'the server could not find the requested resource', {});
  }

  function takeFault(route: KubernetesRoute | undefined): KubernetesFault | undefined {
    const specific = route ? faults.get(route) : undefined;
    if (specific && specific.length > 0) return specific.shift();
    return faults.get('any')?.shift();
  }

  function send(res: ServerResponse, reply: Reply, method: string): void {
    // The API server's JSON encoder (Go json.Encoder) ends every object with a newline.
    const text = typeof reply.body === 'string' ? reply.body : `${JSON.stringify(reply.body)}\n`;
    res.writeHead(reply.status, {
      'Content-Type': typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-cache, private',
      'Audit-Id': randomUUID(),
      ...reply.headers,
    });
    res.end(method === 'HEAD' ? undefined : text);
  }

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record: Partial<RecordedKubernetesRequest> = {};
    const log = (status: number): void => {
      requests.push({
        method,
        path: url.pathname,
        query: url.search,
        status,
        user: record.user,
        ...(record.authError !== undefined ? { authError: record.authError } : {}),
      });
    };
    readBody(req)
      .then(async (raw) => {
        const fault = takeFault(routeOf(method, url.pathname));
        if (fault === 'reset') {
          log(0);
          req.socket.destroy();
          return;
        }
        if (fault && fault !== 'reset-after') {
          log(fault.status);
          const reason = DEFAULT_REASONS[fault.status] ?? 'InternalError';
          send(
            res,
            {
              status: fault.status,
              body: fault.body ?? statusBody(fault.status, reason, `injected fault: ${reason}`, {}),
              ...(fault.headers ? { headers: fault.headers } : {}),
            },
            method,
          );
          return;
        }
        const oidc = oidcRoute(issuer, method, url.pathname);
        if (oidc) {
          log(oidc.status);
          res.writeHead(oidc.status, { ...oidc.headers, 'Content-Length': Buffer.byteLength(oidc.body) });
          res.end(method === 'HEAD' ? undefined : oidc.body);
          return;
        }
        const reply = await handle(method, url, raw, req, record);
        if (fault === 'reset-after') {
          log(0);
          req.socket.destroy();
          return;
        }
        log(reply.status);
        send(res, reply, method);
      })
      .catch((err: unknown) => {
        log(500);
        if (!res.headersSent)
          send(res, failure(500, 'InternalError', `Internal error occurred: ${String(err)}`), method);
        else req.socket.destroy();
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = await createOidcIssuer({ issuerUrl: url, algorithm: 'RS256', jwksPath: '/openid/v1/jwks', clock });

  return {
    url,
    issuer: issuer.issuer,
    oidc: issuer,
    clusterName,
    addServiceAccount(namespace, name, extra = {}) {
      const existing = serviceAccounts.get(key(namespace, name));
      const sa = newObject(namespace, name, existing);
      sa.labels = { ...extra.labels };
      sa.annotations = { ...extra.annotations };
      serviceAccounts.set(key(namespace, name), sa);
      return { uid: sa.uid };
    },
    deleteServiceAccount: (namespace, name) => serviceAccounts.delete(key(namespace, name)),
    putSecret(namespace, name, data, type = 'Opaque') {
      const existing = secrets.get(key(namespace, name));
      const encoded = Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
      );
      secrets.set(key(namespace, name), { ...newObject(namespace, name, existing), data: encoded, type });
    },
    deleteSecret: (namespace, name) => secrets.delete(key(namespace, name)),
    addToken: (token, identity) => void tokens.set(token, identity),
    removeToken: (token) => void tokens.delete(token),
    deny: (subject, rule = {}) => void denials.push({ subject, rule: { ...rule } }),
    clearDenials: () => void denials.splice(0),
    setRbac: (check) => {
      rbac = check;
    },
    tokenRequests,
    requests,
    injectFaults: (route, list) => void faults.set(route, [...(faults.get(route) ?? []), ...list]),
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) return resolve();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
