/**
 * Why a run failed, where the user looks: a run that fails with a Python exception ends the job FAILED with the
 * exception and the head of its stack trace in the message (read once from runs/get-output of the failed task run),
 * redacted and bounded; a run that fails without an output keeps Databricks' state message alone.
 */
import { describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../infra/local/emulators/databricks-workspace.js';
import { MAX_FAILURE_DETAIL_CHARS } from '../../shared/databricks/run-failure-detail.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { jobRequest, NAMESPACE, useTestStack, waitForTerminal } from './support/test-stack.js';

const LEAKED_PAT = `dapi${'0123456789abcdef'.repeat(2)}`;
const TRACE = [
  'Traceback (most recent call last):',
  '  File "/databricks/driver/job.py", line 12, in <module>',
  `    connect(token="${LEAKED_PAT}")`,
  ...Array.from({ length: 40 }, (_, i) => `  File "/lib/frame${i}.py", line ${i}, in f${i}`),
  'ZeroDivisionError: division by zero',
].join('\n');

const outcomes: Record<string, RunOutcome> = {
  'detail-exception': {
    resultState: 'FAILED',
    stateMessage: 'Workload failed, see run output for details',
    error: 'ZeroDivisionError: division by zero',
    errorTrace: TRACE,
  },
  'detail-none': { resultState: 'FAILED', stateMessage: 'Cluster terminated' },
};

const t = useTestStack({
  databricks: {
    timing: { pendingMs: 50, runningMs: 150, terminatingMs: 20 },
    outcome: (body) => outcomes[String(body.run_name)] ?? { resultState: 'SUCCESS' },
  },
});

const outputRequests = () => t.stack.databricks.requests.filter((r) => r.path.endsWith('/jobs/runs/get-output'));

describe('a failed run’s exception in the job’s message', () => {
  it('adds the task’s error and the head of its trace, redacted and bounded, from runs/get-output', async () => {
    const before = outputRequests().length;
    await t.api.submit(jobRequest('detail-exception'));
    const done = await waitForTerminal(t.api, jobIdFor(NAMESPACE, 'detail-exception'));
    expect(done.phase).toBe('FAILED');
    expect(done.message).toContain('Workload failed, see run output for details');
    expect(done.message).toContain('ZeroDivisionError: division by zero');
    expect(done.message).toContain('File "/databricks/driver/job.py", line 12');
    // The head of the trace, not all of it; and no credential a user's program printed.
    expect(done.message).not.toContain('frame39');
    expect(done.message).not.toContain(LEAKED_PAT);
    expect(done.message.length).toBeLessThanOrEqual(MAX_FAILURE_DETAIL_CHARS + 200);
    // Asked of the task run (the parent run has no output of its own), by the poll that saw the run fail: once, or
    // again by a redelivery of that poll on a loaded machine (SQS delivers at least once), never per later poll.
    const asked = outputRequests().slice(before);
    expect(asked.length).toBeGreaterThanOrEqual(1);
    expect(asked.length).toBeLessThanOrEqual(2);
    expect(asked.every((request) => request.status === 200 && request.query !== `?run_id=${done.runId}`)).toBe(true);
  });

  it('keeps the state message alone when the output says nothing', async () => {
    await t.api.submit(jobRequest('detail-none'));
    const done = await waitForTerminal(t.api, jobIdFor(NAMESPACE, 'detail-none'));
    expect(done.phase).toBe('FAILED');
    expect(done.message).toBe('Cluster terminated');
  });
});

describe('the emulator’s runs/get-output, held to Databricks', () => {
  it('refuses the parent run of a tasks submission, as Databricks does even for one task', async () => {
    await t.api.submit(jobRequest('detail-parent'));
    const done = await waitForTerminal(t.api, jobIdFor(NAMESPACE, 'detail-parent'));
    const response = await fetch(`${t.stack.databricks.url}/api/2.2/jobs/runs/get-output?run_id=${done.runId}`, {
      headers: { Authorization: `Bearer ${t.token}` },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message:
        'Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of each ' +
        'individual task run instead.',
    });
  });
});
