/**
 * Who calls SQS, as SQS itself knows it: the guard of the local stack's SQS proxy (../faults/aws-fault-proxy.ts) in
 * front of local-aws-sqs, which checks no signature and stamps every message with one constant SenderId
 * (`ABCDEFGHI1JKLMNOPQ23R`). Every request must be signed (SigV4, service `sqs`, the stack's region) by a known key,
 * verified by ./aws-sigv4.ts; each message sent is then received with its signer's SenderId.
 *
 * How SenderId is stamped: local-aws-sqs refuses any system attribute but AWSTraceHeader on SendMessage, so the
 * request cannot carry it. Instead the guard remembers the MessageId of every message sent through the proxy
 * (SendMessage, SendMessageBatch answers) with its signer's SenderId, and rewrites `Attributes.SenderId` in
 * ReceiveMessage answers. A ReceiveMessage answer first waits for the sends still in flight, so a message received
 * before its SendMessage answer came back still gets its sender. A message the guard never saw sent (sent to
 * local-aws-sqs directly, with the query protocol, or moved to a DLQ, which local-aws-sqs does under a new
 * MessageId) keeps local-aws-sqs's constant, which names no principal.
 * Queue URLs in CreateQueue, GetQueueUrl, ListQueues and ListDeadLetterSourceQueues answers name the proxy the client
 * called, so a client that sends to a queue URL's host (the SDK's default) stays behind the proxy.
 *
 * Verified:
 * - SenderId (ReceiveMessage API reference, quoted in aws/aws-sdk #56): "For an IAM user, returns the IAM user ID,
 *   for example ABCDEFGHI1JKLMNOPQ23R. For an IAM role, returns the IAM role ID, for example
 *   ABCDE1F2GH3I4JK5LMNOP:i-a123b456", i.e. `<role id>:<session name>` for a role session.
 * - SendMessage takes only AWSTraceHeader in MessageSystemAttributes (the API's MessageSystemAttributeNameForSends);
 *   local-aws-sqs 2.0.2 refuses any other name itself, HTTP 400 InvalidParameterValue "Message system attribute name
 *   'SenderId' is invalid." (so a client can never choose its SenderId; test/unit/emulators/sqs-identity.test.ts
 *   holds it to that).
 * - Bad signature: SignatureDoesNotMatch, HTTP 403, Sender, "The request signature we calculated does not match ..."
 *   (SQS answers quoted in boto/boto #1573, aristidb/aws #126, erlcloud/erlcloud #113). Unknown access key:
 *   InvalidClientTokenId, HTTP 403, "The security token included in the request is invalid." (SQS GetQueueUrl,
 *   argoproj/notifications-engine #382).
 * - JSON protocol (awsQueryCompatible): the query error code travels in `x-amzn-query-error: <Code>;<Type>`
 *   (aws/aws-sdk-js-v3 PR #3972), which the SDK reports as the error's name.
 *
 * Assumed: the `__type` namespace `com.amazon.coral.service#` of these auth errors; no Authorization header reads
 * MissingAuthenticationToken, HTTP 403, "Request is missing Authentication Token", and a malformed one
 * IncompleteSignature, HTTP 400 (STS's, see sts.ts); a credential scoped to another region or service is
 * SignatureDoesNotMatch with aws-sigv4.ts's message; the request time is not checked against the clock.
 */
import type { IncomingMessage } from 'node:http';
import type { AwsError, AwsProxyExchange, AwsProxyGuard } from '../faults/aws-fault-proxy.js';
import { sigV4Identity, verifySigV4 } from './aws-sigv4.js';

/** A key SQS accepts, and the SenderId of the messages it signs. */
export interface SqsPrincipal {
  accessKeyId: string;
  secretAccessKey: string;
  /** An IAM user's id (`AIDA…`), or a role session's `<role id AROA…>:<session name>`. */
  senderId: string;
}

export interface SqsIdentityOptions {
  region: string;
  principals: readonly SqsPrincipal[];
  /** How many sent messages' senders to remember (the oldest are forgotten first). Default 100000. */
  maxMessages?: number;
}

interface JsonObject {
  [key: string]: unknown;
}

const coral = (status: number, code: string, message: string): AwsError => ({
  status,
  type: `com.amazon.coral.service#${code}`,
  message,
  queryError: `${code};Sender`,
});

/** SQS's names for what verifySigV4 reports in JSON-service terms. */
function sqsAuthError(type: string, message: string): AwsError {
  switch (type) {
    case 'MissingAuthenticationTokenException':
      return coral(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    case 'IncompleteSignatureException':
      return coral(400, 'IncompleteSignature', message);
    case 'UnrecognizedClientException':
      return coral(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    default:
      return coral(403, 'SignatureDoesNotMatch', message);
  }
}

function parseObject(body: Buffer): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

const objects = (value: unknown): JsonObject[] =>
  Array.isArray(value) ? value.filter((item): item is JsonObject => typeof item === 'object' && item !== null) : [];

/** The SQS proxy's guard: SigV4 verification and SenderId stamping, shared by every proxy in front of one SQS. */
export class SqsIdentity implements AwsProxyGuard {
  private readonly region: string;
  private readonly secrets: Record<string, string>;
  private readonly senderIds: Map<string, string>;
  private readonly maxMessages: number;
  /** MessageId -> SenderId of the messages sent through a proxy, oldest first. */
  private readonly senders = new Map<string, string>();
  /** Sends forwarded whose answers are not read yet. */
  private readonly sendsInFlight = new Set<Promise<void>>();

  constructor(options: SqsIdentityOptions) {
    this.region = options.region;
    this.secrets = Object.fromEntries(options.principals.map((p) => [p.accessKeyId, p.secretAccessKey]));
    this.senderIds = new Map(options.principals.map((p) => [p.accessKeyId, p.senderId]));
    this.maxMessages = options.maxMessages ?? 100_000;
  }

  /** The SenderId a message sent through the proxy was stamped with (undefined if it was not). */
  senderOf(messageId: string): string | undefined {
    return this.senders.get(messageId);
  }

  admit(
    req: IncomingMessage,
    body: Buffer,
    operation: string,
    proxyUrl: string,
  ): AwsError | AwsProxyExchange | undefined {
    const failure = verifySigV4(req, body, { region: this.region, service: 'sqs', credentials: this.secrets });
    if (failure) return sqsAuthError(failure.type, failure.message);
    const senderId = this.senderIds.get(sigV4Identity(req)?.accessKeyId ?? '');
    if (senderId === undefined) return sqsAuthError('UnrecognizedClientException', '');
    switch (operation) {
      case 'SendMessage':
      case 'SendMessageBatch':
        return this.send(senderId);
      case 'ReceiveMessage':
        return this.receive();
      case 'CreateQueue':
      case 'GetQueueUrl':
      case 'ListQueues':
      case 'ListDeadLetterSourceQueues':
        return this.queueUrls(proxyUrl);
      default:
        return undefined;
    }
  }

  private send(senderId: string): AwsProxyExchange {
    let settle = (): void => undefined;
    const inFlight = new Promise<void>((resolve) => {
      settle = () => {
        this.sendsInFlight.delete(inFlight);
        resolve();
      };
    });
    this.sendsInFlight.add(inFlight);
    return {
      answered: async (status, body) => {
        const answer = status === 200 ? parseObject(body) : undefined;
        if (answer) {
          if (typeof answer.MessageId === 'string') this.remember(answer.MessageId, senderId);
          for (const entry of objects(answer.Successful)) {
            if (typeof entry.MessageId === 'string') this.remember(entry.MessageId, senderId);
          }
        }
        settle();
        return body;
      },
      failed: settle,
    };
  }

  private receive(): AwsProxyExchange {
    return {
      answered: async (status, body) => {
        const answer = status === 200 ? parseObject(body) : undefined;
        const messages = objects(answer?.Messages);
        if (!answer || messages.length === 0) return body;
        // A message in this answer was stored before the answer was written, so its send, if it went through a
        // proxy, is among those in flight now.
        await Promise.all([...this.sendsInFlight]);
        for (const message of messages) {
          const attributes = message.Attributes as JsonObject | undefined;
          const senderId = typeof message.MessageId === 'string' ? this.senders.get(message.MessageId) : undefined;
          if (attributes && typeof attributes === 'object' && 'SenderId' in attributes && senderId !== undefined) {
            attributes.SenderId = senderId;
          }
        }
        return Buffer.from(JSON.stringify(answer));
      },
      failed: () => undefined,
    };
  }

  private queueUrls(proxyUrl: string): AwsProxyExchange {
    const viaProxy = (value: unknown): unknown => {
      if (typeof value !== 'string') return value;
      try {
        const url = new URL(value);
        const proxy = new URL(proxyUrl);
        url.protocol = proxy.protocol;
        url.host = proxy.host;
        return url.toString();
      } catch {
        return value;
      }
    };
    return {
      answered: async (status, body) => {
        const answer = status === 200 ? parseObject(body) : undefined;
        if (!answer) return body;
        if ('QueueUrl' in answer) answer.QueueUrl = viaProxy(answer.QueueUrl);
        for (const key of ['QueueUrls', 'queueUrls']) {
          if (Array.isArray(answer[key])) answer[key] = (answer[key] as unknown[]).map(viaProxy);
        }
        return Buffer.from(JSON.stringify(answer));
      },
      failed: () => undefined,
    };
  }

  private remember(messageId: string, senderId: string): void {
    this.senders.set(messageId, senderId);
    if (this.senders.size > this.maxMessages) {
      const oldest = this.senders.keys().next().value;
      if (oldest !== undefined) this.senders.delete(oldest);
    }
  }
}
