/**
 * The DynamoDB job store against dynalite over a real socket: create once, updates guarded by the version read,
 * and reads that keep attributes a newer release wrote.
 */

import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../shared/jobs/job.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { DynamoDbJobStore, type JobStore, JobVersionConflictError } from '../../shared/jobs/job-store.js';
import { mutateJob } from '../../shared/jobs/mutate-job.js';
import { useDynalite } from '../support/dynalite.js';
import { jobFixture } from '../support/job-fixture.js';

const dynamo = useDynalite();
let client: DynamoDBClient;
let tableName: string;
let store: DynamoDbJobStore;

beforeAll(async () => {
  client = dynamo.client();
  tableName = await dynamo.createTable();
  store = new DynamoDbJobStore(client, tableName);
});

function job(executionId: string): Job {
  return jobFixture({
    executionId,
    auth: { authType: 'pat', namespace: 'ns', tokenSecretName: 'databricks-token' },
    phase: 'QUEUED',
    message: 'm',
    runId: undefined,
    pollGeneration: 0,
  });
}

describe('Class: DynamoDbJobStore', () => {
  it('creates a job once; a second create writes nothing', async () => {
    const first = job('create-once');
    expect(await store.create(first)).toBe(true);
    expect(await store.create({ ...first, message: 'overwritten?' })).toBe(false);
    expect((await store.get(first.jobId))?.message).toBe('m');
  });

  it('applies an update only at the version read, and bumps it', async () => {
    const j = job('versioned');
    await store.create(j);
    const updated = await store.update(j.jobId, 1, { phase: 'RUNNING', runId: 42 }, new Date('2026-02-02T00:00:00Z'));
    expect(updated).toMatchObject({ phase: 'RUNNING', runId: 42, version: 2, updatedAt: '2026-02-02T00:00:00.000Z' });
    await expect(store.update(j.jobId, 1, { phase: 'FAILED' })).rejects.toBeInstanceOf(JobVersionConflictError);
    expect((await store.get(j.jobId))?.phase).toBe('RUNNING');
  });

  it('refuses to update a job that does not exist', async () => {
    await expect(store.update(jobIdFor('ns', 'ghost'), 1, { phase: 'FAILED' })).rejects.toBeInstanceOf(
      JobVersionConflictError,
    );
    expect(await store.get(jobIdFor('ns', 'ghost'))).toBeUndefined();
  });

  it('reads items carrying attributes this release does not know', async () => {
    const j = job('newer-release');
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          jobId: { S: j.jobId },
          namespace: { S: 'ns' },
          phase: { S: 'RUNNING' },
          version: { N: '3' },
          someFutureField: { M: { nested: { S: 'x' } } },
        },
      }),
    );
    const read = await store.get(j.jobId);
    expect(read).toMatchObject({ jobId: j.jobId, phase: 'RUNNING', version: 3 });
    // And it can still be updated, keeping what it does not understand.
    await store.update(j.jobId, 3, { phase: 'SUCCEEDED' });
    expect(await store.get(j.jobId)).toMatchObject({ phase: 'SUCCEEDED', someFutureField: { nested: 'x' } });
  });

  it('mutateJob re-reads and decides again when another writer got in first', async () => {
    const j = job('racing');
    await store.create(j);
    let raced = false;
    // A store whose first update is preceded by another writer's update of the same job.
    const racing: JobStore = {
      create: (item) => store.create(item),
      get: (id) => store.get(id),
      listByNamespace: (namespace, options) => store.listByNamespace(namespace, options),
      listStale: (shard, before, limit) => store.listStale(shard, before, limit),
      update: async (id, version, patch) => {
        if (!raced) {
          raced = true;
          await store.update(id, version, { cancelRequested: true });
        }
        return store.update(id, version, patch);
      },
    };
    const seen: boolean[] = [];
    const result = await mutateJob(racing, j.jobId, (current) => {
      seen.push(current.cancelRequested);
      return { message: `seen cancelRequested=${current.cancelRequested}` };
    });
    expect(seen).toEqual([false, true]);
    expect(result).toMatchObject({ cancelRequested: true, message: 'seen cancelRequested=true', version: 3 });
  });
});

describe('Class: DynamoDbJobStore, the workspace index', () => {
  it("lists a workspace's live jobs, and only them", async () => {
    // Prepare: a fresh table, live jobs on two workspaces, one job that has ended.
    const table = await dynamo.createTable();
    const indexed = new DynamoDbJobStore(client, table);
    const hostA = 'https://dbc-a.cloud.databricks.com';
    const hostB = 'https://dbc-b.cloud.databricks.com';
    const live = (executionId: string, host: string) => {
      const j = jobFixture({ executionId, databricksHost: host });
      return { ...j, liveShard: 'live#0', liveHost: host, heartbeatAt: j.createdAt };
    };
    const onA = Array.from({ length: 30 }, (_, i) => live(`a-${i}`, hostA));
    for (const j of [...onA, live('b-0', hostB)]) await indexed.create(j);
    const ended = onA[0] as Job;

    // Act
    await indexed.update(ended.jobId, ended.version, { phase: 'SUCCEEDED', finishedAt: ended.createdAt });
    const ids = await indexed.listLiveJobIds(hostA);

    // Assess: the job that ended left the index with its liveHost.
    expect(ids.sort()).toEqual(
      onA
        .slice(1)
        .map((j) => j.jobId)
        .sort(),
    );
    expect(await indexed.get(ended.jobId)).not.toHaveProperty('liveHost');
    expect(await indexed.listLiveJobIds('https://dbc-none.cloud.databricks.com')).toEqual([]);
  });
});

describe('Function: mutateJob with the job already read', () => {
  it('decides on the job it is given without reading, and reads afresh only after a conflict', async () => {
    const j = job('read-once');
    await store.create(j);
    const read = await store.get(j.jobId);
    if (!read) throw new Error('the job was just created');
    let gets = 0;
    const counting: JobStore = {
      ...storeMethods(store),
      get: (id) => {
        gets++;
        return store.get(id);
      },
    };

    const unchanged = await mutateJob(counting, j.jobId, () => undefined, read);
    expect(unchanged).toBe(read);
    expect(gets).toBe(0);

    // Another writer moves the job on after our read: the stale first decision conflicts, the second reads.
    await store.update(j.jobId, read.version, { message: 'moved on' });
    const saved = await mutateJob(
      counting,
      j.jobId,
      (current) => ({ phase: 'RUNNING', message: current.message }),
      read,
    );
    expect(gets).toBe(1);
    expect(saved).toMatchObject({ phase: 'RUNNING', message: 'moved on', version: read.version + 2 });
  });
});

/** The store's methods bound to it, to override one of them. */
function storeMethods(s: DynamoDbJobStore): JobStore {
  return {
    create: (item) => s.create(item),
    get: (id) => s.get(id),
    update: (id, version, patch) => s.update(id, version, patch),
    listByNamespace: (namespace, options) => s.listByNamespace(namespace, options),
    listStale: (shard, before, limit) => s.listStale(shard, before, limit),
  };
}
