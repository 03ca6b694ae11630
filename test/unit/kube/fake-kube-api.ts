/**
 * A tiny stand-in for the Kubernetes API on 127.0.0.1: the three routes the connector uses, answering as the real
 * API server does (lists filtered by an equality label selector, TokenRequest on an existing ServiceAccount only,
 * Secrets with base64 data, Status objects for errors). It records every request, with its Authorization header.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface FakeServiceAccount {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  body: unknown;
}

export interface Failure {
  status: number;
  /** Only requests whose path contains this fail; all when absent. */
  pathIncludes?: string;
  /** Answer nothing at all (the client must time out). */
  hang?: boolean;
  /** Send a 200's status, headers and the start of a body, then nothing more (a stalled body). */
  stallBody?: boolean;
}

const REASONS: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

export class FakeKubeApi {
  readonly requests: RecordedRequest[] = [];
  /** namespace -> ServiceAccounts */
  readonly serviceAccounts = new Map<string, FakeServiceAccount[]>();
  /** `${namespace}/${name}` -> plain-text data (base64-encoded on the wire) */
  readonly secrets = new Map<string, Record<string, string>>();
  failures: Failure[] = [];
  /** What TokenRequest returns as status.token; a function of the request by default. */
  issueToken: (namespace: string, sa: string, audiences: string[]) => string = (namespace, sa, audiences) =>
    `jwt.${namespace}.${sa}.${audiences.join(',')}`;

  private server: Server | undefined;
  private port = 0;
  private scheme = 'http';

  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  /** Serves plain http, or https with the given certificate. */
  async start(tls?: { cert: string; key: string }): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      void this.handle(req, res);
    };
    this.scheme = tls ? 'https' : 'http';
    this.server = tls ? createHttpsServer(tls, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const raw = await readBody(req);
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
      body: raw ? JSON.parse(raw) : undefined,
    };
    this.requests.push(request);

    const failure = this.failures.find((f) => !f.pathIncludes || url.pathname.includes(f.pathIncludes));
    if (failure?.hang) return; // never answer
    if (failure?.stallBody) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"kind":"Secret",');
      return;
    }
    if (failure) return status(res, failure.status, `injected failure for ${url.pathname}`);

    const parts = url.pathname.split('/').filter(Boolean);
    // /api/v1/namespaces/{ns}/{resource}[/{name}[/{sub}]]
    if (parts[0] !== 'api' || parts[1] !== 'v1' || parts[2] !== 'namespaces' || !parts[3]) {
      return status(res, 404, 'the server could not find the requested resource');
    }
    const [, , , namespace, resource, name, sub] = parts as [string, string, string, string, string?, string?, string?];

    if (resource === 'serviceaccounts' && !name && request.method === 'GET') {
      const selector = parseSelector(url.searchParams.get('labelSelector'));
      const items = (this.serviceAccounts.get(namespace) ?? [])
        .filter((sa) => Object.entries(selector).every(([k, v]) => sa.labels?.[k] === v))
        .map((sa) => ({
          metadata: { name: sa.name, namespace, labels: sa.labels, annotations: sa.annotations },
        }));
      return json(res, 200, { kind: 'ServiceAccountList', apiVersion: 'v1', metadata: {}, items });
    }

    if (resource === 'serviceaccounts' && name && sub === 'token' && request.method === 'POST') {
      if (!(this.serviceAccounts.get(namespace) ?? []).some((sa) => sa.name === name)) {
        return status(res, 404, `serviceaccounts "${name}" not found`);
      }
      const spec = (request.body as { spec?: { audiences?: string[]; expirationSeconds?: number } })?.spec ?? {};
      if (spec.expirationSeconds !== undefined && spec.expirationSeconds < 600) {
        return status(
          res,
          400,
          'spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes',
        );
      }
      return json(res, 201, {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace },
        spec,
        status: {
          token: this.issueToken(namespace, name, spec.audiences ?? []),
          expirationTimestamp: new Date(Date.now() + (spec.expirationSeconds ?? 3600) * 1000).toISOString(),
        },
      });
    }

    if (resource === 'secrets' && name && !sub && request.method === 'GET') {
      const data = this.secrets.get(`${namespace}/${name}`);
      if (!data) return status(res, 404, `secrets "${name}" not found`);
      const encoded = Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
      );
      return json(res, 200, {
        kind: 'Secret',
        apiVersion: 'v1',
        metadata: { name, namespace },
        type: 'Opaque',
        data: encoded,
      });
    }

    return status(res, 404, 'the server could not find the requested resource');
  }
}

function parseSelector(selector: string | null): Record<string, string> {
  if (!selector) return {};
  return Object.fromEntries(
    selector.split(',').map((term) => {
      const [key = '', value = ''] = term.split('=');
      return [key.trim(), value.trim()];
    }),
  );
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function status(res: ServerResponse, code: number, message: string): void {
  json(res, code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: REASONS[code] ?? 'BadRequest',
    code,
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
