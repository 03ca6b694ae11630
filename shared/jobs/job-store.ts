/**
 * The jobs table, through the DynamoDB document client. Creation is conditional (a job id is created once),
 * updates are guarded by the version read (optimistic locking), and reads keep whatever attributes they do not
 * know, so a rollback to an older release never chokes on items a newer one wrote (upstream's metadata did).
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Job } from './job.js';

/** Fields an update may change; identity and bookkeeping fields are the store's. */
export type JobPatch = Partial<
  Omit<Job, 'jobId' | 'namespace' | 'executionId' | 'version' | 'createdAt' | 'updatedAt'>
>;

export class JobVersionConflictError extends Error {
  constructor(
    readonly jobId: string,
    readonly expectedVersion: number,
  ) {
    super(`Job ${jobId} changed since version ${expectedVersion} was read`);
    this.name = 'JobVersionConflictError';
  }
}

export interface JobStore {
  /** Stores a new job; returns false, writing nothing, when a job with that id already exists. */
  create(job: Job): Promise<boolean>;
  get(jobId: string): Promise<Job | undefined>;
  /** Applies the patch if the stored version is still `expectedVersion`; returns the job as stored. */
  update(jobId: string, expectedVersion: number, patch: JobPatch, now?: Date): Promise<Job>;
}

export class DynamoDbJobStore implements JobStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async create(job: Job): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: job,
          ConditionExpression: 'attribute_not_exists(jobId)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async get(jobId: string): Promise<Job | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { jobId }, ConsistentRead: true }),
    );
    return Item as Job | undefined;
  }

  async update(jobId: string, expectedVersion: number, patch: JobPatch, now = new Date()): Promise<Job> {
    const entries = Object.entries(patch).filter(([, value]) => value !== undefined);
    const names: Record<string, string> = { '#version': 'version', '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = { ':expected': expectedVersion, ':one': 1, ':now': now.toISOString() };
    const sets = ['#version = #version + :one', '#updatedAt = :now'];
    entries.forEach(([key, value], i) => {
      names[`#f${i}`] = key;
      values[`:v${i}`] = value;
      sets.push(`#f${i} = :v${i}`);
    });
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes as Job;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new JobVersionConflictError(jobId, expectedVersion);
      throw error;
    }
  }
}
