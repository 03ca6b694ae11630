/**
 * One work queue with its dead-letter queue. Both are SSE-SQS encrypted and refuse plain HTTP (enforceSSL). The
 * visibility timeout follows the consuming function's timeout (AWS advises at least 6x, so Lambda can retry a
 * throttled batch before its messages become visible again), and a message received `maxReceiveCount` times moves
 * to the DLQ; the handlers read the same count as MAX_RECEIVE_COUNT, so on the last receive they record why the
 * job failed.
 *
 * The work queue's resource policy names its producers (limitSendersTo): an explicit Deny of sqs:SendMessage to any
 * principal whose aws:userid is not one of theirs. IAM identity policies alone would let any principal in the
 * account that holds sqs:SendMessage on * (an admin, a broad CI role) put work, in any namespace, on the queue.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, Grant, type IGrantable, PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PRINCIPAL_ID } from '../../shared/caller-namespaces.js';

/**
 * A principal allowed to send to a work queue: a role (any of its sessions, such as a function's), or an IAM unique
 * id, `AROA…` for a role (any of its sessions) or `AIDA…` for a user.
 */
export type QueueProducer = Pick<Role, 'roleId'> | string;

/** The aws:userid pattern of a producer: a role's sessions are `<RoleId>:<session>`, a user's id is exact. */
export function producerUserIds(producer: QueueProducer): string {
  if (typeof producer !== 'string') return `${producer.roleId}:*`;
  if (PRINCIPAL_ID.test(producer)) return producer.startsWith('AROA') ? `${producer}:*` : producer;
  throw new Error(`Queue producer ${producer} is neither a role nor an IAM unique id (AROA… or AIDA…)`);
}

export interface JobQueueProps {
  /** Timeout of the function consuming this queue. */
  consumerTimeout: Duration;
  maxReceiveCount: number;
}

export class JobQueue extends Construct {
  /** Visibility timeout = this × consumer timeout (Lambda's SQS event source guidance). */
  static readonly VISIBILITY_TIMEOUT_FACTOR = 6;

  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: JobQueueProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows: time to read why, and to redrive once the cause is fixed.
      retentionPeriod: Duration.days(14),
      // Queues hold in-flight work only; a job's outcome lives in the jobs table.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * JobQueue.VISIBILITY_TIMEOUT_FACTOR),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /**
   * Denies sqs:SendMessage on the work queue to every principal but these (each still needs an identity policy
   * allowing it, such as grantSend's). Call once, with every producer.
   */
  limitSendersTo(producers: readonly QueueProducer[]): void {
    if (producers.length === 0) throw new Error('A work queue needs at least one producer');
    const userIds = [...new Set(producers.map(producerUserIds))];
    const result = this.queue.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyNamedProducersSend',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: { StringNotLike: { 'aws:userid': userIds } },
      }),
    );
    if (!result.statementAdded) throw new Error(`Could not add the producer policy to ${this.node.path}`);
  }

  /** sqs:SendMessage on the work queue and nothing else (queueUrl comes from the environment, not GetQueueUrl). */
  grantSend(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage'], resourceArns: [this.queue.queueArn] });
  }
}
