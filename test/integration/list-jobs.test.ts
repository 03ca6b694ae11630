/**
 * GET /v1/jobs on the local stack: a namespace's jobs newest first from the table's `byNamespace` index, a page at a
 * time, each page token good for the next page only; other namespaces' jobs never show; a bad query is a 400 naming
 * the parameter; items the index cannot hold (no sort key) are simply not listed.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiError, type JobList, unwrap } from '../../shared/client/jobs-api-client.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { jobRequest, NAMESPACE, startTestStack, type TestStack } from './support/test-stack.js';

let t: TestStack;
const OTHER = 'team-list-other';
const created: string[] = [];

beforeAll(async () => {
  t = await startTestStack();
  // Five jobs in the namespace, one at a time so their creation times differ, and one elsewhere.
  for (let i = 0; i < 5; i += 1) {
    const job = unwrap(await t.api.submit(jobRequest(`list-${i}`)));
    created.push(job.jobId);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  unwrap(await t.api.submit({ ...jobRequest('list-other'), namespace: OTHER }));
  // An item without createdAt (the index sort key): the index leaves it out, the listing must not choke on it.
  await t.stack.dynamodb.send(
    new PutItemCommand({
      TableName: t.stack.tableName,
      Item: { jobId: { S: jobIdFor(NAMESPACE, 'no-sort-key') }, namespace: { S: NAMESPACE } },
    }),
  );
});
afterAll(() => t?.stack.stop());

describe('GET /v1/jobs', () => {
  it("lists the namespace's jobs newest first, 20 by default, with no next page when all fit", async () => {
    const list = unwrap(await t.api.list(NAMESPACE));
    expect(list.jobs.map((job) => job.jobId)).toEqual([...created].reverse());
    expect(list.nextToken).toBeNull();
    expect(list.jobs[0]).toMatchObject({ namespace: NAMESPACE, executionId: 'list-4', logLinks: expect.any(Array) });
  });

  it('pages with limit and nextToken, each job once, the last page without a token', async () => {
    const pages: JobList[] = [];
    let nextToken: string | null = null;
    do {
      const page: JobList = unwrap(await t.api.list(NAMESPACE, { limit: 2, nextToken }));
      pages.push(page);
      nextToken = page.nextToken;
    } while (nextToken && pages.length < 10);
    expect(pages.map((page) => page.jobs.length)).toEqual([2, 2, 1]);
    expect(pages.flatMap((page) => page.jobs.map((job) => job.jobId))).toEqual([...created].reverse());
    expect(pages.at(-1)?.nextToken).toBeNull();
  });

  it('ends exactly: a page that holds the last jobs has no next token', async () => {
    const page = unwrap(await t.api.list(NAMESPACE, { limit: 5 }));
    expect(page.jobs).toHaveLength(5);
    expect(page.nextToken).toBeNull();
  });

  it('never shows another namespace, and an empty namespace is an empty list', async () => {
    const other = unwrap(await t.api.list(OTHER));
    expect(other.jobs.map((job) => job.executionId)).toEqual(['list-other']);
    expect(unwrap(await t.api.list('team-nobody'))).toEqual({ jobs: [], nextToken: null });
  });

  it.each([
    ['', 'namespace'],
    ['?limit=5', 'namespace'],
    [`?namespace=${NAMESPACE.toUpperCase()}`, 'namespace'],
    [`?namespace=${NAMESPACE}&limit=0`, 'limit'],
    [`?namespace=${NAMESPACE}&limit=101`, 'limit'],
    [`?namespace=${NAMESPACE}&limit=lots`, 'limit'],
    [`?namespace=${NAMESPACE}&nextToken=garbage`, 'nextToken'],
    [`?namespace=${NAMESPACE}&nextToken=`, 'nextToken'],
    [`?namespace=${NAMESPACE}&page=2`, 'page'],
  ])('GET /v1/jobs%s is a 400 naming %s', async (query, field) => {
    const { status, body } = await t.api.call<unknown>('GET', `/v1/jobs${query}`);
    expect(status).toBe(400);
    expect(isApiError(body) && body.error).toMatchObject({ code: 'ValidationError', field });
  });

  it("refuses a page token from another namespace's listing", async () => {
    const { nextToken } = unwrap(await t.api.list(NAMESPACE, { limit: 1 }));
    expect(nextToken).toEqual(expect.any(String));
    const result = await t.api.list(OTHER, { nextToken });
    expect(result).toMatchObject({ ok: false, status: 400, body: { error: { field: 'nextToken' } } });
  });
});
