import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayEventIdentity, APIGatewayProxyEvent } from 'aws-lambda';
import { anonymousIdentity } from './event-shapes.js';
import { DEFAULT_ACCOUNT_ID, type Invoker } from './invocation.js';

/**
 * Fills `requestContext.identity` (merged over the all-null default) for a request, e.g. from a SigV4
 * signature. Throw a GatewayResponseError to answer the request with that error instead.
 */
export type IdentityHook = (
  req: IncomingMessage,
  body: Buffer,
) => Partial<APIGatewayEventIdentity> | undefined | Promise<Partial<APIGatewayEventIdentity> | undefined>;

export interface FrontDoorOptions {
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 'local'. */
  stage?: string;
  /**
   * Default true: like the execute-api URL, requests are made to /<stage>/<path> and `url` ends with /<stage>.
   * false: like a custom domain mapped at its root, requests are made to /<path>.
   */
  stageInPath?: boolean;
  /** How the function runs: in its execution environments (the local stack), or in this process (unit tests). */
  invoke: Invoker;
  functionName: string;
  /**
   * The API's resources, with an optional method ('GET /v1/jobs/{id}'; no method means ANY). `{name}` matches
   * one path segment and `{name+}` the rest of the path. Default ['/', '/{proxy+}'], a proxy API.
   */
  resolveResource?: readonly string[];
  /** Alias of resolveResource (used when resolveResource is not given). */
  routes?: readonly string[];
  /** API Gateway's payload limit; a larger request body is answered 413. Default 10 MiB. */
  maxBodyBytes?: number;
  /**
   * The REST API's binaryMediaTypes: request bodies of these content types reach the handler base64-encoded
   * with isBase64Encoded true, others as UTF-8 text. Must match the deployed API's setting.
   */
  binaryMediaTypes?: readonly string[];
  identity?: IdentityHook;
  /** Default null (no stage variables). */
  stageVariables?: Record<string, string> | null;
  /** The function timeout: beyond it the invocation fails and the client gets 502. Default 30000. */
  functionTimeoutMs?: number;
  /** API Gateway's integration timeout: beyond it the client gets 504. Default 29000. */
  integrationTimeoutMs?: number;
  apiId?: string;
  accountId?: string;
  /** Told about handler errors, timeouts and malformed proxy responses. Defaults to console.error. */
  onError?: (err: unknown) => void;
}

export interface FrontDoor {
  /** Base URL, like an execute-api invoke URL: http://127.0.0.1:<port>/<stage> (no trailing slash). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** An API Gateway gateway response (an error API Gateway answers itself, without invoking the function). */
export class GatewayResponseError extends Error {
  override readonly name = 'GatewayResponseError';
  constructor(
    readonly statusCode: number,
    message: string,
    /** The x-amzn-ErrorType header, e.g. MissingAuthenticationTokenException. */
    readonly errorType: string,
  ) {
    super(message);
  }
}

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

export const DEFAULT_BINARY_MEDIA_TYPES: readonly string[] = [
  'application/octet-stream',
  'application/pdf',
  'application/zip',
  'application/gzip',
  'image/*',
  'audio/*',
  'video/*',
  'multipart/form-data',
];

const missingAuthenticationToken = (): GatewayResponseError =>
  new GatewayResponseError(403, 'Missing Authentication Token', 'MissingAuthenticationTokenException');
const internalServerError = (statusCode: number): GatewayResponseError =>
  new GatewayResponseError(statusCode, 'Internal server error', 'InternalServerErrorException');

/** Request headers API Gateway never passes to an integration. */
const DROPPED_REQUEST_HEADERS = new Set(
  [
    'Connection',
    'Content-Length',
    'Content-MD5',
    'Expect',
    'Max-Forwards',
    'Proxy-Authenticate',
    'Server',
    'TE',
    'Transfer-Encoding',
    'Trailer',
    'Upgrade',
    'WWW-Authenticate',
  ].map((name) => name.toLowerCase()),
);
/** Request headers that reach a Lambda proxy integration with canonical casing whatever the client sent. */
const CANONICAL_REQUEST_HEADERS = new Map([
  ['authorization', 'Authorization'],
  ['user-agent', 'User-Agent'],
]);
/** Response headers from the function that API Gateway renames to x-amzn-Remapped-<name>. */
const REMAPPED_RESPONSE_HEADERS = new Set([
  'authorization',
  'connection',
  'content-length',
  'content-md5',
  'date',
  'expect',
  'host',
  'max-forwards',
  'proxy-authenticate',
  'server',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'www-authenticate',
]);
const PROXY_RESPONSE_KEYS = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded']);
const HTTP_METHODS = ['ANY', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

type RouteSegment =
  | { kind: 'literal'; value: string }
  | { kind: 'param'; name: string }
  | { kind: 'greedy'; name: string };

export interface ApiResource {
  path: string;
  id: string;
  segments: RouteSegment[];
  /** Upper-case methods, or ANY. */
  methods: Set<string>;
}

export interface ResourceMatch {
  resource: string;
  resourceId: string;
  pathParameters: Record<string, string> | null;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** A stable 6-character id per resource path, shaped like API Gateway's resource ids. */
function resourceIdFor(path: string): string {
  return BigInt(`0x${createHash('sha256').update(path).digest('hex').slice(0, 12)}`)
    .toString(36)
    .padStart(6, '0')
    .slice(-6);
}

/** Parses route strings ('/v1/jobs/{id}', 'GET /v1/jobs') into resources with their methods. */
export function compileResources(routes: readonly string[]): ApiResource[] {
  const byPath = new Map<string, ApiResource>();
  for (const route of routes) {
    const match = /^(?:([A-Za-z]+)\s+)?(\/\S*)$/.exec(route.trim());
    const method = (match?.[1] ?? 'ANY').toUpperCase();
    const rawPath = match?.[2];
    if (!rawPath || !HTTP_METHODS.includes(method)) throw new Error(`Invalid route ${JSON.stringify(route)}`);
    const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : rawPath;
    const parts = path === '/' ? [] : path.slice(1).split('/');
    const segments = parts.map((part, index): RouteSegment => {
      const variable = /^\{([A-Za-z0-9._-]+)(\+)?\}$/.exec(part);
      if (!variable) {
        if (part === '' || /[{}]/.test(part))
          throw new Error(`Invalid path segment ${JSON.stringify(part)} in ${route}`);
        return { kind: 'literal', value: part };
      }
      const name = variable[1] ?? '';
      if (!variable[2]) return { kind: 'param', name };
      if (index !== parts.length - 1) throw new Error(`Greedy path variable must be last in ${route}`);
      return { kind: 'greedy', name };
    });
    const resource = byPath.get(path) ?? { path, id: resourceIdFor(path), segments, methods: new Set<string>() };
    resource.methods.add(method);
    byPath.set(path, resource);
  }
  return [...byPath.values()];
}

function matchSegments(
  resource: ApiResource,
  segments: readonly string[],
): { score: number[]; params: Record<string, string> } | null {
  const score: number[] = [];
  const params: Record<string, string> = {};
  for (const [index, segment] of resource.segments.entries()) {
    if (segment.kind === 'greedy') {
      const rest = segments.slice(index);
      if (rest.length === 0 || rest.every((part) => part === '')) return null;
      params[segment.name] = rest.map(safeDecode).join('/');
      score.push(1);
      return { score, params };
    }
    const part = segments[index];
    if (part === undefined || part === '') return null;
    if (segment.kind === 'literal') {
      if (safeDecode(part) !== segment.value) return null;
      score.push(3);
    } else {
      params[segment.name] = safeDecode(part);
      score.push(2);
    }
  }
  return segments.length === resource.segments.length ? { score, params } : null;
}

function compareScores(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * Finds the resource API Gateway would route a (stage-less, raw) path to: the most specific match, literal
 * segments before `{param}` before `{greedy+}`; a trailing slash is ignored. Null when no resource matches,
 * or when the matched resource has neither this method nor ANY (API Gateway answers both with 403).
 */
export function matchResource(resources: readonly ApiResource[], method: string, path: string): ResourceMatch | null {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const segments = trimmed === '/' || trimmed === '' ? [] : trimmed.slice(1).split('/');
  let best: { resource: ApiResource; score: number[]; params: Record<string, string> } | undefined;
  for (const resource of resources) {
    const matched = matchSegments(resource, segments);
    if (matched && (!best || compareScores(matched.score, best.score) > 0)) best = { resource, ...matched };
  }
  if (!best || !(best.resource.methods.has(method) || best.resource.methods.has('ANY'))) return null;
  return {
    resource: best.resource.path,
    resourceId: best.resource.id,
    pathParameters: Object.keys(best.params).length > 0 ? best.params : null,
  };
}

/** `dd/MMM/yyyy:HH:mm:ss +0000`, API Gateway's $context.requestTime. */
export function formatRequestTime(date: Date): string {
  const pad = (value: number): string => String(value).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/** Query string parameters as API Gateway passes them: decoded, the single-value map keeping the last value. */
export function parseQueryString(rawQuery: string): {
  queryStringParameters: Record<string, string> | null;
  multiValueQueryStringParameters: Record<string, string[]> | null;
} {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    const decode = (value: string): string => safeDecode(value.replace(/\+/g, ' '));
    const key = decode(separator < 0 ? pair : pair.slice(0, separator));
    const value = separator < 0 ? '' : decode(pair.slice(separator + 1));
    single[key] = value;
    multi[key] ??= [];
    multi[key].push(value);
  }
  const empty = Object.keys(multi).length === 0;
  return {
    queryStringParameters: empty ? null : single,
    multiValueQueryStringParameters: empty ? null : multi,
  };
}

export function matchesMediaType(contentType: string | undefined, mediaTypes: readonly string[]): boolean {
  if (!contentType) return false;
  const [type = '', subtype = ''] = (contentType.split(';')[0] ?? '').trim().toLowerCase().split('/');
  return mediaTypes.some((pattern) => {
    const [patternType = '', patternSubtype = ''] = pattern.trim().toLowerCase().split('/');
    return (patternType === '*' || patternType === type) && (patternSubtype === '*' || patternSubtype === subtype);
  });
}

function traceId(): string {
  return `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

interface ProxyResponse {
  statusCode: number;
  headers: Map<string, { name: string; values: string[] }>;
  body: Buffer;
}

function headerValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return undefined;
}

/** Validates a Lambda proxy response as API Gateway does; null means "Malformed Lambda proxy response". */
export function parseProxyResponse(result: unknown): ProxyResponse | null {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return null;
  const response = result as Record<string, unknown>;
  if (Object.keys(response).some((key) => !PROXY_RESPONSE_KEYS.has(key))) return null;

  let statusCode = 200;
  if (response.statusCode !== undefined && response.statusCode !== null) {
    statusCode = Number(response.statusCode);
    if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return null;
  }
  const headers = new Map<string, { name: string; values: string[] }>();
  headers.set('content-type', { name: 'Content-Type', values: ['application/json'] });
  if (response.headers !== undefined && response.headers !== null) {
    if (typeof response.headers !== 'object' || Array.isArray(response.headers)) return null;
    for (const [name, raw] of Object.entries(response.headers)) {
      const value = headerValue(raw);
      if (value === undefined) return null;
      headers.set(name.toLowerCase(), { name, values: [value] });
    }
  }
  if (response.multiValueHeaders !== undefined && response.multiValueHeaders !== null) {
    if (typeof response.multiValueHeaders !== 'object' || Array.isArray(response.multiValueHeaders)) return null;
    for (const [name, raw] of Object.entries(response.multiValueHeaders)) {
      const values = (Array.isArray(raw) ? raw : [raw]).map(headerValue);
      if (values.some((value) => value === undefined)) return null;
      headers.set(name.toLowerCase(), { name, values: values as string[] });
    }
  }
  if (response.isBase64Encoded !== undefined && response.isBase64Encoded !== null) {
    if (typeof response.isBase64Encoded !== 'boolean') return null;
  }
  let body = Buffer.alloc(0);
  if (response.body !== undefined && response.body !== null) {
    if (typeof response.body !== 'string') return null;
    body = response.isBase64Encoded ? Buffer.from(response.body, 'base64') : Buffer.from(response.body, 'utf8');
  }
  for (const [key, header] of [...headers]) {
    if (REMAPPED_RESPONSE_HEADERS.has(key)) {
      headers.delete(key);
      const name = `x-amzn-Remapped-${header.name}`;
      headers.set(name.toLowerCase(), { ...header, name });
    }
  }
  return { statusCode, headers, body };
}

/** Reads the body up to maxBytes; beyond that keeps reading (so the client gets the answer) but drops the bytes. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    let tooLarge = Number.isFinite(declared) && declared > maxBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        chunks.length = 0;
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge }));
    req.on('error', reject);
  });
}

/**
 * Serves a Lambda handler over HTTP the way an API Gateway REST API with a Lambda proxy integration
 * (payload format 1.0) does: routes to resources, builds the proxy event, invokes the handler with a
 * fresh Context, and turns its result (or failure) into the HTTP response.
 */
export async function startFrontDoor(options: FrontDoorOptions): Promise<FrontDoor> {
  const host = options.host ?? '127.0.0.1';
  const stage = options.stage ?? 'local';
  const stageInPath = options.stageInPath ?? true;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const binaryMediaTypes = options.binaryMediaTypes ?? DEFAULT_BINARY_MEDIA_TYPES;
  const functionTimeoutMs = options.functionTimeoutMs ?? 30_000;
  const integrationTimeoutMs = options.integrationTimeoutMs ?? 29_000;
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const apiId = options.apiId ?? 'local0api0';
  const stageVariables = options.stageVariables ?? null;
  const resources = compileResources(options.resolveResource ?? options.routes ?? ['/', '/{proxy+}']);
  if (!options.functionName) throw new Error('startFrontDoor: functionName is required');
  if (!/^[A-Za-z0-9_-]+$/.test(stage)) throw new Error(`startFrontDoor: invalid stage name ${stage}`);

  const report = (err: unknown): void => {
    try {
      if (options.onError) options.onError(err);
      else console.error(`[api-gateway-front-door ${options.functionName}]`, err);
    } catch {
      // A throwing onError must not break the response.
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const extendedRequestId = randomBytes(11).toString('base64');
    const received = new Date();
    const sendGatewayResponse = (error: GatewayResponseError): void => {
      res.writeHead(error.statusCode, {
        'Content-Type': 'application/json',
        'x-amzn-RequestId': requestId,
        'x-amzn-ErrorType': error.errorType,
        'x-amz-apigw-id': extendedRequestId,
      });
      res.end(JSON.stringify({ message: error.message }));
    };

    try {
      const { body, tooLarge } = await readBody(req, maxBodyBytes);
      if (tooLarge) throw new GatewayResponseError(413, 'Request Too Long', 'RequestTooLargeException');

      const method = (req.method ?? 'GET').toUpperCase();
      const rawUrl = req.url ?? '/';
      const queryStart = rawUrl.indexOf('?');
      const requestPath = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart);
      const rawQuery = queryStart < 0 ? '' : rawUrl.slice(queryStart + 1);
      let path = requestPath;
      if (stageInPath) {
        if (requestPath === `/${stage}`) path = '/';
        else if (requestPath.startsWith(`/${stage}/`)) path = requestPath.slice(stage.length + 1);
        else throw missingAuthenticationToken();
      }
      const route = matchResource(resources, method, path);
      if (!route) throw missingAuthenticationToken();

      const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
      const headers: Record<string, string> = {};
      const multiValueHeaders: Record<string, string[]> = {};
      const setHeader = (name: string, value: string): void => {
        headers[name] = value;
        multiValueHeaders[name] ??= [];
        multiValueHeaders[name].push(value);
      };
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i] ?? '';
        const lower = name.toLowerCase();
        if (DROPPED_REQUEST_HEADERS.has(lower)) continue;
        setHeader(CANONICAL_REQUEST_HEADERS.get(lower) ?? name, req.rawHeaders[i + 1] ?? '');
      }
      const has = (name: string): boolean => Object.keys(headers).some((key) => key.toLowerCase() === name);
      const forwardedFor = Object.keys(headers).find((key) => key.toLowerCase() === 'x-forwarded-for');
      if (forwardedFor) {
        headers[forwardedFor] = `${headers[forwardedFor]}, ${sourceIp}`;
        multiValueHeaders[forwardedFor] = [headers[forwardedFor] ?? sourceIp];
      } else {
        setHeader('X-Forwarded-For', sourceIp);
      }
      if (!has('x-forwarded-port')) setHeader('X-Forwarded-Port', String(req.socket.localPort ?? ''));
      if (!has('x-forwarded-proto')) setHeader('X-Forwarded-Proto', 'http');
      if (!has('x-amzn-trace-id')) setHeader('X-Amzn-Trace-Id', traceId());

      const identity: APIGatewayEventIdentity = {
        ...anonymousIdentity(sourceIp, req.headers['user-agent'] ?? null),
        ...(options.identity ? await options.identity(req, body) : undefined),
      };

      const isBase64Encoded = body.length > 0 && matchesMediaType(req.headers['content-type'], binaryMediaTypes);
      const domainName = req.headers.host ?? `${host}`;
      const event: APIGatewayProxyEvent = {
        resource: route.resource,
        path,
        httpMethod: method,
        headers,
        multiValueHeaders,
        ...parseQueryString(rawQuery),
        pathParameters: route.pathParameters,
        stageVariables,
        requestContext: {
          resourceId: route.resourceId,
          resourcePath: route.resource,
          httpMethod: method,
          extendedRequestId,
          requestTime: formatRequestTime(received),
          path: stageInPath ? `/${stage}${path}` : path,
          accountId,
          protocol: `HTTP/${req.httpVersion}`,
          stage,
          domainPrefix: domainName.split('.')[0] ?? domainName,
          requestTimeEpoch: received.getTime(),
          requestId,
          identity,
          domainName,
          apiId,
          // A REST API method without an authorizer has no requestContext.authorizer (JSON drops undefined).
          authorizer: undefined,
        },
        body: body.length === 0 ? null : body.toString(isBase64Encoded ? 'base64' : 'utf8'),
        isBase64Encoded,
      };

      const integrationTimesOutFirst = integrationTimeoutMs < functionTimeoutMs;
      const timeoutMs = integrationTimesOutFirst ? integrationTimeoutMs : functionTimeoutMs;
      const outcome = await options.invoke(event, { timeoutMs });
      if (outcome.status === 'timedOut' && integrationTimesOutFirst) {
        report(outcome.error);
        throw new GatewayResponseError(504, 'Endpoint request timed out', 'InternalServerErrorException');
      }
      if (outcome.status !== 'succeeded') {
        report(outcome.error);
        throw internalServerError(502);
      }
      const response = parseProxyResponse(outcome.result);
      if (!response) {
        report(new Error(`Malformed Lambda proxy response: ${JSON.stringify(outcome.result)}`));
        throw internalServerError(502);
      }
      for (const { name, values } of response.headers.values()) {
        res.setHeader(name, values.length === 1 ? (values[0] ?? '') : values);
      }
      res.setHeader('x-amzn-RequestId', requestId);
      res.setHeader('x-amz-apigw-id', extendedRequestId);
      if (!response.headers.has('x-amzn-trace-id')) res.setHeader('X-Amzn-Trace-Id', traceId());
      res.writeHead(response.statusCode);
      res.end(method === 'HEAD' ? undefined : response.body);
    } catch (err) {
      if (res.headersSent) {
        report(err);
        res.destroy();
        return;
      }
      if (err instanceof GatewayResponseError) {
        sendGatewayResponse(err);
      } else {
        report(err);
        sendGatewayResponse(internalServerError(500));
      }
    }
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closed: Promise<void> | undefined;
  return {
    url: stageInPath ? `${origin}/${stage}` : origin,
    port,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}
