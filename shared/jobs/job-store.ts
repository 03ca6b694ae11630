/**
 * The jobs table, through the DynamoDB document client. Creation is conditional (a job id is created once),
 * updates are guarded by the version read (optimistic locking), and reads keep whatever attributes they do not
 * know, so a rollback to an older release never chokes on items a newer one wrote (upstream's metadata did).
 * A namespace's jobs are listed newest first through the `byNamespace` index (namespace, createdAt), a page at a
 * time; the page token is the index key of the page's last job, base64url JSON, checked when it comes back.
 * Live jobs are found by heartbeat age through the sparse `byLiveness` index, and by workspace through the sparse
 * `liveByWorkspace` index (shared/jobs/liveness.ts): an update that ends a job removes its `liveShard` and
 * `liveHost`, so finished jobs leave both.
 * Every message written goes through boundJobMessage (redacted, at most 4096 characters), and an item DynamoDB
 * refuses (ValidationException: too large, or otherwise invalid) is a permanent JobItemRejectedError naming the job
 * and the operation, never the item.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConnectorError } from '../errors.js';
import { DYNAMODB_ITEM_LIMIT_BYTES } from './item-size.js';
import type { Job } from './job.js';
import { isJobId } from './job-id.js';
import { boundJobMessage } from './job-message.js';
import { LIVE_BY_WORKSPACE_INDEX, LIVENESS_INDEX } from './liveness.js';
import { isTerminalPhase } from './phase.js';

/** The global secondary index listing a namespace's jobs by creation time (infra/constructs/jobs-table.ts). */
export const NAMESPACE_INDEX = 'byNamespace';

type PatchableJob = Omit<Job, 'jobId' | 'namespace' | 'executionId' | 'version' | 'createdAt' | 'updatedAt'>;

/**
 * Required fields an update may still remove: only when a job whose item outgrew DynamoDB's limit is ended
 * (functions/job-failure.ts). Nothing reads them once a job has ended.
 */
type DroppableField = 'task' | 'container';

/**
 * Fields an update may change; identity and bookkeeping fields are the store's. `undefined` leaves a field as it is;
 * `null` removes an optional one (REMOVE in the update expression), or a droppable one.
 */
export type JobPatch = {
  [K in keyof PatchableJob]?:
    | PatchableJob[K]
    | (undefined extends PatchableJob[K] ? null : K extends DroppableField ? null : never);
};

/** A live job found stale in the liveness index (keys only: read the job itself before acting). */
export interface StaleJobKey {
  jobId: string;
  heartbeatAt: string;
}

export class JobVersionConflictError extends Error {
  constructor(
    readonly jobId: string,
    readonly expectedVersion: number,
  ) {
    super(`Job ${jobId} changed since version ${expectedVersion} was read`);
    this.name = 'JobVersionConflictError';
  }
}

const TOO_LARGE = `the item would exceed its ${DYNAMODB_ITEM_LIMIT_BYTES}-byte item size limit`;
const INVALID = 'the item is invalid (ValidationException)';

/**
 * DynamoDB refused to write the job's item (a ValidationException: most often an item over its size limit). The
 * same write can never succeed, so it is permanent. Names the job and the operation, never the item's content.
 */
export class JobItemRejectedError extends ConnectorError {
  constructor(
    readonly jobId: string,
    readonly operation: 'create' | 'update',
    /** The item would have exceeded DynamoDB's item size limit (else it was invalid in some other way). */
    readonly tooLarge: boolean,
    cause?: unknown,
  ) {
    super(`DynamoDB refused to ${operation} job ${jobId}: ${tooLarge ? TOO_LARGE : INVALID}`, {
      permanent: true,
      cause,
    });
  }
}

/** The JobItemRejectedError for a DynamoDB ValidationException, else the error itself. */
function rejectedItem(error: unknown, jobId: string, operation: 'create' | 'update'): unknown {
  if (!(error instanceof Error) || error.name !== 'ValidationException') return error;
  // DynamoDB (and dynalite) say "Item size has exceeded ..." and "Item size to update has exceeded ...".
  return new JobItemRejectedError(jobId, operation, /item size/i.test(error.message), error);
}

/** A page token that this store did not hand out for this namespace (tampered, truncated, or another listing's). */
export class InvalidPageTokenError extends Error {
  constructor(reason: string) {
    super(`nextToken is not a token from a previous page of this listing (${reason})`);
    this.name = 'InvalidPageTokenError';
  }
}

export interface ListOptions {
  /** Jobs per page (the caller bounds it; the API allows 1 to 100). */
  limit: number;
  /** The previous page's nextToken; absent for the first page. */
  nextToken?: string | undefined;
}

export interface JobPage {
  /** Newest first. */
  jobs: Job[];
  /** null when this is the last page. */
  nextToken: string | null;
}

/** The key of a job in the namespace index: what DynamoDB needs to resume a query after it. */
export interface NamespaceIndexKey {
  jobId: string;
  namespace: string;
  createdAt: string;
}

const MAX_TOKEN_LENGTH = 1024;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export function encodePageToken(key: NamespaceIndexKey): string {
  return Buffer.from(JSON.stringify({ jobId: key.jobId, namespace: key.namespace, createdAt: key.createdAt })).toString(
    'base64url',
  );
}

/** Decodes and checks a page token for `namespace`; throws InvalidPageTokenError for anything else. */
export function decodePageToken(token: string, namespace: string): NamespaceIndexKey {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) {
    throw new InvalidPageTokenError('not base64url');
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidPageTokenError('not a page key');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidPageTokenError('not a page key');
  }
  const key = value as Record<string, unknown>;
  const keys = Object.keys(key).sort().join(',');
  if (keys !== 'createdAt,jobId,namespace') throw new InvalidPageTokenError('not a page key');
  const { jobId, createdAt } = key;
  if (typeof jobId !== 'string' || !isJobId(jobId)) throw new InvalidPageTokenError('not a page key');
  if (typeof createdAt !== 'string' || !ISO_TIMESTAMP.test(createdAt)) {
    throw new InvalidPageTokenError('not a page key');
  }
  if (key.namespace !== namespace) throw new InvalidPageTokenError('from another namespace');
  return { jobId, namespace, createdAt };
}

export interface JobStore {
  /** Stores a new job; returns false, writing nothing, when a job with that id already exists. */
  create(job: Job): Promise<boolean>;
  get(jobId: string): Promise<Job | undefined>;
  /** Applies the patch if the stored version is still `expectedVersion`; returns the job as stored. */
  update(jobId: string, expectedVersion: number, patch: JobPatch, now?: Date): Promise<Job>;
  /**
   * A page of the namespace's jobs, newest first (eventually consistent: the index lags writes slightly).
   * Throws InvalidPageTokenError when `nextToken` is not one this listing handed out.
   */
  listByNamespace(namespace: string, options: ListOptions): Promise<JobPage>;
  /**
   * Up to `limit` live jobs of one liveness shard whose heartbeat is before `before` (ISO), oldest first
   * (eventually consistent: the index lags writes slightly).
   */
  listStale(shard: string, before: string, limit: number): Promise<StaleJobKey[]>;
}

/** One workspace's live jobs (the poll function's pacing, shared/jobs/live-workspace-jobs.ts). */
export interface LiveJobIndex {
  /** The ids of the workspace's live jobs, in no set order (eventually consistent: the index lags writes slightly). */
  listLiveJobIds(databricksHost: string): Promise<string[]>;
}

export class DynamoDbJobStore implements JobStore, LiveJobIndex {
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
          Item: { ...job, message: boundJobMessage(job.message) },
          ConditionExpression: 'attribute_not_exists(jobId)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw rejectedItem(error, job.jobId, 'create');
    }
  }

  async get(jobId: string): Promise<Job | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { jobId }, ConsistentRead: true }),
    );
    return Item as Job | undefined;
  }

  async update(jobId: string, expectedVersion: number, patch: JobPatch, now = new Date()): Promise<Job> {
    // A job that ends leaves the liveness indexes, whoever ends it.
    const ending = patch.phase !== undefined && isTerminalPhase(patch.phase);
    const bounded: JobPatch =
      patch.message === undefined ? patch : { ...patch, message: boundJobMessage(patch.message) };
    const fields: JobPatch = ending ? { ...bounded, liveShard: null, liveHost: null } : bounded;
    const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
    const names: Record<string, string> = { '#version': 'version', '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = { ':expected': expectedVersion, ':one': 1, ':now': now.toISOString() };
    const sets = ['#version = #version + :one', '#updatedAt = :now'];
    const removes: string[] = [];
    entries.forEach(([key, value], i) => {
      names[`#f${i}`] = key;
      if (value === null) {
        removes.push(`#f${i}`);
        return;
      }
      values[`:v${i}`] = value;
      sets.push(`#f${i} = :v${i}`);
    });
    const expression = `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobId },
          UpdateExpression: expression,
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes as Job;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new JobVersionConflictError(jobId, expectedVersion);
      throw rejectedItem(error, jobId, 'update');
    }
  }

  async listByNamespace(namespace: string, options: ListOptions): Promise<JobPage> {
    const start = options.nextToken === undefined ? undefined : decodePageToken(options.nextToken, namespace);
    // One more than asked: if it comes back, there is a next page, and its token is the last job shown.
    const { Items = [], LastEvaluatedKey } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: NAMESPACE_INDEX,
        KeyConditionExpression: '#namespace = :namespace',
        ExpressionAttributeNames: { '#namespace': 'namespace' },
        ExpressionAttributeValues: { ':namespace': namespace },
        ScanIndexForward: false,
        Limit: options.limit + 1,
        ...(start ? { ExclusiveStartKey: { ...start } } : {}),
      }),
    );
    const jobs = (Items as Job[]).slice(0, options.limit);
    const last = jobs.at(-1);
    // Fewer items than asked with a LastEvaluatedKey: the query stopped at DynamoDB's 1 MB page size.
    const more = Items.length > options.limit || LastEvaluatedKey !== undefined;
    return { jobs, nextToken: more && last ? encodePageToken(last) : null };
  }

  async listStale(shard: string, before: string, limit: number): Promise<StaleJobKey[]> {
    const { Items = [] } = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: LIVENESS_INDEX,
        KeyConditionExpression: '#shard = :shard AND #heartbeatAt < :before',
        ExpressionAttributeNames: { '#shard': 'liveShard', '#heartbeatAt': 'heartbeatAt' },
        ExpressionAttributeValues: { ':shard': shard, ':before': before },
        ScanIndexForward: true,
        Limit: limit,
      }),
    );
    return Items.map((item) => ({ jobId: String(item.jobId), heartbeatAt: String(item.heartbeatAt) }));
  }

  async listLiveJobIds(databricksHost: string): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    // Keys only, about 100 bytes a job: 10,000 live jobs are one 1 MB page.
    do {
      const { Items = [], LastEvaluatedKey } = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: LIVE_BY_WORKSPACE_INDEX,
          KeyConditionExpression: '#host = :host',
          ExpressionAttributeNames: { '#host': 'liveHost', '#jobId': 'jobId' },
          ExpressionAttributeValues: { ':host': databricksHost },
          ProjectionExpression: '#jobId',
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of Items) ids.push(String(item.jobId));
      start = LastEvaluatedKey;
    } while (start);
    return ids;
  }
}
