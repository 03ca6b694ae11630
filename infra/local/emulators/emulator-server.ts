/**
 * The HTTP skeleton every local emulator shares, so each emulator file holds only its protocol: it listens on
 * 127.0.0.1 (port 0 by default: the OS picks a free one), over plain http or TLS; reads each request body up to a size
 * limit; takes the request's fault, if one is queued for its route, and plays it (an error answer, a reset socket, a
 * hang, a slow answer); otherwise calls the emulator's handler; records every request in a log; and closes
 * everything (listener, open sockets, hung requests, delayed answers) on `close()`.
 *
 * How an emulator uses it:
 *
 * ```ts
 * const faults = new FaultQueue<'create' | 'get'>();
 * const server = await startEmulatorServer<MyRecord>({
 *   tls,                                               // optional: { key, cert } (PEM)
 *   maxBodyBytes: 64 * 1024,                           // over it: `tooLarge` (default 413 text), handler not called
 *   fault: (x) => faults.take(routeOf(x.method, x.url.pathname)),
 *   faultReply: (f) => ({ status: f.status, body: myErrorBody(f) }),   // a status fault in this protocol's words
 *   handle: async (x) => {                             // x: method, url, body (Buffer), text(), req, at, log
 *     x.log.user = 'alice';                            // extra fields of this request's log entry
 *     return { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' };
 *   },
 *   record: (x, status) => ({ method: x.method, path: x.url.pathname, status, ...x.log }),
 * });
 * server.url; server.requests; await server.close();
 * ```
 *
 * A recorded status of 0 means no answer was sent (reset or hang). HEAD answers carry headers only. A handler that
 * throws is answered by `internalError` (default: 500 text; `'reset'`: the socket destroyed, recorded as 0).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/** One answer. `body` is sent as it is (strings as UTF-8); Content-Length is set from it. */
export interface EmulatorReply {
  status: number;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
}

/**
 * One request's fate instead of (or on top of) the emulator's handler:
 * - `{ status, body?, headers? }`: answered by `faultReply` (the emulator's error format), handler not called;
 * - `'reset'`: socket destroyed before the request is handled;
 * - `'reset-after'`: handled (side effects happen), then the socket is destroyed: a lost response;
 * - `'hang'`: never answered nor handled; the socket stays open until the client gives up or `close()`;
 * - `{ delayMs }`: handled at once, the whole answer sent `delayMs` later (wall clock);
 * - `{ slowBodyMs }`: handled at once, status and headers sent at once, the body `slowBodyMs` later.
 */
export type EmulatorFault =
  | { status: number; body?: object | string; headers?: Record<string, string> }
  | { delayMs: number }
  | { slowBodyMs: number }
  | 'reset'
  | 'reset-after'
  | 'hang';

/** A status fault: the one kind the emulator renders itself. */
export type StatusFault = Extract<EmulatorFault, { status: number }>;

/** Faults queued per route, served in order; `'any'` serves a request whose own route has none queued. */
export class FaultQueue<Route extends string, F = EmulatorFault> {
  private readonly queues = new Map<Route | 'any', F[]>();

  inject(route: Route | 'any', faults: readonly F[]): void {
    this.queues.set(route, [...(this.queues.get(route) ?? []), ...faults]);
  }

  /** The next fault for a request on `route` (undefined: not a faultable route, so only `any` if `useAny`). */
  take(route: Route | undefined, useAny = true): F | undefined {
    const own = route === undefined ? undefined : this.queues.get(route);
    if (own && own.length > 0) return own.shift();
    return useAny ? this.queues.get('any')?.shift() : undefined;
  }

  pending(route: Route | 'any'): number {
    return this.queues.get(route)?.length ?? 0;
  }

  clear(): void {
    this.queues.clear();
  }
}

/** One request as the handler sees it, after its body was read. */
export interface EmulatorExchange<R = Record<string, unknown>> {
  readonly req: IncomingMessage;
  readonly method: string;
  /** Parsed against the server's own origin, so `url.host` is 127.0.0.1:<port>. */
  readonly url: URL;
  readonly body: Buffer;
  /** The body as UTF-8. */
  text(): string;
  /** `clock()` when the request arrived. */
  readonly at: number;
  /** Fields the handler adds to this request's log entry (passed to `record`). */
  readonly log: Partial<R>;
}

export interface EmulatorServerOptions<R> {
  /** Default 0: any free port. */
  port?: number;
  /** PEM key and certificate chain: serve https. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Default 1 MiB (Infinity: no limit). A larger body is answered by `tooLarge` and the connection closed. */
  maxBodyBytes?: number;
  /** Milliseconds since the epoch, for `at`; default Date.now. */
  clock?: () => number;
  handle(exchange: EmulatorExchange<R>): EmulatorReply | Promise<EmulatorReply>;
  /** This request's fault, e.g. from a FaultQueue; called once per request, after the body is read. */
  fault?(exchange: EmulatorExchange<R>): EmulatorFault | undefined;
  /** Renders a status fault; default: its body as JSON (or text), empty when unset. */
  faultReply?(fault: StatusFault, exchange: EmulatorExchange<R>): EmulatorReply;
  tooLarge?(limit: number): EmulatorReply;
  internalError?(error: unknown, exchange: EmulatorExchange<R>): EmulatorReply | 'reset';
  /** The log entry of a request (status 0: no answer); none is kept when unset or undefined is returned. */
  record?(exchange: EmulatorExchange<R>, status: number): R | undefined;
}

export interface EmulatorServer<R> {
  /** `http://127.0.0.1:<port>` or `https://...`. */
  readonly url: string;
  readonly port: number;
  /** Every request, in arrival-of-answer order; only grows (fault feeders read it incrementally). */
  readonly requests: R[];
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const defaultFaultReply = (fault: StatusFault): EmulatorReply => {
  const body = fault.body === undefined ? '' : typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body);
  const type = typeof fault.body === 'object' ? 'application/json' : 'text/plain; charset=utf-8';
  return { status: fault.status, headers: { 'Content-Type': type, ...fault.headers }, body };
};

const text = (status: number, message: string): EmulatorReply => ({
  status,
  headers: { 'Content-Type': 'text/plain; charset=utf-8' },
  body: message,
});

export async function startEmulatorServer<R = Record<string, unknown>>(
  options: EmulatorServerOptions<R>,
): Promise<EmulatorServer<R>> {
  const clock = options.clock ?? Date.now;
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const requests: R[] = [];
  /** Sockets of hung requests, and timers of delayed answers: close() ends both. */
  const hung = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let origin = 'http://127.0.0.1';

  const later = (ms: number, action: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timers.add(timer);
  };

  function head(res: ServerResponse, reply: EmulatorReply): Buffer {
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : (reply.body ?? Buffer.alloc(0));
    res.writeHead(reply.status, { ...reply.headers, 'Content-Length': body.length });
    return body;
  }

  function send(req: IncomingMessage, res: ServerResponse, reply: EmulatorReply): void {
    if (res.destroyed) return; // the client gave up while the answer was delayed
    const body = head(res, reply);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  function hang(req: IncomingMessage): void {
    const socket = req.socket;
    if (closed) return void socket.destroy();
    hung.add(socket);
    socket.once('close', () => hung.delete(socket));
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', origin);
    } catch {
      url = new URL('/', origin);
    }
    let body: Buffer = Buffer.alloc(0);
    const exchange: EmulatorExchange<R> = {
      req,
      method,
      url,
      get body() {
        return body;
      },
      text: () => body.toString('utf8'),
      at: clock(),
      log: {},
    };
    const record = (status: number): void => {
      const entry = options.record?.(exchange, status);
      if (entry !== undefined) requests.push(entry);
    };
    // A write to a socket the client already closed (it gave up on a slow answer) must not crash the emulator.
    res.on('error', () => undefined);
    try {
      body = await readBody(req, limit);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) {
        record(0);
        req.socket.destroy();
        return;
      }
      const reply = options.tooLarge?.(limit) ?? text(413, `request body larger than ${limit} bytes`);
      record(reply.status);
      res.shouldKeepAlive = false;
      send(req, res, { ...reply, headers: { ...reply.headers, Connection: 'close' } });
      return;
    }
    try {
      const fault = options.fault?.(exchange);
      if (fault === 'reset' || fault === 'hang') {
        record(0);
        if (fault === 'reset') req.socket.destroy();
        else hang(req);
        return;
      }
      if (typeof fault === 'object' && 'status' in fault) {
        const reply = (options.faultReply ?? defaultFaultReply)(fault, exchange);
        record(reply.status);
        send(req, res, reply);
        return;
      }
      const reply = await options.handle(exchange);
      if (fault === 'reset-after' || closed) {
        record(0);
        req.socket.destroy();
        return;
      }
      record(reply.status);
      if (typeof fault === 'object' && 'delayMs' in fault) later(fault.delayMs, () => send(req, res, reply));
      else if (typeof fault === 'object' && 'slowBodyMs' in fault) {
        const payload = head(res, reply);
        res.flushHeaders();
        later(fault.slowBodyMs, () => {
          if (!res.destroyed) res.end(req.method === 'HEAD' ? undefined : payload);
        });
      } else send(req, res, reply);
    } catch (err) {
      const reply = res.headersSent
        ? 'reset'
        : (options.internalError?.(err, exchange) ?? text(500, `internal error: ${String(err)}`));
      if (reply === 'reset') {
        record(0);
        req.socket.destroy();
        return;
      }
      record(reply.status);
      send(req, res, reply);
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => void serve(req, res);
  const server: Server = options.tls ? createHttpsServer(options.tls, listener) : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  return {
    url: origin,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        closed = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const socket of hung) socket.destroy();
        hung.clear();
        if (!server.listening) return resolve();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
