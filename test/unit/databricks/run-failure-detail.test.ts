import { describe, expect, it } from 'vitest';
import {
  failedTaskRunId,
  failureDetail,
  MAX_FAILURE_DETAIL_CHARS,
} from '../../../shared/databricks/run-failure-detail.js';

describe('failedTaskRunId', () => {
  it('picks the task that failed by itself, not one skipped because of it', () => {
    const run = {
      tasks: [
        { run_id: 11, state: { result_state: 'SUCCESS' } },
        { run_id: 12, state: { result_state: 'FAILED' } },
        { run_id: 13, state: { result_state: 'UPSTREAM_FAILED' } },
      ],
    };
    expect(failedTaskRunId(run)).toBe(12);
    expect(failedTaskRunId({ tasks: [{ run_id: 21, state: { life_cycle_state: 'INTERNAL_ERROR' } }] })).toBe(21);
    expect(failedTaskRunId({ tasks: [{ run_id: 31, state: { result_state: 'TIMEDOUT' } }] })).toBe(31);
  });

  it('falls back to the first task, and has nothing to ask for a run without task runs', () => {
    expect(failedTaskRunId({ tasks: [{ run_id: 41 }, { run_id: 42 }] })).toBe(41);
    expect(failedTaskRunId({})).toBeUndefined();
    expect(failedTaskRunId({ tasks: [{ run_id: 'x' }, { run_id: -1 }] })).toBeUndefined();
  });
});

describe('failureDetail', () => {
  it('is the error, then the head of the trace', () => {
    const trace = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    const detail = failureDetail({ error: 'ValueError: bad input', error_trace: trace });
    expect(detail?.split('\n')[0]).toBe('ValueError: bad input');
    expect(detail).toContain('line 11');
    expect(detail).not.toContain('line 12');
    expect(detail?.endsWith('…')).toBe(true);
  });

  it('redacts credentials a program printed, and stays within the bound', () => {
    const detail = failureDetail({
      error: `Unauthorized: Bearer ${'x'.repeat(40)} and token dapi${'a'.repeat(32)}`,
      error_trace: 'y'.repeat(10_000),
    });
    expect(detail).not.toMatch(/x{40}/);
    expect(detail).not.toMatch(/dapia{32}/);
    expect(detail?.length).toBeLessThanOrEqual(MAX_FAILURE_DETAIL_CHARS);
  });

  it('says nothing when the output has nothing to say', () => {
    expect(failureDetail({})).toBeUndefined();
    expect(failureDetail({ error: '  ', error_trace: '' })).toBeUndefined();
  });
});
