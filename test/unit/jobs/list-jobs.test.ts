/**
 * Listing a namespace's jobs: the page token (base64url of the index key of the page's last job, checked when it
 * comes back) and the query string of GET /v1/jobs (400 naming the parameter).
 */
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../../functions/api/http-error.js';
import { listJobs, parseListQuery } from '../../../functions/api/list-jobs.js';
import { CallerRulesMissingError } from '../../../shared/caller-namespaces.js';
import { jobIdFor } from '../../../shared/jobs/job-id.js';
import type { JobStore } from '../../../shared/jobs/job-store.js';
import { decodePageToken, encodePageToken, InvalidPageTokenError } from '../../../shared/jobs/job-store.js';
import { testConfig } from '../../support/test-config.js';

const KEY = { jobId: jobIdFor('team-a', 'e-1'), namespace: 'team-a', createdAt: '2025-01-02T03:04:05.678Z' };
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('Page tokens', () => {
  it('round-trip the index key, URL-safe', () => {
    const token = encodePageToken({ ...KEY, extra: 'dropped' } as typeof KEY);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, 'team-a')).toEqual(KEY);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['not JSON', b64('{nope')],
    ['JSON but not an object', b64([KEY])],
    ['a missing key', b64({ jobId: KEY.jobId, namespace: 'team-a' })],
    ['an extra key', b64({ ...KEY, phase: 'RUNNING' })],
    ['a job id of another shape', b64({ ...KEY, jobId: 'fdl-xyz' })],
    ['a date that is not ISO 8601', b64({ ...KEY, createdAt: 'yesterday' })],
    ['a number for a string', b64({ ...KEY, createdAt: 1 })],
    ['far too long', 'A'.repeat(2000)],
  ])('are refused when %s', (_what, token) => {
    expect(() => decodePageToken(token, 'team-a')).toThrow(InvalidPageTokenError);
  });

  it("are refused for another namespace's listing", () => {
    expect(() => decodePageToken(encodePageToken(KEY), 'team-b')).toThrow('from another namespace');
  });
});

describe('Function: parseListQuery', () => {
  it('takes namespace, limit (default 20) and nextToken', () => {
    expect(parseListQuery({ namespace: 'team-a' })).toEqual({ namespace: 'team-a', limit: 20 });
    expect(parseListQuery({ namespace: 'team-a', limit: '100', nextToken: 'x' })).toEqual({
      namespace: 'team-a',
      limit: 100,
      nextToken: 'x',
    });
  });

  it.each([
    [null, 'namespace', 'namespace: the query parameter is required'],
    [{ limit: '5' }, 'namespace', 'namespace: the query parameter is required'],
    [{ namespace: 'Team_A' }, 'namespace', 'namespace: must be a Kubernetes namespace name'],
    [{ namespace: 'team-a', limit: '0' }, 'limit', 'limit:'],
    [{ namespace: 'team-a', limit: '101' }, 'limit', 'limit:'],
    [{ namespace: 'team-a', limit: 'ten' }, 'limit', 'limit:'],
    [{ namespace: 'team-a', limit: '2.5' }, 'limit', 'limit:'],
    [{ namespace: 'team-a', nextToken: '' }, 'nextToken', 'nextToken:'],
    [{ namespace: 'team-a', namespce: 'x' }, 'namespce', 'namespce: unknown query parameter'],
  ])('%j is a 400 naming %s', (query, field, message) => {
    let error: unknown;
    try {
      parseListQuery(query as Record<string, string> | null);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ statusCode: 400, code: 'ValidationError', field });
    expect((error as HttpError).message).toContain(message);
  });
});

describe('Function: listJobs', () => {
  const listed: string[] = [];
  const store: Pick<JobStore, 'listByNamespace'> = {
    listByNamespace: async (namespace, options) => {
      listed.push(namespace);
      if (options.nextToken !== undefined) decodePageToken(options.nextToken, namespace);
      return { jobs: [], nextToken: null };
    },
  };
  const asCaller = (userArn: string | null) => ({
    requestContext: { identity: { userArn, user: null, caller: null } },
  });

  it('answers the page, and a bad token as a 400 naming nextToken', async () => {
    // A single-tenant stack: no rules, and the explicit opt-out, so an unidentified caller may list.
    const config = testConfig({ CALLER_NAMESPACES: undefined, INSECURE_ANY_CALLER_ANY_NAMESPACE: true });
    const ok = await listJobs({ namespace: 'team-a' }, { store, config }, asCaller(null));
    expect(ok).toMatchObject({ statusCode: 200 });
    expect(JSON.parse(ok.body)).toEqual({ jobs: [], nextToken: null });
    await expect(
      listJobs({ namespace: 'team-a', nextToken: 'bad' }, { store, config }, asCaller(null)),
    ).rejects.toMatchObject({ statusCode: 400, field: 'nextToken' });
  });

  it('lists only namespaces the caller may use when CALLER_NAMESPACES is set (403 naming namespace)', async () => {
    const principal = 'arn:aws:iam::123456789012:user/a';
    const config = testConfig({ CALLER_NAMESPACES: [{ kind: 'arn', principal, namespaces: ['team-a'] }] });
    await expect(listJobs({ namespace: 'team-a' }, { store, config }, asCaller(principal))).resolves.toMatchObject({
      statusCode: 200,
    });
    await expect(listJobs({ namespace: 'team-b' }, { store, config }, asCaller(principal))).rejects.toMatchObject({
      statusCode: 403,
      field: 'namespace',
    });
    await expect(listJobs({ namespace: 'team-a' }, { store, config }, asCaller(null))).rejects.toMatchObject({
      statusCode: 403,
    });
  });

  it('lists nothing when CALLER_NAMESPACES is unset without the opt-out (the API answers 500)', async () => {
    listed.length = 0;
    const config = testConfig({ CALLER_NAMESPACES: undefined });
    await expect(
      listJobs({ namespace: 'team-a' }, { store, config }, asCaller('arn:aws:iam::123456789012:user/a')),
    ).rejects.toBeInstanceOf(CallerRulesMissingError);
    expect(listed).toEqual([]);
  });
});
