/**
 * acceptJob refuses a job whose item would leave no room for what it records later, before anything is stored:
 * exactly at MAX_NEW_JOB_ITEM_BYTES it is accepted, a byte over it is refused naming the size and the limit, and
 * a request of small JSON that DynamoDB would weigh at its limit (nested lists under an unknown task key) is too.
 */
import { describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../../shared/config.js';
import { acceptJob } from '../../../shared/jobs/accept-job.js';
import { DYNAMODB_ITEM_LIMIT_BYTES, dynamoItemSize, MAX_NEW_JOB_ITEM_BYTES } from '../../../shared/jobs/item-size.js';
import type { JobStore } from '../../../shared/jobs/job-store.js';
import { JobTooLargeError } from '../../../shared/jobs/job-too-large.js';
import { MAX_BODY_BYTES } from '../../../shared/jobs/json-limits.js';
import { submitRequestSchema } from '../../../shared/jobs/submit-request.js';
import { BASE_ENV } from '../../support/dynalite.js';
import { requestOfItemSize } from '../../support/item-padding.js';

const config = parseConfig(BASE_ENV);
const now = new Date('2026-03-01T00:00:00.000Z');
const base = { namespace: 'ns', executionId: 'sized', task: { databricksConf: { existing_cluster_id: 'c' } } };

function fakeStore() {
  const create = vi.fn<JobStore['create']>(async () => true);
  const store: JobStore = {
    create,
    get: async () => undefined,
    update: async () => {
      throw new Error('not used');
    },
    listByNamespace: async () => ({ jobs: [], nextToken: null }),
    listStale: async () => [],
  };
  return { store, create };
}

describe('Function: acceptJob(), the item size limit', () => {
  it('accepts a job exactly at the limit and stores it', async () => {
    // Prepare
    const { store, create } = fakeStore();
    const request = await requestOfItemSize(base, MAX_NEW_JOB_ITEM_BYTES, config, now);

    // Act
    const { created, job } = await acceptJob(request, { store, config, now });

    // Assess
    expect(created).toBe(true);
    expect(create).toHaveBeenCalledTimes(1);
    expect(dynamoItemSize({ ...job })).toBe(MAX_NEW_JOB_ITEM_BYTES);
  });

  it('refuses a job one byte over the limit, naming its size and the limit, and stores nothing', async () => {
    // Prepare
    const { store, create } = fakeStore();
    const request = await requestOfItemSize(base, MAX_NEW_JOB_ITEM_BYTES + 1, config, now);

    // Act
    const accepting = acceptJob(request, { store, config, now });

    // Assess
    await expect(accepting).rejects.toBeInstanceOf(JobTooLargeError);
    await expect(accepting).rejects.toMatchObject({
      permanent: true,
      itemBytes: MAX_NEW_JOB_ITEM_BYTES + 1,
      message:
        `The job would be stored as ${MAX_NEW_JOB_ITEM_BYTES + 1} bytes; the limit is ${MAX_NEW_JOB_ITEM_BYTES} ` +
        `bytes (DynamoDB allows ${DYNAMODB_ITEM_LIMIT_BYTES} per item, less room for what the job records later). ` +
        'Shrink task or container',
    });
    expect(create).not.toHaveBeenCalled();
  });

  it('refuses a body well within the body limit that DynamoDB would weigh at its item limit', async () => {
    // Prepare: about 234 KB of `[[1],[1],…]` under a task key the schema lets through.
    const { store, create } = fakeStore();
    const lists = Array.from({ length: 58_400 }, () => [1]);
    const request = submitRequestSchema.parse({ ...base, task: { ...base.task, extra: lists } });
    const bodyBytes = Buffer.byteLength(JSON.stringify(request));

    // Act
    const accepting = acceptJob(request, { store, config, now });

    // Assess
    expect(bodyBytes).toBeLessThan(MAX_BODY_BYTES);
    await expect(accepting).rejects.toBeInstanceOf(JobTooLargeError);
    const error = (await accepting.catch((e: unknown) => e)) as JobTooLargeError;
    expect(error.itemBytes).toBeGreaterThan(DYNAMODB_ITEM_LIMIT_BYTES - 1024);
    expect(create).not.toHaveBeenCalled();
  });
});
