/**
 * One work queue with its dead-letter queue. Both are SSE-SQS encrypted and refuse plain HTTP (enforceSSL). The
 * visibility timeout follows the consuming function's timeout (AWS advises at least 6x, so Lambda can retry a
 * throttled batch before its messages become visible again), and a message received `maxReceiveCount` times moves
 * to the DLQ; the handlers read the same count as MAX_RECEIVE_COUNT, so on the last receive they record why the
 * job failed.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

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

  /** sqs:SendMessage on the work queue and nothing else (queueUrl comes from the environment, not GetQueueUrl). */
  grantSend(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage'], resourceArns: [this.queue.queueArn] });
  }
}
