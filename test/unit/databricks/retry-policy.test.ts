import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  isRetryableNetworkError,
  isRetryableStatus,
  isTransientDatabricksError,
  parseRetryAfter,
  resolveRetryPolicy,
  retryDelayMs,
  TRANSIENT_ERROR_CODES,
  TRANSIENT_MESSAGE_PATTERNS,
  TRANSIENT_STATUSES,
  transientReason,
} from '../../../shared/databricks/retry-policy.js';
import { TRANSIENT_MESSAGE_SAMPLES } from './transient-samples.js';

const NOW = Date.parse('2026-10-21T07:28:00Z');
const policy = resolveRetryPolicy();

describe('parseRetryAfter', () => {
  it.each([
    ['5', 5000],
    [' 0 ', 0],
    ['Wed, 21 Oct 2026 07:28:30 GMT', 30_000],
    ['Wed, 21 Oct 2026 07:27:00 GMT', 0],
    ['soon', undefined],
    ['1.5', undefined],
    ['-3', undefined],
    [null, undefined],
    [undefined, undefined],
  ])('%j -> %j ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe('retryDelayMs', () => {
  it('doubles the full-jitter ceiling per attempt up to maxDelayMs', () => {
    const delays = [1, 2, 3, 4, 8, 20].map((attempt) => retryDelayMs(attempt, null, policy, () => 1, NOW));
    expect(delays).toEqual([500, 1000, 2000, 4000, 20_000, 20_000]);
  });

  it('draws uniformly below the ceiling', () => {
    expect(retryDelayMs(3, null, policy, () => 0, NOW)).toBe(0);
    expect(retryDelayMs(3, null, policy, () => 0.25, NOW)).toBe(500);
  });

  it('uses Retry-After as a floor, capped at retryAfterCapMs (else maxDelayMs)', () => {
    expect(retryDelayMs(1, '10', policy, () => 0, NOW)).toBe(10_000);
    expect(retryDelayMs(1, '600', policy, () => 0, NOW)).toBe(20_000);
    expect(retryDelayMs(1, '600', { ...policy, retryAfterCapMs: 45_000 }, () => 0, NOW)).toBe(45_000);
    expect(retryDelayMs(4, '1', policy, () => 1, NOW)).toBe(4000);
  });
});

describe('retryability', () => {
  it('retries only 429/502/503/504', () => {
    const statuses = [400, 401, 403, 404, 409, 429, 500, 501, 502, 503, 504];
    expect(statuses.filter(isRetryableStatus)).toEqual([429, 502, 503, 504]);
  });

  it.each([
    [new TypeError('fetch failed'), true],
    [new TypeError('terminated', { cause: new Error('other side closed') }), true],
    [new DOMException('timeout', 'TimeoutError'), true],
    [new DOMException('aborted', 'AbortError'), true],
    [Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), true],
    [new Error('wrapped', { cause: { code: 'ECONNRESET' } }), true],
    [new TypeError('Invalid URL'), false],
    [new Error('boom'), false],
    ['ECONNRESET', false],
  ])('%s -> %s', (err, expected) => {
    expect(isRetryableNetworkError(err)).toBe(expected);
  });
});

describe('resolveRetryPolicy', () => {
  it('applies the documented defaults and ignores undefined overrides', () => {
    expect(resolveRetryPolicy({ maxAttempts: undefined })).toEqual({
      maxAttempts: 5,
      baseDelayMs: 500,
      maxDelayMs: 20_000,
      requestTimeoutMs: 30_000,
    });
    expect(resolveRetryPolicy({ maxAttempts: 2 })).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 2 });
  });

  it.each([{ maxAttempts: 0 }, { requestTimeoutMs: 0 }, { baseDelayMs: -1 }, { maxDelayMs: Number.NaN }])(
    'rejects %j',
    (overrides) => {
      expect(() => resolveRetryPolicy(overrides)).toThrowError(
        expect.objectContaining({ name: 'InvalidJobSpecError' }),
      );
    },
  );
});

describe('transientReason: the SDK table', () => {
  it('has a named SDK source on every row', () => {
    const rows = [...TRANSIENT_STATUSES, ...TRANSIENT_ERROR_CODES, ...TRANSIENT_MESSAGE_PATTERNS];
    for (const row of rows) expect(row.source).toMatch(/^(go|py) \S+\.(go|py) /);
  });

  it.each(TRANSIENT_STATUSES.map((row) => [row.match, row.source] as const))(
    'retries HTTP %i whatever the body says (%s)',
    (status) => {
      expect(transientReason({ status })).toBe(`status ${status}`);
      expect(transientReason({ status, errorCode: 'INVALID_PARAMETER_VALUE', message: 'bad' })).toBe(
        `status ${status}`,
      );
    },
  );

  it.each(TRANSIENT_ERROR_CODES.map((row) => [row.match, row.source] as const))(
    'retries error_code %s on any status (%s)',
    (errorCode) => {
      for (const status of [400, 429, 500]) {
        const expected = isRetryableStatus(status) ? `status ${status}` : `error_code ${errorCode}`;
        expect(transientReason({ status, errorCode, message: 'slow down' })).toBe(expected);
      }
    },
  );

  it.each(TRANSIENT_MESSAGE_SAMPLES)('retries a %i %s answer saying %j', (status, errorCode, message, pattern) => {
    expect(transientReason({ status, errorCode, message })).toBe(`message matches ${pattern}`);
  });

  it('has a sample message for every message row, matching that row only', () => {
    for (const row of TRANSIENT_MESSAGE_PATTERNS) {
      const samples = TRANSIENT_MESSAGE_SAMPLES.filter(([, , message]) => row.match.test(message));
      expect(samples.map(([, , , pattern]) => pattern)).toEqual([row.match]);
    }
  });

  it.each([
    [500, undefined, '(empty body)'],
    [500, 'TEMPORARILY_UNAVAILABLE', 'Service temporarily unavailable'],
    [500, 'INTERNAL_ERROR', 'Internal error'],
    [500, 'UNKNOWN', 'something broke'],
    [501, 'NOT_IMPLEMENTED', 'nope'],
    [400, 'INVALID_PARAMETER_VALUE', 'Missing required field: tasks'],
    [400, 'INVALID_STATE', 'Run is in state TERMINATED'],
    [401, 'UNAUTHENTICATED', 'Invalid access token.'],
    [403, 'PERMISSION_DENIED', 'User is not allowed'],
    [404, 'RESOURCE_DOES_NOT_EXIST', 'Run 5 does not exist'],
    [409, 'RESOURCE_CONFLICT', 'conflict'],
    // The SDKs match case-sensitively.
    [500, 'INTERNAL_ERROR', 'timed out after 30s'],
    [500, 'INTERNAL_ERROR', 'DEADLINE EXCEEDED'],
    [500, 'INTERNAL_ERROR', 'worker env workerenv-7 was deleted'],
  ])('does not retry HTTP %i %s %j', (status, errorCode, message) => {
    expect(transientReason({ status, errorCode, message })).toBeUndefined();
    expect(isTransientDatabricksError({ status, errorCode, message })).toBe(false);
  });
});
