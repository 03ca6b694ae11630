/**
 * A job's message as stored and shown: redacted once, then cut to 4096 characters ending in '…'. toJobView applies
 * the same to items written before messages were bounded.
 */
import { describe, expect, it } from 'vitest';
import { toJobView } from '../../../shared/jobs/job.js';
import { boundJobMessage, MAX_JOB_MESSAGE_LENGTH } from '../../../shared/jobs/job-message.js';
import { REDACTED } from '../../../shared/log-redaction.js';
import { jobFixture } from '../../support/job-fixture.js';

const PAT = `dapi${'0123456789abcdef'.repeat(2)}`;

describe('Function: boundJobMessage()', () => {
  it('keeps a short message as it is', () => {
    expect(boundJobMessage('Databricks run 7 submitted')).toBe('Databricks run 7 submitted');
  });

  it('redacts credentials anywhere in the message', () => {
    const message = `runs/submit failed: HTTP 400 {"access_token": "abc"} with Bearer ${PAT}`;
    const bounded = boundJobMessage(message);
    expect(bounded).not.toContain(PAT);
    expect(bounded).not.toContain('"abc"');
    expect(bounded).toContain(REDACTED);
  });

  it('cuts a long message to 4096 characters, the last an ellipsis', () => {
    const bounded = boundJobMessage('x'.repeat(10_000));
    expect(bounded).toHaveLength(MAX_JOB_MESSAGE_LENGTH);
    expect(bounded.endsWith('x…')).toBe(true);
  });

  it('redacts before cutting, so a credential at the cut is never left half shown', () => {
    const message = `${'x'.repeat(MAX_JOB_MESSAGE_LENGTH - 12)}${PAT}`;
    const bounded = boundJobMessage(message);
    expect(bounded).not.toMatch(/dapi[0-9a-f]/);
  });

  it('never cuts a surrogate pair in half', () => {
    const bounded = boundJobMessage(`${'x'.repeat(MAX_JOB_MESSAGE_LENGTH - 2)}😀😀`);
    expect(bounded.endsWith('x…')).toBe(true);
    expect(bounded.length).toBeLessThanOrEqual(MAX_JOB_MESSAGE_LENGTH);
  });
});

describe('Function: toJobView(), the message', () => {
  it('redacts and bounds a message an older release stored unbounded', () => {
    const job = jobFixture({ message: `Token ${PAT} refused; ${'y'.repeat(20_000)}` });
    const view = toJobView(job);
    expect(view.message).toHaveLength(MAX_JOB_MESSAGE_LENGTH);
    expect(view.message).not.toContain(PAT);
    expect(view.message.startsWith(`Token ${REDACTED} refused`)).toBe(true);
  });
});
