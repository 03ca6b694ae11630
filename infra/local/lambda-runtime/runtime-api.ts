/**
 * The Lambda Runtime API (version 2018-06-01) of one execution environment, on 127.0.0.1: the HTTP interface a
 * runtime (here aws-lambda-ric) polls for invocations and posts results to, as documented in
 * https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html. One server serves one environment, and an
 * environment runs one invocation at a time, as in Lambda (no AWS_LAMBDA_MAX_CONCURRENCY).
 *
 *   GET  /2018-06-01/runtime/invocation/next              long poll: 200, the event, Lambda-Runtime-* headers
 *   POST /2018-06-01/runtime/invocation/{id}/response     202; 413 over 6291556 bytes; 400 unknown request id
 *   POST /2018-06-01/runtime/invocation/{id}/error        202 (errorType, errorMessage, stackTrace)
 *   POST /2018-06-01/runtime/init/error                   202 during init; 403 once init is over
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Lambda's limit on a synchronous invocation's response, in bytes (6 MB plus a little, as Lambda counts it). */
export const MAX_RESPONSE_BYTES = 6_291_556;

const PREFIX = '/2018-06-01/runtime';

export interface Invocation {
  requestId: string;
  /** The event, already serialized to JSON. */
  payload: string;
  /** When the function times out, in ms since the epoch (Lambda-Runtime-Deadline-Ms). */
  deadlineMs: number;
  invokedFunctionArn: string;
  /** X-Ray trace header; one is made up (not sampled) when not given, as Lambda always sends one. */
  traceId?: string;
  /** The client context, JSON (Lambda-Runtime-Client-Context). */
  clientContext?: string;
  /** The Cognito identity, JSON (Lambda-Runtime-Cognito-Identity). */
  cognitoIdentity?: string;
}

export interface RuntimeError {
  errorType: string;
  errorMessage: string;
  stackTrace: string[];
}

export type InvocationResult =
  /** The body the runtime posted: the handler's result as JSON. */
  | { kind: 'response'; body: string }
  /** The runtime reported a function error, or the response was refused (Function.ResponseSizeTooLarge). */
  | ({ kind: 'error' } & RuntimeError);

export type InitResult = { kind: 'ready' } | ({ kind: 'initError' } & RuntimeError);

export interface RuntimeApi {
  /** host:port, the value of AWS_LAMBDA_RUNTIME_API. */
  readonly address: string;
  /** Settles once: ready at the runtime's first /next, or the error it posted to /init/error. */
  readonly init: Promise<InitResult>;
  /** Hands an invocation to the runtime (now, or at its next /next) and resolves with what it posted back. */
  invoke(invocation: Invocation): Promise<InvocationResult>;
  /** Closes the server and every connection; an unfinished invoke() rejects. Idempotent. */
  close(): Promise<void>;
}

interface Current {
  invocation: Invocation;
  delivered: boolean;
  resolve: (result: InvocationResult) => void;
  reject: (error: Error) => void;
}

export async function startRuntimeApi(options: { maxResponseBytes?: number } = {}): Promise<RuntimeApi> {
  const maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  let initResolve!: (result: InitResult) => void;
  const init = new Promise<InitResult>((resolve) => {
    initResolve = resolve;
  });
  let initOver = false;
  /** The runtime's open /next request, while it waits for work. */
  let waiting: ServerResponse | undefined;
  let current: Current | undefined;
  let closed = false;

  const endInit = (result: InitResult) => {
    if (initOver) return;
    initOver = true;
    initResolve(result);
  };

  const deliver = () => {
    if (!waiting || !current || current.delivered) return;
    const res = waiting;
    waiting = undefined;
    current.delivered = true;
    const { invocation } = current;
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'Lambda-Runtime-Aws-Request-Id': invocation.requestId,
      'Lambda-Runtime-Deadline-Ms': String(invocation.deadlineMs),
      'Lambda-Runtime-Invoked-Function-Arn': invocation.invokedFunctionArn,
      'Lambda-Runtime-Trace-Id': invocation.traceId ?? unsampledTraceId(),
    };
    if (invocation.clientContext !== undefined) headers['Lambda-Runtime-Client-Context'] = invocation.clientContext;
    if (invocation.cognitoIdentity !== undefined)
      headers['Lambda-Runtime-Cognito-Identity'] = invocation.cognitoIdentity;
    res.writeHead(200, headers).end(invocation.payload);
  };

  const finish = (requestId: string, result: InvocationResult): boolean => {
    if (!current?.delivered || current.invocation.requestId !== requestId) return false;
    const { resolve } = current;
    current = undefined;
    resolve(result);
    return true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'GET' && path === `${PREFIX}/invocation/next`) {
      await drain(req, 0);
      if (waiting || current?.delivered) {
        // One invocation at a time: a second poll, or a poll before answering the invocation it has, is a bug.
        return reply(
          res,
          403,
          'InvalidStateTransition',
          'The runtime asked for the next invocation before ending this one',
        );
      }
      endInit({ kind: 'ready' });
      waiting = res;
      // The runtime gave up on this poll (its process ended): forget it.
      res.on('close', () => {
        if (waiting === res) waiting = undefined;
      });
      deliver();
      return;
    }
    if (req.method === 'POST' && path === `${PREFIX}/init/error`) {
      const body = await drain(req, maxResponseBytes);
      if (initOver) return reply(res, 403, 'InvalidStateTransition', 'Init error reported after init ended');
      endInit({ kind: 'initError', ...runtimeError(body?.toString('utf8'), req) });
      return accepted(res);
    }
    const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
    if (req.method === 'POST' && match) {
      const requestId = decodeURIComponent(match[1] ?? '');
      const known = current?.delivered && current.invocation.requestId === requestId;
      if (!known) {
        await drain(req, 0);
        return reply(res, 400, 'InvalidRequestID', `Invalid request ID: ${requestId}`);
      }
      if (match[2] === 'error') {
        const body = await drain(req, maxResponseBytes);
        finish(requestId, { kind: 'error', ...runtimeError(body?.toString('utf8'), req) });
        return accepted(res);
      }
      const body = await drain(req, maxResponseBytes);
      if (body === undefined) {
        // Refused as Lambda refuses it: the runtime gets 413, the caller a function error.
        finish(requestId, {
          kind: 'error',
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `Response payload size exceeded maximum allowed payload size (${maxResponseBytes} bytes).`,
          stackTrace: [],
        });
        return reply(
          res,
          413,
          'RequestEntityTooLarge',
          `Exceeded maximum allowed payload size (${maxResponseBytes} bytes).`,
        );
      }
      finish(requestId, { kind: 'response', body: body.toString('utf8') });
      return accepted(res);
    }
    await drain(req, 0);
    return reply(res, 404, 'NotFound', `No such Runtime API route: ${req.method} ${path}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, 'ServiceException', error instanceof Error ? error.message : String(error));
    });
  });
  // The /next long poll may wait as long as the environment is idle: no server timeout may end it.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    address: `127.0.0.1:${port}`,
    init,
    invoke(invocation) {
      if (closed) return Promise.reject(new Error('The Runtime API is closed'));
      if (current) return Promise.reject(new Error('The environment is already running an invocation'));
      return new Promise<InvocationResult>((resolve, reject) => {
        current = { invocation, delivered: false, resolve, reject };
        deliver();
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        current?.reject(new Error('The Runtime API closed before the runtime answered'));
        current = undefined;
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * Reads a request body. Returns undefined when it is longer than `limit` bytes (the rest is read and dropped, so
 * the client sees a proper answer rather than a reset).
 */
async function drain(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}

/** The error a runtime posted: the documented body, or the ric's `trace` spelling, or the header alone. */
function runtimeError(body: string | undefined, req: IncomingMessage): RuntimeError {
  const headerType = req.headers['lambda-runtime-function-error-type'];
  let parsed: { errorType?: unknown; errorMessage?: unknown; stackTrace?: unknown; trace?: unknown } = {};
  try {
    const value = body ? (JSON.parse(body) as unknown) : {};
    if (value && typeof value === 'object') parsed = value;
  } catch {
    // Not JSON: the header still says what kind of error it was.
  }
  const trace = parsed.stackTrace ?? parsed.trace;
  return {
    errorType:
      typeof parsed.errorType === 'string'
        ? parsed.errorType
        : typeof headerType === 'string'
          ? headerType
          : 'Runtime.Unknown',
    errorMessage: typeof parsed.errorMessage === 'string' ? parsed.errorMessage : (body ?? ''),
    stackTrace: Array.isArray(trace) ? trace.map(String) : [],
  };
}

function accepted(res: ServerResponse): void {
  res.writeHead(202, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'OK' }));
}

function reply(res: ServerResponse, status: number, errorType: string, errorMessage: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errorMessage, errorType }));
}

/** An X-Ray trace header of an unsampled request, the shape Lambda sends when tracing is off. */
function unsampledTraceId(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
}
