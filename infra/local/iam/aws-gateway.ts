/**
 * The local stack's front for one AWS service: an HTTP proxy on 127.0.0.1 before its emulator (dynalite,
 * local-aws-sqs, or ours for Secrets Manager, STS and EKS) that does what AWS does before the service answers:
 *
 * 1. authenticates: the SigV4 signature (Authorization header, or a presigned query) must verify against a key of the
 *    principal registry (./sigv4-verifier.ts); otherwise the service's own error (InvalidClientTokenId /
 *    UnrecognizedClientException, SignatureDoesNotMatch / InvalidSignatureException, ...: ./aws-error-shapes.ts);
 * 2. authorizes: every permission the request needs (./aws-request-action.ts) must be allowed by the signer's identity
 *    policies and the resource's policy (./iam-principals.ts); otherwise the service's AccessDenied with AWS's message;
 * 3. injects chaos faults per the FaultPlan (DynamoDB and SQS: AWS-shaped throttling / internal errors, connection
 *    resets), after authorization as AWS throttles only what it accepted;
 * 4. forwards, and for SQS stamps each message with its signer's SenderId and keeps queue URLs naming the gateway
 *    (./sqs-sender-ids.ts, shared by every gateway in front of the same local-aws-sqs).
 *
 * `observe` sees the operation (and body) of every request that arrives, refused ones included: the benchmark counts
 * calls there, at the wire. Without `principals` the gateway checks nothing and only observes and injects faults (as
 * the stack's DynamoDB fault proxy did); with `enforce: false` it authenticates and stamps SenderIds but authorizes
 * nothing (the previous SQS identity proxy).
 *
 * Not signed by design, so forwarded as they are: STS AssumeRoleWithWebIdentity (the role's trust policy decides it,
 * not the caller's policies) and the STS emulator's token issuer documents (`GET /.well-known/...`, public on AWS).
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultPlan } from '../faults/fault-plan.js';
import {
  type AwsError,
  accessDeniedError,
  authFailureError,
  encodeAwsError,
  FAULT_ERRORS,
} from './aws-error-shapes.js';
import { type AwsService, awsOperation, awsRequestAction, type RequestActionContext } from './aws-request-action.js';
import type { IamPrincipals } from './iam-principals.js';
import { type SigV4Request, sigV4Request, verifySigV4Request } from './sigv4-verifier.js';
import type { AnswerRewrite, SqsSenderIds } from './sqs-sender-ids.js';

export interface AwsGatewayOptions {
  service: AwsService;
  /** The emulator behind, e.g. `http://127.0.0.1:4566`. */
  upstreamUrl: string;
  region: string;
  accountId: string;
  /** Who may call, with what policies. Absent: nothing is checked (observe and faults only). */
  principals?: IamPrincipals;
  /** Authorize each request against IAM (default true); false authenticates only. */
  enforce?: boolean;
  /** SQS: stamp SenderIds and rewrite queue URLs; one instance per local-aws-sqs, shared by its gateways. */
  sqsSenderIds?: SqsSenderIds;
  /** Secrets Manager: a secret's full ARN from the name or partial ARN a request gives. */
  secretArn?: RequestActionContext['secretArn'];
  /** Chaos: the faults to inject (DynamoDB and SQS). */
  plan?: FaultPlan;
  /** Told the operation (and body) of every request that arrives (refused ones included). */
  observe?: (operation: string, body: Buffer) => void;
  /** Told each request the emulator answered with a 2xx, after the answer (e.g. a message is in its queue now). */
  answered?: (operation: string, body: Buffer) => void;
  /** Port to listen on (default 0: any free one). */
  port?: number;
}

export interface AwsGateway {
  url: string;
  close(): Promise<void>;
}

/** A request refused before it is forwarded, or how to follow one that is. */
type Admission = { refuse: AwsError; queryProtocol: boolean } | { rewrite: AnswerRewrite | undefined };

export async function startAwsGateway(options: AwsGatewayOptions): Promise<AwsGateway> {
  const { service, plan, observe } = options;
  const target = new URL(options.upstreamUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const context: RequestActionContext = {
    region: options.region,
    accountId: options.accountId,
    ...(options.secretArn ? { secretArn: options.secretArn } : {}),
  };
  let url = '';

  const admit = async (request: SigV4Request, operation: string): Promise<Admission> => {
    const { principals } = options;
    if (!principals) return { rewrite: undefined };
    const isPublic = service === 'sts' && request.method === 'GET' && request.url.pathname.startsWith('/.well-known/');
    if (isPublic) return { rewrite: undefined };
    const action = await awsRequestAction(service, request, context);
    const signed = request.headers.authorization || request.url.searchParams.has('X-Amz-Signature');
    if (action.unsigned && !signed) return { rewrite: undefined };
    const queryProtocol = action.queryProtocol === true;
    const verified = verifySigV4Request(request, {
      region: options.region,
      service,
      credentials: principals.secretOf,
    });
    if (!verified.ok) return { refuse: authFailureError(service, verified.failure), queryProtocol };
    const principal = principals.byAccessKeyId(verified.identity.accessKeyId);
    if (!principal) {
      return { refuse: authFailureError(service, { kind: 'unknown-key', message: '' }), queryProtocol };
    }
    if (options.enforce !== false && !action.unsigned) {
      for (const check of action.checks) {
        const decision = await principals.authorize(principal, check);
        if (!decision.allowed) {
          return { refuse: accessDeniedError(service, decision.message ?? ''), queryProtocol };
        }
      }
    }
    const stamps = service === 'sqs' && !queryProtocol ? options.sqsSenderIds : undefined;
    return { rewrite: stamps?.follow(operation, principal.userId, url) };
  };

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    rewrite: AnswerRewrite | undefined,
    operation: string,
  ): void => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        const status = answer.statusCode ?? 0;
        if (options.answered && status >= 200 && status < 300) {
          answer.once('end', () => options.answered?.(operation, body));
        }
        if (!rewrite) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('error', () => {
          rewrite.failed();
          req.socket.destroy();
        });
        answer.on('end', () => {
          const status = answer.statusCode ?? 502;
          rewrite.answered(status, Buffer.concat(chunks)).then(
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
      rewrite?.failed();
      req.socket.destroy();
    });
    upstream.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const request = sigV4Request(req, body);
    const operation = awsOperation(service, request);
    observe?.(operation, body);
    const admission = await admit(request, operation);
    if ('refuse' in admission) {
      send(res, encodeAwsError(service, admission.refuse, admission.queryProtocol));
      return;
    }
    const faulted = service === 'dynamodb' || service === 'sqs' ? service : undefined;
    const how = faulted ? plan?.decide(faulted) : undefined;
    if (faulted && how !== undefined) {
      plan?.count(faulted, how);
      admission.rewrite?.failed();
      if (how === 'reset') req.socket.destroy();
      else send(res, encodeAwsError(faulted, FAULT_ERRORS[faulted][how]));
      return;
    }
    forward(req, res, body, admission.rewrite, operation);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => req.socket.destroy());
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch(() => req.socket.destroy());
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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

function send(res: ServerResponse, reply: { status: number; headers: Record<string, string>; body: string }): void {
  res.writeHead(reply.status, { ...reply.headers, 'Content-Length': String(Buffer.byteLength(reply.body)) });
  res.end(reply.body);
}
