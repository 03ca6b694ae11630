/**
 * The size check of a new job, before it is stored: a job whose item would not leave room for what it records
 * later (shared/jobs/item-size.ts) is refused whole. Accepting it would store a job whose every later write fails
 * (its auth, its run, even the reason it failed), left QUEUED until its TTL and blinding the sweeper meanwhile.
 * The request's JSON size cannot decide this: DynamoDB weighs nested lists at up to 1.75 times their JSON.
 */
import { ConnectorError } from '../errors.js';
import { DYNAMODB_ITEM_LIMIT_BYTES, dynamoItemSize, MAX_NEW_JOB_ITEM_BYTES } from './item-size.js';
import type { Job } from './job.js';

/** The job's item would be larger than a new job may be; nothing was stored. */
export class JobTooLargeError extends ConnectorError {
  constructor(
    readonly itemBytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `The job would be stored as ${itemBytes} bytes; the limit is ${limitBytes} bytes (DynamoDB allows ` +
        `${DYNAMODB_ITEM_LIMIT_BYTES} per item, less room for what the job records later). Shrink task or container`,
      { permanent: true },
    );
  }
}

export function assertNewJobFits(job: Job, limitBytes = MAX_NEW_JOB_ITEM_BYTES): void {
  const itemBytes = dynamoItemSize({ ...job });
  if (itemBytes > limitBytes) throw new JobTooLargeError(itemBytes, limitBytes);
}
