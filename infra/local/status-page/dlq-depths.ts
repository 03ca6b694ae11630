/**
 * The dead-letter queues' depths, as the dashboard's DLQ widget shows them (SQS's ApproximateNumberOfMessages):
 * read from the local SQS when asked, and sampled into a fixed ring so the page can draw them over time. A queue
 * that cannot be read shows as unknown, not as 0: an empty DLQ is the good news, and must not be faked.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface DlqDepth {
  /** The template's logical id of the queue (e.g. `PollQueueDeadLetterQueue0B2B2A9E`). */
  name: string;
  /** undefined when the queue could not be read. */
  depth: number | undefined;
}

export interface DlqSample {
  atMs: number;
  depths: DlqDepth[];
}

export async function readDlqDepths(sqs: SQSClient, queues: Readonly<Record<string, string>>): Promise<DlqDepth[]> {
  return Promise.all(
    Object.entries(queues).map(async ([name, url]) => {
      try {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
        );
        const depth = Number(Attributes.ApproximateNumberOfMessages);
        return { name, depth: Number.isFinite(depth) ? depth : undefined };
      } catch {
        return { name, depth: undefined };
      }
    }),
  );
}

/**
 * One sample per time bucket (the latest taken in it), the latest `capacity` buckets, oldest first: however often
 * the page is loaded, the history covers the same window in the same memory.
 */
export class DlqHistory {
  private readonly samples: DlqSample[] = [];

  constructor(
    private readonly capacity: number,
    private readonly bucketMs: number,
  ) {}

  add(sample: DlqSample): void {
    const last = this.samples.at(-1);
    if (last && Math.floor(last.atMs / this.bucketMs) === Math.floor(sample.atMs / this.bucketMs)) this.samples.pop();
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
  }

  all(): readonly DlqSample[] {
    return this.samples;
  }

  latest(): DlqSample | undefined {
    return this.samples.at(-1);
  }
}
