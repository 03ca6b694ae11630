/**
 * A tiny HTTP proxy on 127.0.0.1 in front of dynalite or local-aws-sqs. Per the fault plan (when there is one) it
 * answers a request with the error AWS itself would send (which the SDK retries, or surfaces, exactly as on AWS), or
 * resets the connection before forwarding; everything else is piped through unchanged. `observe` sees the operation
 * of every request that arrives (the `X-Amz-Target` both JSON protocols send, e.g. `DynamoDB_20120810.GetItem`,
 * `AmazonSQS.SendMessage`): the benchmark counts calls there, at the wire, not in the code that makes them.
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultPlan } from './fault-plan.js';

export interface AwsFaultProxy {
  url: string;
  close(): Promise<void>;
}

type Service = 'dynamodb' | 'sqs';

interface AwsError {
  status: number;
  type: string;
  message: string;
  /** SQS JSON protocol (awsQueryCompatible): `x-amzn-query-error: <Code>;<Sender|Receiver>`. */
  queryError?: string;
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

export async function startAwsFaultProxy(
  service: Service,
  targetUrl: string,
  plan: FaultPlan | undefined,
  observe?: (operation: string) => void,
): Promise<AwsFaultProxy> {
  const target = new URL(targetUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    observe?.(operationOf(req));
    const how = plan?.decide(service);
    if (how === 'reset') {
      plan?.count(service, how);
      req.socket.destroy();
      return;
    }
    if (how !== undefined) {
      plan?.count(service, how);
      const error = ERRORS[service][how];
      const body = JSON.stringify({ __type: error.type, message: error.message });
      req.resume();
      req.on('end', () => {
        res.writeHead(error.status, {
          'Content-Type': 'application/x-amz-json-1.0',
          'Content-Length': Buffer.byteLength(body),
          'x-amzn-RequestId': crypto.randomUUID(),
          ...(error.queryError ? { 'x-amzn-query-error': error.queryError } : {}),
        });
        res.end(body);
      });
      return;
    }
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}

/** `DynamoDB_20120810.GetItem` -> `GetItem`; a request without the header (not the JSON protocol) -> its method. */
function operationOf(req: IncomingMessage): string {
  const target = req.headers['x-amz-target'];
  const value = Array.isArray(target) ? target[0] : target;
  return value ? value.slice(value.lastIndexOf('.') + 1) : (req.method ?? 'UNKNOWN');
}
