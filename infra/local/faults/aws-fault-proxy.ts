/**
 * A tiny HTTP proxy on 127.0.0.1 in front of dynalite or local-aws-sqs. Per the fault plan (when there is one) it
 * answers a request with the error AWS itself would send (which the SDK retries, or surfaces, exactly as on AWS), or
 * resets the connection before forwarding; everything else is forwarded unchanged. `observe` sees the operation
 * of every request that arrives (the `X-Amz-Target` both JSON protocols send, e.g. `DynamoDB_20120810.GetItem`,
 * `AmazonSQS.SendMessage`): the benchmark counts calls there, at the wire, not in the code that makes them.
 *
 * A `guard` adds what the emulator behind does not do itself (for SQS: ../emulators/sqs-identity.ts, which checks
 * the SigV4 signature and stamps each message's SenderId): it sees each request first (before the fault plan, as AWS
 * authenticates before anything else) and may refuse it with an AWS error, or follow it and rewrite its answer.
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultPlan } from './fault-plan.js';

export interface AwsFaultProxy {
  url: string;
  close(): Promise<void>;
}

type Service = 'dynamodb' | 'sqs';

/** An error as an AWS JSON-protocol service answers it. */
export interface AwsError {
  status: number;
  /** The `__type` of the body, e.g. `com.amazonaws.sqs#RequestThrottled`. */
  type: string;
  message: string;
  /** SQS JSON protocol (awsQueryCompatible): `x-amzn-query-error: <Code>;<Sender|Receiver>`. */
  queryError?: string;
}

/** Follows one forwarded request to its answer. */
export interface AwsProxyExchange {
  /** The upstream answer (status, body); resolves to the body to send to the client instead. */
  answered(status: number, body: Buffer): Promise<Buffer>;
  /** The request got no answer (upstream failure, or the fault plan reset it before forwarding). */
  failed(): void;
}

export interface AwsProxyGuard {
  /**
   * Sees every request first, with its whole body. Returns the AWS error that refuses it, an exchange that follows
   * it to its answer, or undefined to let it through untouched. `proxyUrl` is the origin the client called.
   */
  admit(
    req: IncomingMessage,
    body: Buffer,
    operation: string,
    proxyUrl: string,
  ): AwsError | AwsProxyExchange | undefined;
}

export interface AwsProxyOptions {
  /** Chaos: the faults to inject. */
  plan?: FaultPlan;
  /** Told the operation (and body) of every request that arrives (refused ones included). */
  observe?: (operation: string, body: Buffer) => void;
  guard?: AwsProxyGuard;
}

const ERRORS: Record<Service, Record<'throttled' | 'internal-error', AwsError>> = {
  dynamodb: {
    throttled: {
      status: 400,
      type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: 'The level of configured provisioned throughput for the table was exceeded.',
    },
    'internal-error': {
      status: 500,
      type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
      message: 'Internal server error',
    },
  },
  sqs: {
    throttled: {
      status: 400,
      type: 'com.amazonaws.sqs#RequestThrottled',
      message: 'Rate exceeded',
      queryError: 'RequestThrottled;Sender',
    },
    'internal-error': {
      status: 500,
      type: 'com.amazonaws.sqs#InternalError',
      message: 'We encountered an internal error. Please try again.',
      queryError: 'InternalError;Receiver',
    },
  },
};

export async function startAwsProxy(
  service: Service,
  targetUrl: string,
  options: AwsProxyOptions = {},
): Promise<AwsFaultProxy> {
  const { plan, observe, guard } = options;
  const target = new URL(targetUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let url = '';

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, exchange?: AwsProxyExchange): void => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        if (!exchange) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('error', () => {
          exchange.failed();
          req.socket.destroy();
        });
        answer.on('end', () => {
          const status = answer.statusCode ?? 502;
          exchange.answered(status, Buffer.concat(chunks)).then(
            (text) => {
              const headers = { ...answer.headers, 'content-length': String(text.length) };
              delete headers['transfer-encoding'];
              res.writeHead(status, headers);
              res.end(text);
            },
            () => req.socket.destroy(),
          );
        });
      },
    );
    upstream.on('error', () => {
      exchange?.failed();
      req.socket.destroy();
    });
    upstream.end(body);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => req.socket.destroy());
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = operationOf(req);
      observe?.(operation, body);
      const admitted = guard?.admit(req, body, operation, url);
      if (admitted && 'status' in admitted) {
        sendError(res, admitted);
        return;
      }
      const how = plan?.decide(service);
      if (how === 'reset') {
        plan?.count(service, how);
        admitted?.failed();
        req.socket.destroy();
        return;
      }
      if (how !== undefined) {
        plan?.count(service, how);
        admitted?.failed();
        sendError(res, ERRORS[service][how]);
        return;
      }
      forward(req, res, body, admitted);
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}

/** Answers with an AWS JSON-protocol error. */
function sendError(res: ServerResponse, error: AwsError): void {
  const body = JSON.stringify({ __type: error.type, message: error.message });
  res.writeHead(error.status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': crypto.randomUUID(),
    ...(error.queryError ? { 'x-amzn-query-error': error.queryError } : {}),
  });
  res.end(body);
}

/** `DynamoDB_20120810.GetItem` -> `GetItem`; a request without the header (not the JSON protocol) -> its method. */
function operationOf(req: IncomingMessage): string {
  const target = req.headers['x-amz-target'];
  const value = Array.isArray(target) ? target[0] : target;
  return value ? value.slice(value.lastIndexOf('.') + 1) : (req.method ?? 'UNKNOWN');
}
