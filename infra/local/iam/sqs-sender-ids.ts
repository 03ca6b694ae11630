/**
 * What SQS does with its caller's identity that local-aws-sqs does not: every message is received with its sender's
 * SenderId (local-aws-sqs stamps one constant, `ABCDEFGHI1JKLMNOPQ23R`), and the queue URLs it answers name the
 * endpoint the client called. One instance serves every gateway in front of the same local-aws-sqs, so a message sent
 * through one and received through another keeps its sender.
 *
 * How SenderId is stamped: local-aws-sqs refuses any system attribute but AWSTraceHeader on SendMessage, so the
 * request cannot carry it. Instead the MessageId of every message sent through a gateway (SendMessage,
 * SendMessageBatch answers) is remembered with its signer's SenderId, and `Attributes.SenderId` is rewritten in
 * ReceiveMessage answers. A ReceiveMessage answer first waits for the sends still in flight, so a message received
 * before its SendMessage answer came back still gets its sender. A message never seen sent (sent to local-aws-sqs
 * directly, with the query protocol, or moved to a DLQ, which local-aws-sqs does under a new MessageId) keeps
 * local-aws-sqs's constant, which names no principal.
 *
 * Verified:
 * - SenderId (ReceiveMessage API reference, quoted in aws/aws-sdk #56): "For an IAM user, returns the IAM user ID,
 *   for example ABCDEFGHI1JKLMNOPQ23R. For an IAM role, returns the IAM role ID, for example
 *   ABCDE1F2GH3I4JK5LMNOP:i-a123b456", i.e. `<role id>:<session name>` for a role session.
 * - SendMessage takes only AWSTraceHeader in MessageSystemAttributes (the API's MessageSystemAttributeNameForSends);
 *   local-aws-sqs 2.0.2 refuses any other name itself, HTTP 400 InvalidParameterValue "Message system attribute name
 *   'SenderId' is invalid." (so a client can never choose its SenderId).
 */

/** Follows one forwarded request to its answer. */
export interface AnswerRewrite {
  /** The upstream answer (status, body); resolves to the body to send to the client instead. */
  answered(status: number, body: Buffer): Promise<Buffer>;
  /** The request got no answer (upstream failure, or a fault reset it before forwarding). */
  failed(): void;
}

interface JsonObject {
  [key: string]: unknown;
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

export class SqsSenderIds {
  private readonly maxMessages: number;
  /** MessageId -> SenderId of the messages sent through a gateway, oldest first. */
  private readonly senders = new Map<string, string>();
  /** Sends forwarded whose answers are not read yet. */
  private readonly sendsInFlight = new Set<Promise<void>>();

  /** `maxMessages`: how many sent messages' senders to remember (the oldest are forgotten first). Default 100000. */
  constructor(options: { maxMessages?: number } = {}) {
    this.maxMessages = options.maxMessages ?? 100_000;
  }

  /** The SenderId a message sent through a gateway was stamped with (undefined if it was not). */
  senderOf(messageId: string): string | undefined {
    return this.senders.get(messageId);
  }

  /**
   * How to follow a JSON-protocol request of `operation` by `senderId` through `proxyUrl` (the origin the client
   * called): undefined when its answer needs nothing.
   */
  follow(operation: string, senderId: string, proxyUrl: string): AnswerRewrite | undefined {
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
        return queueUrls(proxyUrl);
      default:
        return undefined;
    }
  }

  private send(senderId: string): AnswerRewrite {
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

  private receive(): AnswerRewrite {
    return {
      answered: async (status, body) => {
        const answer = status === 200 ? parseObject(body) : undefined;
        const messages = objects(answer?.Messages);
        if (!answer || messages.length === 0) return body;
        // A message in this answer was stored before the answer was written, so its send, if it went through a
        // gateway, is among those in flight now.
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

  private remember(messageId: string, senderId: string): void {
    this.senders.set(messageId, senderId);
    if (this.senders.size > this.maxMessages) {
      const oldest = this.senders.keys().next().value;
      if (oldest !== undefined) this.senders.delete(oldest);
    }
  }
}

/** Queue URLs in the answer rewritten to name the gateway, so a client sending to a queue URL's host stays behind it. */
function queueUrls(proxyUrl: string): AnswerRewrite {
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
