import { describe, expect, it } from 'vitest';
import { isJobId, jobIdFor } from '../../../shared/jobs/job-id.js';

describe('Function: jobIdFor()', () => {
  it('is deterministic for the same namespace and execution id', () => {
    expect(jobIdFor('flytesnacks-development', 'abc-n0-0')).toBe(jobIdFor('flytesnacks-development', 'abc-n0-0'));
  });

  it('differs when either part differs, including when the boundary between them moves', () => {
    const ids = new Set([jobIdFor('a-b', 'c'), jobIdFor('a', 'b-c'), jobIdFor('a-b', 'd'), jobIdFor('x-b', 'c')]);
    expect(ids.size).toBe(4);
  });

  it('fits a Databricks idempotency_token (at most 64 characters) and is recognised as a job id', () => {
    const id = jobIdFor('ns', 'x'.repeat(256));
    expect(id.length).toBeLessThanOrEqual(64);
    expect(id).toMatch(/^fdl-[0-9a-f]{40}$/);
    expect(isJobId(id)).toBe(true);
  });

  it('rejects strings that are not job ids', () => {
    expect(isJobId('fdl-xyz')).toBe(false);
    expect(isJobId(`${jobIdFor('a', 'b')}0`)).toBe(false);
    expect(isJobId('../etc/passwd')).toBe(false);
  });
});
