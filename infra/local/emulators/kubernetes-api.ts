/**
 * Kubernetes API server emulator: what the connector uses (shared/kube/kubernetes-port.ts: list and get
 * ServiceAccounts, TokenRequest, get Secrets) and what an operator onboarding a namespace does with kubectl (discovery,
 * `get -A` as Tables, create / label / annotate ServiceAccounts, `create token`, `create secret generic`), plus the
 * service-account issuer's discovery document and JWKS. Bearer-token authentication (static tokens and EKS
 * `k8s-aws-v1.` tokens), an RBAC hook, request and TokenRequest logs, injectable faults. Binds 127.0.0.1; plain http
 * by default, or TLS with a CA it generates (`tls`, for kubectl; see writeKubeconfig). Objects: kubernetes-objects.ts,
 * discovery: kubernetes-discovery.ts, Tables: kubernetes-table.ts, Statuses: kubernetes-status.ts.
 *
 * Verified:
 * - Forbidden `<resource> ["<name>"] is forbidden: User "<u>" cannot <verb> resource "<resource>[/<sub>]" in API group
 *   "" in the namespace "<ns>"` (or `at the cluster scope`), details {name?, kind: <resource>} (apiserver
 *   responsewriters/errors.go). An unauthenticated request is 401 with exactly `{"kind":"Status","apiVersion":"v1",
 *   "metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}` and Go's newline
 *   (Content-Length 129), `Content-Type: application/json`, `Cache-Control: no-cache, private`.
 * - TokenRequest (pkg/registry/core/serviceaccount/storage/token.go): body name/namespace must match the URL (422);
 *   then the ServiceAccount lookup (404); empty audiences default to the API audiences; expirationSeconds < 600 or
 *   > 2^32 is 422 Invalid `spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10
 *   minutes`; a server maximum shortens it with a Warning; default 3600. The answer echoes the request with metadata
 *   and status {token, expirationTimestamp}. Claims (pkg/serviceaccount/claims.go): iss, sub
 *   `system:serviceaccount:<ns>:<sa>`, aud, iat, nbf, exp, `kubernetes.io: {namespace, serviceaccount: {name, uid}}`.
 * - kubectl 1.32 (run against this emulator at -v=8): `get` asks for Tables, `label`/`annotate` GET then PATCH with
 *   application/merge-patch+json, `create serviceaccount|secret` and `create token` POST protobuf bodies
 *   (kubernetes-protobuf.ts) accepting JSON back; on a NotFound it GETs the namespace to word the error; it needs the
 *   discovery documents.
 * - @kubernetes/client-node 2.0.1: accepts 200/201/202 for create; a 401 is thrown without the body; it refuses an
 *   `http://` server unless the cluster has `skipTLSVerify: true`.
 *
 * Assumed: every namespace exists (served read-only: kubectl GETs it to word a NotFound); TokenRequest answers 201; missing credentials are 401 (never anonymous); discovery needs authentication
 * but no RBAC (system:discovery), `/version` and health checks need neither; unknown paths 404 "the server could not
 * find the requested resource" after RBAC; every unknown bearer token goes to the EKS check when enabled; watches and
 * other verbs are 405 MethodNotAllowed; messages for malformed bodies (400) and other media types (415); the
 * request body limit is the API server's 3 MiB.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmulatorFault, type EmulatorReply, FaultQueue, startEmulatorServer } from './emulator-server.js';
import { createEmulatorCertificates } from './emulator-tls.js';
import { discovery, isPublicPath } from './kubernetes-discovery.js';
import { verifyEksToken } from './kubernetes-eks-token.js';
import { LabelSelectorError, parseLabelSelector } from './kubernetes-label-selector.js';
import { isRecord, KIND, type KubernetesObject, type KubernetesResource, ObjectStore } from './kubernetes-objects.js';
import { decodeProtobuf, PROTOBUF_MEDIA_TYPE } from './kubernetes-protobuf.js';
import {
  badRequest,
  DEFAULT_REASONS,
  failure,
  invalid,
  KubernetesError,
  type Reply,
  statusBody,
  toEmulatorReply,
} from './kubernetes-status.js';
import { table, wantsTable } from './kubernetes-table.js';
import { createOidcIssuer, type OidcIssuer, oidcRoute } from './oidc-issuer.js';

export { type KubeconfigOptions, writeKubeconfig } from './kubernetes-kubeconfig.js';
export type { KubernetesObject, KubernetesResource } from './kubernetes-objects.js';

export interface KubernetesIdentity {
  user: string;
  groups?: string[];
}

/** `resource` is e.g. `serviceaccounts`, `serviceaccounts/token` or `secrets`; returns whether the request is allowed. */
export type RbacCheck = (user: string, verb: string, resource: string, namespace: string, name?: string) => boolean;

export interface AcceptEksTokens {
  /** STS region of the emulated cluster (any regional STS host, and the global one, are accepted). */
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
  /**
   * Every bearer token authenticates (user `bearer:<sha256 prefix>`): for tests of what a client sends rather than
   * of what the server verifies. Static tokens and EKS tokens still map to their users.
   */
  acceptAnyBearerToken?: boolean;
  /** Default: allow everything. Denials added with `deny` are checked first. */
  rbac?: RbacCheck;
  /** Milliseconds since the epoch; defaults to Date.now. */
  clock?: () => number;
  /** Audiences for a TokenRequest without any (`--api-audiences`); default [issuer]. */
  apiAudiences?: string[];
  /** `--service-account-max-token-expiration`: longer requests are shortened, with a Warning header. */
  maxTokenExpirationSeconds?: number;
  /**
   * Serve https with a CA generated at start; its certificate is written to `<directory>/ca.crt` (default: a new
   * temporary folder, removed on close). Default off (plain http).
   */
  tls?: boolean | { directory?: string };
}

export type KubernetesRoute =
  | 'discovery'
  | 'list-serviceaccounts'
  | 'get-serviceaccount'
  | 'create-serviceaccount'
  | 'update-serviceaccount'
  | 'patch-serviceaccount'
  | 'delete-serviceaccount'
  | 'create-token'
  | 'list-secrets'
  | 'get-secret'
  | 'create-secret'
  | 'update-secret'
  | 'patch-secret'
  | 'delete-secret'
  | 'oidc';

/**
 * An HTTP error answered instead of the real handler (body defaults to a Status object), `'reset'` (socket destroyed
 * before handling), `'reset-after'` (handled, e.g. a token minted and logged, then the socket destroyed), `'hang'`
 * (never answered), `{ delayMs }` or `{ slowBodyMs }` (see emulator-server.ts).
 */
export type KubernetesFault = EmulatorFault;

/**
 * `status` 0 means no answer was sent. `authorization` (the header) and `body` (JSON-parsed when it is JSON) are
 * non-enumerable, so a logged or serialised record carries no credentials.
 */
export interface RecordedKubernetesRequest {
  method: string;
  path: string;
  query: string;
  status: number;
  user: string | undefined;
  /** Why authentication failed, for 401s. */
  authError?: string;
  readonly authorization?: string;
  readonly body?: unknown;
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
  /** `http://127.0.0.1:<port>`, or `https://` with `tls`. */
  readonly url: string;
  /** The service-account issuer (`iss`) = url. */
  readonly issuer: string;
  readonly oidc: OidcIssuer;
  readonly clusterName: string;
  /** With `tls`: the CA certificate (PEM) clients must trust, and the file it was written to. */
  readonly caCertificate: string | undefined;
  readonly caFile: string | undefined;
  addServiceAccount(
    namespace: string,
    name: string,
    meta?: { labels?: Record<string, string>; annotations?: Record<string, string> },
  ): { uid: string };
  deleteServiceAccount(namespace: string, name: string): boolean;
  /** Stores `data` base64-encoded, as the API does. */
  putSecret(namespace: string, name: string, data: Record<string, string>, type?: string): void;
  deleteSecret(namespace: string, name: string): boolean;
  /** The stored object as the API would serve it (a copy), or undefined. */
  getObject(resource: KubernetesResource, namespace: string, name: string): KubernetesObject | undefined;
  /** A Secret's data, decoded to UTF-8, or undefined when there is no such Secret. */
  readSecret(namespace: string, name: string): Record<string, string> | undefined;
  addToken(token: string, identity: KubernetesIdentity): void;
  removeToken(token: string): void;
  /** Denies matching requests of a user (or of the user behind a static token); unset rule fields match anything. */
  deny(subject: string, rule?: DenyRule): void;
  clearDenials(): void;
  setRbac(rbac: RbacCheck | undefined): void;
  readonly tokenRequests: readonly TokenRequestRecord[];
  readonly requests: readonly RecordedKubernetesRequest[];
  injectFaults(route: KubernetesRoute | 'any', faults: KubernetesFault[]): void;
  /** Empties the request and TokenRequest logs. Not for an emulator a fault feeder reads (it counts from the start). */
  clearLogs(): void;
  /** Forgets objects, namespaces, logs, queued faults and denials (tests sharing one emulator); clearLogs applies. */
  reset(): void;
  close(): Promise<void>;
}

interface Caller {
  user: string;
  groups: string[];
  token: string;
}

interface ParsedPath {
  namespace: string | undefined;
  resource: string;
  name: string | undefined;
  subresource: string | undefined;
}

const TOKEN_REQUEST_GROUP = 'authentication.k8s.io';
const MIN_EXPIRATION = 600;
const MAX_EXPIRATION = 2 ** 32;
const MAX_BODY_BYTES = 3 * 1024 * 1024;
const NAMESPACED_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?\/?$/;
const CLUSTER_PATH = /^\/api\/v1\/(serviceaccounts|secrets)\/?$/;
const NAMESPACE_PATH = /^\/api\/v1\/namespaces(?:\/([^/]+))?\/?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const BUILT_IN_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];
const SERVED: readonly string[] = ['serviceaccounts', 'secrets'];
const SINGULAR: Record<KubernetesResource, string> = { serviceaccounts: 'serviceaccount', secrets: 'secret' };
const PATCH_TYPES: Record<string, 'merge' | 'strategic'> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
};

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const mediaType = (req: IncomingMessage): string =>
  (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

function parsePath(pathname: string): ParsedPath | undefined {
  const cluster = CLUSTER_PATH.exec(pathname);
  if (cluster) return { namespace: undefined, resource: cluster[1] as string, name: undefined, subresource: undefined };
  const m = NAMESPACED_PATH.exec(pathname);
  if (!m) return undefined;
  const [namespace, resource, name, subresource] = m
    .slice(1)
    .map((part) => (part === undefined ? undefined : decodeURIComponent(part)));
  return { namespace: namespace as string, resource: resource as string, name, subresource };
}

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

function parseJson(raw: string, kind: string): unknown {
  try {
    return raw.trim() === '' ? {} : JSON.parse(raw);
  } catch (err) {
    throw badRequest(`the object provided is unrecognized (must be of type ${kind}): ${String(err)}`);
  }
}

/** A create or update body: JSON, or the protobuf kubectl's typed clients send. */
function decodeBody(req: IncomingMessage, body: Buffer, kind: string): unknown {
  const type = mediaType(req);
  if (type === PROTOBUF_MEDIA_TYPE) {
    try {
      return decodeProtobuf(body);
    } catch (err) {
      throw badRequest(`the object provided is unrecognized (must be of type ${kind}): ${String(err)}`);
    }
  }
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new KubernetesError(
      failure(
        415,
        'UnsupportedMediaType',
        'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf',
      ),
    );
  }
  return parseJson(body.toString('utf8'), kind);
}

function fieldSelector(text: string | null): { name?: string; namespace?: string } {
  const fields: { name?: string; namespace?: string } = {};
  for (const term of (text ?? '').split(',').filter((t) => t.trim() !== '')) {
    const m = /^\s*(metadata\.name|metadata\.namespace)\s*==?\s*([^,]*?)\s*$/.exec(term);
    if (!m)
      throw badRequest(
        `"${term.split(/[!=]/)[0]?.trim()}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
      );
    fields[m[1] === 'metadata.name' ? 'name' : 'namespace'] = m[2] as string;
  }
  return fields;
}

/** The request's route for faults, whatever its authentication. */
function routeOf(method: string, pathname: string, issuer: OidcIssuer): KubernetesRoute | undefined {
  if (oidcRoute(issuer, 'GET', pathname)) return 'oidc';
  if (discovery(pathname, '') && pathname !== '/version') return 'discovery';
  const path = parsePath(pathname);
  if (!path || !SERVED.includes(path.resource)) return undefined;
  const resource = path.resource as KubernetesResource;
  if (path.subresource === 'token' && resource === 'serviceaccounts' && method === 'POST') return 'create-token';
  if (path.subresource !== undefined) return undefined;
  if (!path.name) {
    if (method === 'GET') return `list-${resource}`;
    return method === 'POST' ? (`create-${SINGULAR[resource]}` as KubernetesRoute) : undefined;
  }
  const verb = { GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method];
  return verb ? (`${verb}-${SINGULAR[resource]}` as KubernetesRoute) : undefined;
}

export async function startKubernetesApi(options: KubernetesApiOptions = {}): Promise<KubernetesApi> {
  const clusterName = options.clusterName ?? 'local-eks';
  const clock = options.clock ?? Date.now;
  const tokens = new Map(Object.entries(options.tokens ?? {}));
  const store = new ObjectStore(clock);
  const denials: { subject: string; rule: DenyRule }[] = [];
  const tokenRequests: TokenRequestRecord[] = [];
  const namespaces = new Map<string, { uid: string; creationTimestamp: string }>();
  const faults = new FaultQueue<KubernetesRoute>();
  let rbac = options.rbac;
  let issuer: OidcIssuer | undefined;

  const tlsDirectory =
    options.tls === undefined || options.tls === false
      ? undefined
      : ((options.tls === true ? undefined : options.tls.directory) ?? mkdtempSync(join(tmpdir(), 'kubernetes-api-')));
  const ownsDirectory = options.tls === true || (typeof options.tls === 'object' && !options.tls.directory);
  const certificates = tlsDirectory ? createEmulatorCertificates({ caName: `${clusterName} CA` }) : undefined;
  const caFile = tlsDirectory ? join(tlsDirectory, 'ca.crt') : undefined;
  if (caFile && certificates) writeFileSync(caFile, certificates.caCert);

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
      if (result.ok) {
        const user = eks.principalFor
          ? eks.principalFor(result.accessKeyId)
          : `arn:aws:iam::${eks.accountId ?? '123456789012'}:role/${result.accessKeyId}`;
        return { user, groups: ['system:authenticated'], token };
      }
      if (!options.acceptAnyBearerToken) return { error: result.reason };
    }
    if (options.acceptAnyBearerToken) {
      const user = `bearer:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
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

  async function createToken(namespace: string, name: string, raw: Buffer, req: IncomingMessage, caller: Caller) {
    const body = decodeBody(req, raw, 'TokenRequest');
    if (!isRecord(body)) throw badRequest('the object provided is unrecognized (must be of type TokenRequest)');
    if (body.apiVersion !== undefined && body.apiVersion !== `${TOKEN_REQUEST_GROUP}/v1`) {
      throw badRequest(
        `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${TOKEN_REQUEST_GROUP}/v1)`,
      );
    }
    if (body.kind !== undefined && body.kind !== 'TokenRequest') {
      throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (TokenRequest)`);
    }
    const metadata = isRecord(body.metadata) ? body.metadata : {};
    const spec = body.spec === undefined || body.spec === null ? {} : body.spec;
    if (!isRecord(spec)) throw badRequest('TokenRequest in version "v1" cannot be handled as a TokenRequest: spec');
    const audiences = spec.audiences ?? [];
    if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== 'string')) {
      throw badRequest(
        'TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal into Go struct field TokenRequestSpec.spec.audiences of type []string',
      );
    }
    const requested = spec.expirationSeconds ?? 3600;
    if (typeof requested !== 'number' || !Number.isInteger(requested)) {
      throw badRequest(
        'TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal into Go struct field TokenRequestSpec.spec.expirationSeconds of type int64',
      );
    }
    const tokenInvalid = (field: string, value: string, detail: string, subject = name) =>
      invalid(
        'TokenRequest',
        subject,
        [{ reason: 'FieldValueInvalid', message: `Invalid value: ${value}: ${detail}`, field }],
        TOKEN_REQUEST_GROUP,
      );
    if (typeof metadata.name === 'string' && metadata.name !== '' && metadata.name !== name) {
      throw tokenInvalid('metadata.name', `"${metadata.name}"`, 'must match the service account name if specified');
    }
    if (typeof metadata.namespace === 'string' && metadata.namespace !== '' && metadata.namespace !== namespace) {
      throw tokenInvalid(
        'metadata.namespace',
        `"${metadata.namespace}"`,
        'must match the service account namespace if specified',
      );
    }
    const sa = store.get('serviceaccounts', namespace, name);
    const oidc = issuer as OidcIssuer;
    const finalAudiences = audiences.length > 0 ? (audiences as string[]) : (options.apiAudiences ?? [oidc.issuer]);
    if (requested < MIN_EXPIRATION) {
      throw tokenInvalid(
        'spec.expirationSeconds',
        String(requested),
        'may not specify a duration less than 10 minutes',
        '',
      );
    }
    if (requested > MAX_EXPIRATION) {
      throw tokenInvalid(
        'spec.expirationSeconds',
        String(requested),
        'may not specify a duration larger than 2^32 seconds',
        '',
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
    const token = await oidc.sign({
      sub: `system:serviceaccount:${namespace}:${name}`,
      aud: [...finalAudiences],
      expiresInSeconds: expirationSeconds,
      extra: { 'kubernetes.io': { namespace, serviceaccount: { name, uid: sa.metadata.uid } } },
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

  function forbidden(caller: Caller, verb: string, resource: string, namespace: string | undefined, name?: string) {
    const subject = name ? `${resource.split('/')[0]} "${name}"` : resource.split('/')[0];
    const scope = namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
    return failure(
      403,
      'Forbidden',
      `${subject} is forbidden: User "${caller.user}" cannot ${verb} resource "${resource}" in API group "" ${scope}`,
      name ? { name, kind: resource.split('/')[0] } : { kind: resource.split('/')[0] },
    );
  }

  /** Every namespace exists (see the header); its uid and creation time stay the same once served. */
  function namespaceObject(name: string): KubernetesObject {
    let seen = namespaces.get(name);
    if (!seen) {
      seen = { uid: randomUUID(), creationTimestamp: rfc3339(clock()) };
      namespaces.set(name, seen);
    }
    return {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        namespace: '',
        uid: seen.uid,
        resourceVersion: store.resourceVersion,
        creationTimestamp: seen.creationTimestamp,
        labels: { 'kubernetes.io/metadata.name': name },
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
  }

  function namespaceCall(method: string, name: string | undefined, req: IncomingMessage, caller: Caller): Reply {
    const verb = verbFor(method, name, new URLSearchParams());
    if (!allowed(caller, verb, 'namespaces', '', name)) return forbidden(caller, verb, 'namespaces', undefined, name);
    if (verb !== 'get' && verb !== 'list') {
      return failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
    }
    if (name !== undefined) {
      if (!DNS_LABEL.test(name))
        return failure(404, 'NotFound', `namespaces "${name}" not found`, { name, kind: 'namespaces' });
      const object = namespaceObject(name);
      const { metadata, ...rest } = object;
      const { namespace: _n, ...meta } = metadata;
      return wantsTable(req.headers.accept)
        ? { status: 200, body: table('namespaces', [object], clock(), store.resourceVersion) }
        : { status: 200, body: { ...rest, metadata: meta } };
    }
    const names = new Set([...BUILT_IN_NAMESPACES, ...namespaces.keys(), ...store.namespaces()]);
    const objects = [...names].sort().map(namespaceObject);
    if (wantsTable(req.headers.accept)) {
      return { status: 200, body: table('namespaces', objects, clock(), store.resourceVersion) };
    }
    return {
      status: 200,
      body: {
        kind: 'NamespaceList',
        apiVersion: 'v1',
        metadata: { resourceVersion: store.resourceVersion },
        items: objects.map(({ apiVersion: _a, kind: _k, metadata: { namespace: _n, ...meta }, ...rest }) => ({
          ...rest,
          metadata: meta,
        })),
      },
    };
  }

  /** GET, as a Table when asked for one. */
  function read(req: IncomingMessage, resource: KubernetesResource, objects: KubernetesObject[], list: boolean): Reply {
    if (wantsTable(req.headers.accept)) {
      return { status: 200, body: table(resource, objects, clock(), store.resourceVersion) };
    }
    if (!list) return { status: 200, body: objects[0] };
    return {
      status: 200,
      body: {
        kind: `${KIND[resource]}List`,
        apiVersion: 'v1',
        metadata: { resourceVersion: store.resourceVersion },
        items: objects.map(({ apiVersion: _a, kind: _k, ...item }) => item),
      },
    };
  }

  async function resourceCall(
    verb: string,
    path: ParsedPath,
    url: URL,
    raw: Buffer,
    req: IncomingMessage,
    caller: Caller,
  ): Promise<Reply> {
    const resource = path.resource as KubernetesResource;
    const { name, subresource } = path;
    const namespace = path.namespace as string;
    if (subresource === 'token' && resource === 'serviceaccounts' && name && verb === 'create') {
      return createToken(namespace, name, raw, req, caller);
    }
    if (subresource !== undefined) {
      return resource === 'serviceaccounts' && subresource === 'token'
        ? failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {})
        : failure(404, 'NotFound', 'the server could not find the requested resource', {});
    }
    if (verb === 'list') {
      let labels: ReturnType<typeof parseLabelSelector>;
      try {
        labels = parseLabelSelector(url.searchParams.get('labelSelector') ?? '');
      } catch (err) {
        if (err instanceof LabelSelectorError) throw badRequest(err.message);
        throw err;
      }
      const fields = fieldSelector(url.searchParams.get('fieldSelector'));
      return read(req, resource, store.list(resource, path.namespace, labels, fields), true);
    }
    if (verb === 'get' && name) return read(req, resource, [store.get(resource, namespace, name)], false);
    if (verb === 'create' && !name && path.namespace !== undefined) {
      const dryRun = url.searchParams.getAll('dryRun').includes('All');
      return { status: 201, body: store.create(resource, namespace, decodeBody(req, raw, KIND[resource]), dryRun) };
    }
    if (verb === 'update' && name) {
      return { status: 200, body: store.update(resource, namespace, name, decodeBody(req, raw, KIND[resource])) };
    }
    if (verb === 'patch' && name) {
      const type = PATCH_TYPES[mediaType(req)];
      if (!type) {
        throw new KubernetesError(
          failure(
            415,
            'UnsupportedMediaType',
            'the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json',
          ),
        );
      }
      return {
        status: 200,
        body: store.patch(resource, namespace, name, parseJson(raw.toString('utf8'), KIND[resource]), type),
      };
    }
    if (verb === 'delete' && name) {
      const deleted = store.delete(resource, namespace, name);
      return {
        status: 200,
        body: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name, kind: resource, uid: deleted.metadata.uid },
        },
      };
    }
    return failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
  }

  async function handle(
    method: string,
    url: URL,
    raw: Buffer,
    req: IncomingMessage,
    log: Partial<RecordedKubernetesRequest>,
  ): Promise<Reply> {
    if (isPublicPath(url.pathname)) {
      return discovery(url.pathname, url.host) ?? { status: 200, body: 'ok' };
    }
    const caller = authenticate(req);
    if ('error' in caller) {
      log.authError = caller.error;
      return failure(401, 'Unauthorized', 'Unauthorized');
    }
    log.user = caller.user;
    const document = discovery(url.pathname, url.host);
    if (document) return document;
    const namespacePath = NAMESPACE_PATH.exec(url.pathname);
    if (namespacePath) {
      const name = namespacePath[1] === undefined ? undefined : decodeURIComponent(namespacePath[1]);
      return namespaceCall(method, name, req, caller);
    }
    const path = parsePath(url.pathname);
    if (!path) return failure(404, 'NotFound', 'the server could not find the requested resource', {});
    const verb = verbFor(method, path.name, url.searchParams);
    const fullResource = path.subresource ? `${path.resource}/${path.subresource}` : path.resource;
    if (!allowed(caller, verb, fullResource, path.namespace ?? '', path.name)) {
      return forbidden(caller, verb, fullResource, path.namespace, path.name);
    }
    if (!SERVED.includes(path.resource)) {
      return failure(404, 'NotFound', 'the server could not find the requested resource', {});
    }
    try {
      return await resourceCall(verb, path, url, raw, req, caller);
    } catch (err) {
      if (err instanceof KubernetesError) return err.reply;
      throw err;
    }
  }

  const reply = (r: Reply): EmulatorReply => toEmulatorReply(r);
  const server = await startEmulatorServer<RecordedKubernetesRequest>({
    port: options.port,
    ...(certificates ? { tls: { key: certificates.key, cert: certificates.cert } } : {}),
    maxBodyBytes: MAX_BODY_BYTES,
    clock,
    fault: (x) => faults.take(routeOf(x.method, x.url.pathname, issuer as OidcIssuer)),
    faultReply: (fault) => {
      const reason = DEFAULT_REASONS[fault.status] ?? 'InternalError';
      return reply({
        status: fault.status,
        body: fault.body ?? statusBody(fault.status, reason, `injected fault: ${reason}`, {}),
        ...(fault.headers ? { headers: fault.headers } : {}),
      });
    },
    tooLarge: (limit) => reply(failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`)),
    internalError: (err) => reply(failure(500, 'InternalError', `Internal error occurred: ${String(err)}`)),
    handle: async (x) => {
      const oidc = oidcRoute(issuer as OidcIssuer, x.method, x.url.pathname);
      if (oidc) return { status: oidc.status, headers: oidc.headers, body: oidc.body };
      return reply(await handle(x.method, x.url, x.body, x.req, x.log));
    },
    record: (x, status) => {
      const entry: RecordedKubernetesRequest = {
        method: x.method,
        path: x.url.pathname,
        query: x.url.search,
        status,
        user: x.log.user,
        ...(x.log.authError !== undefined ? { authError: x.log.authError } : {}),
      };
      let body: unknown = x.body.length > 0 ? x.text() : undefined;
      try {
        if (mediaType(x.req) === PROTOBUF_MEDIA_TYPE) body = decodeProtobuf(x.body);
        else if (typeof body === 'string') body = JSON.parse(body);
      } catch {
        // kept as text
      }
      Object.defineProperties(entry, {
        authorization: { value: x.req.headers.authorization, enumerable: false },
        body: { value: body, enumerable: false },
      });
      return entry;
    },
  });
  issuer = await createOidcIssuer({
    issuerUrl: server.url,
    algorithm: 'RS256',
    jwksPath: '/openid/v1/jwks',
    clock,
  });

  return {
    url: server.url,
    issuer: issuer.issuer,
    oidc: issuer,
    clusterName,
    caCertificate: certificates?.caCert,
    caFile,
    addServiceAccount(namespace, name, extra = {}) {
      const metadata = { labels: { ...extra.labels }, annotations: { ...extra.annotations } };
      return { uid: store.put('serviceaccounts', namespace, name, { metadata }).metadata.uid };
    },
    deleteServiceAccount: (namespace, name) => {
      if (!store.find('serviceaccounts', namespace, name)) return false;
      store.delete('serviceaccounts', namespace, name);
      return true;
    },
    putSecret(namespace, name, data, type = 'Opaque') {
      store.put('secrets', namespace, name, { type, stringData: data });
    },
    deleteSecret: (namespace, name) => {
      if (!store.find('secrets', namespace, name)) return false;
      store.delete('secrets', namespace, name);
      return true;
    },
    getObject: (resource, namespace, name) => store.find(resource, namespace, name),
    readSecret(namespace, name) {
      const secret = store.find('secrets', namespace, name);
      if (!secret) return undefined;
      const data = (secret.data ?? {}) as Record<string, string>;
      return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    },
    addToken: (token, identity) => void tokens.set(token, identity),
    removeToken: (token) => void tokens.delete(token),
    deny: (subject, rule = {}) => void denials.push({ subject, rule: { ...rule } }),
    clearDenials: () => void denials.splice(0),
    setRbac: (check) => {
      rbac = check;
    },
    tokenRequests,
    requests: server.requests,
    injectFaults: (route, list) => faults.inject(route, list),
    clearLogs() {
      server.requests.length = 0;
      tokenRequests.length = 0;
    },
    reset() {
      store.clear();
      server.requests.length = 0;
      tokenRequests.length = 0;
      faults.clear();
      denials.length = 0;
      namespaces.clear();
    },
    close: async () => {
      await server.close();
      if (ownsDirectory && tlsDirectory) rmSync(tlsDirectory, { recursive: true, force: true });
    },
  };
}
