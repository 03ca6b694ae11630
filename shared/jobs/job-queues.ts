/**
 * The three queues, as the handlers use them. Messages are JSON; a poll is re-sent with a delay (SQS caps
 * DelaySeconds at 900), which is how a job waits between polls without anything running.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { CancelMessage, PollMessage, SubmitMessage } from './messages.js';

export interface JobQueues {
  /** `delaySeconds`: a submission deferred because it could not finish in its invocation. */
  sendSubmit(message: SubmitMessage, delaySeconds?: number): Promise<void>;
  sendPoll(message: PollMessage, delaySeconds: number): Promise<void>;
  sendCancel(message: CancelMessage, delaySeconds?: number): Promise<void>;
}

export const MAX_SQS_DELAY_SECONDS = 900;

export class SqsJobQueues implements JobQueues {
  constructor(
    private readonly sqs: SQSClient,
    private readonly urls: { submit: string; poll: string; cancel: string },
  ) {}

  sendSubmit(message: SubmitMessage, delaySeconds = 0): Promise<void> {
    return this.send(this.urls.submit, message, delaySeconds);
  }

  sendPoll(message: PollMessage, delaySeconds: number): Promise<void> {
    return this.send(this.urls.poll, message, delaySeconds);
  }

  sendCancel(message: CancelMessage, delaySeconds = 0): Promise<void> {
    return this.send(this.urls.cancel, message, delaySeconds);
  }

  private async send(queueUrl: string, message: object, delaySeconds: number): Promise<void> {
    const DelaySeconds = Math.max(0, Math.min(MAX_SQS_DELAY_SECONDS, Math.round(delaySeconds)));
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message), DelaySeconds }),
    );
  }
}
