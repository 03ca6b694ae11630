/**
 * The SDK retry table (shared/databricks/retry-policy.ts) as the Jobs client applies it: every row retried, everything
 * else failing at once, Retry-After honoured and capped.
 */

import { describe, expect, it, vi } from 'vitest';
import type { AuthStrategy } from '../../../shared/auth/auth-strategy.js';
import { DatabricksApiError } from '../../../shared/databricks/errors.js';
import { JobsClient, type JobsClientOptions } from '../../../shared/databricks/jobs-client.js';
import {
  DEFAULT_RETRY_POLICY,
  TRANSIENT_ERROR_CODES,
  TRANSIENT_STATUSES,
} from '../../../shared/databricks/retry-policy.js';
import { DeferError } from '../../../shared/invocation-deadline.js';
import { TRANSIENT_MESSAGE_SAMPLES } from './transient-samples.js';

const auth: AuthStrategy = {
  authType: 'pat',
  getBearerToken: async () => 'test-bearer-value-1',
  invalidate: () => undefined,
  describe: () => 'pat (test)',
};

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

function setup(replies: Response[], options: Partial<JobsClientOptions> = {}) {
  const sleeps: number[] = [];
  const fetchFn = vi.fn(async () => {
    const reply = replies.shift();
    if (reply === undefined) throw new Error('unexpected extra request');
    return reply;
  });
  const client = new JobsClient({
    host: 'x.cloud.databricks.com',
    auth,
    fetch: fetchFn as unknown as typeof fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
  return { client, sleeps, fetchFn };
}

async function rejection(promise: Promise<unknown>): Promise<DatabricksApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatabricksApiError);
  return err as DatabricksApiError;
}

type Row = readonly [label: string, status: number, body: Record<string, unknown>];

const transientRows: Row[] = [
  ...TRANSIENT_STATUSES.map((row): Row => [`HTTP ${row.match}`, row.match, {}]),
  ...TRANSIENT_ERROR_CODES.map((row): Row => [`400 ${row.match}`, 400, { error_code: row.match, message: 'slow' }]),
  ...TRANSIENT_ERROR_CODES.map((row): Row => [`500 ${row.match}`, 500, { error_code: row.match, message: 'slow' }]),
  ...TRANSIENT_MESSAGE_SAMPLES.map(
    ([status, code, message, pattern]): Row => [`${status} ${pattern}`, status, { error_code: code, message }],
  ),
];

describe('JobsClient applies the SDK retry table', () => {
  it.each(transientRows)('retries %s, then succeeds', async (_label, status, body) => {
    const warn = vi.fn();
    const { client, fetchFn, sleeps } = setup([json(status, body), json(200, { run_id: 7 })], { logger: { warn } });
    await expect(client.submitRun({ idempotency_token: 't' })).resolves.toEqual({ run_id: 7 });
    expect(fetchFn).toHaveBeenCalledTimes(2);
    expect(sleeps).toEqual([250]);
    expect(warn).toHaveBeenCalledWith(
      'Databricks runs/submit failed transiently; retrying',
      expect.objectContaining({ status, reason: expect.any(String), attempt: 1, delayMs: 250 }),
    );
  });

  it('gives up on a transient message after the default 5 attempts, retryable and naming the last answer', async () => {
    const busy = () => json(500, { error_code: 'INTERNAL_ERROR', message: 'ClusterNotReadyException: starting' });
    const { client, fetchFn, sleeps } = setup(Array.from({ length: 6 }, busy));
    const err = await rejection(client.getRun(5));
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBe(5);
    expect(fetchFn).toHaveBeenCalledTimes(5);
    expect(sleeps).toEqual([250, 500, 1000, 2000]);
    expect(err).toMatchObject({ status: 500, errorCode: 'INTERNAL_ERROR', retryable: true, permanent: false });
    expect(err.message).toBe(
      'Databricks runs/get failed (HTTP 500 INTERNAL_ERROR): ClusterNotReadyException: starting (gave up after 5 attempts)',
    );
  });

  it.each([
    ['500 without an error code', 500, {}],
    [
      '500 TEMPORARILY_UNAVAILABLE (no SDK retries it by code; a 503 is retried by its status)',
      500,
      {
        error_code: 'TEMPORARILY_UNAVAILABLE',
        message: 'Service temporarily unavailable',
      },
    ],
    ['500 INTERNAL_ERROR', 500, { error_code: 'INTERNAL_ERROR', message: 'boom' }],
    ['400 INVALID_PARAMETER_VALUE', 400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'Missing required field' }],
    ['404 RESOURCE_DOES_NOT_EXIST', 404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'Run 5 does not exist' }],
    ['a non-JSON 500', 500, undefined],
  ] as const)('does not retry %s', async (_label, status, body) => {
    const reply = body === undefined ? new Response('<html>oops</html>', { status }) : json(status, body);
    const { client, fetchFn, sleeps } = setup([reply]);
    const err = await rejection(client.cancelRun(1));
    expect(err).toMatchObject({ status, retryable: false, permanent: true });
    expect(err.message).not.toContain('gave up');
    expect(fetchFn).toHaveBeenCalledTimes(1);
    expect(sleeps).toEqual([]);
  });

  it('retries a 429 after its Retry-After', async () => {
    const throttled = json(429, { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' }, { 'Retry-After': '3' });
    const { client, fetchFn, sleeps } = setup([throttled, json(200, {})]);
    await client.cancelRun(1);
    expect(fetchFn).toHaveBeenCalledTimes(2);
    expect(sleeps).toEqual([3000]);
  });

  it('honours a Retry-After longer than maxDelayMs (20 s by default) by deferring, not by sleeping or cutting it short', async () => {
    const throttled = () => json(429, { error_code: 'REQUEST_LIMIT_EXCEEDED' }, { 'Retry-After': '120' });
    const { client, sleeps } = setup([throttled(), json(200, {})]);
    const error = await client.cancelRun(1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeferError);
    expect((error as DeferError).delaySeconds).toBe(120);
    expect(DEFAULT_RETRY_POLICY.maxDelayMs).toBe(20_000);
    expect(sleeps).toEqual([]);
  });
});
