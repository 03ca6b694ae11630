/**
 * Cancellation over real sockets: DELETE -> cancel queue -> runs/cancel -> the poll chain sees CANCELED -> ABORTED.
 * Runs here last several seconds, so a DELETE reliably lands while the run is RUNNING. The run the first test
 * cancels lasts longer still: the template's poll event source gathers records for up to 5 s
 * (MaximumBatchingWindowInSeconds) before it invokes the poll function, so the first poll, the one that can see
 * RUNNING, comes some 5-8 s after the submit on this machine, and a 6 s run could be over by then.
 */
import { describe, expect, it } from 'vitest';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import {
  jobRequest,
  jobView,
  NAMESPACE,
  runsFor,
  useTestStack,
  waitFor,
  waitForTerminal,
} from './support/test-stack.js';

/** The run the first test cancels: long enough for a poll to see it RUNNING whatever the machine's load. */
const CANCELED_RUN = 'lifecycle-cancel';
const t = useTestStack({
  databricks: {
    timing: { pendingMs: 200, runningMs: 6000, terminatingMs: 100 },
    outcome: (body) =>
      body.run_name === CANCELED_RUN
        ? { resultState: 'SUCCESS', timing: { runningMs: 60_000 } }
        : { resultState: 'SUCCESS' },
  },
});

describe('cancellation', () => {
  it('cancels a running job: DELETE 202, runs/cancel sent, the job ends ABORTED with its one run', async () => {
    const jobId = jobIdFor(NAMESPACE, CANCELED_RUN);
    await t.api.submit(jobRequest(CANCELED_RUN));
    const running = await waitFor(
      () => jobView(t.api, jobId),
      (view) => view.phase === 'RUNNING',
    );
    expect(running.phase).toBe('RUNNING');
    const { status } = await t.api.cancel(jobId);
    expect(status).toBe(202);
    const done = await waitForTerminal(t.api, jobId);
    expect(done.phase).toBe('ABORTED');
    expect(done.databricks.resultState).toBe('CANCELED');
    expect(done.cancelRequested).toBe(true);
    const runs = runsFor(t.stack, jobId);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.cancelRequested).toBe(true);
    // Two polls (RUNNING, then CANCELED), each after its batching window: more than the 30 s default on a loaded machine.
  }, 60_000);

  it('leaves a finished job as it is and says so', async () => {
    const jobId = jobIdFor(NAMESPACE, 'lifecycle-cancel-late');
    await t.api.submit(jobRequest('lifecycle-cancel-late'));
    await waitForTerminal(t.api, jobId);
    const { status, body } = await t.api.cancel(jobId);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      phase: 'SUCCEEDED',
      cancelRequested: false,
      message: expect.stringMatching(/already ended SUCCEEDED/),
    });
    expect(runsFor(t.stack, jobId)[0]?.cancelRequested).toBe(false);
  });

  it('cancels the run a submission in flight creates when the DELETE lands mid-submit', async () => {
    const jobId = jobIdFor(NAMESPACE, 'lifecycle-cancel-mid-submit');
    // runs/submit is throttled twice, so the DELETE arrives while the submit handler is still retrying.
    t.stack.databricks.injectFaults('submit', [
      {
        status: 429,
        body: { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' },
        headers: { 'Retry-After': '1' },
      },
      {
        status: 429,
        body: { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' },
        headers: { 'Retry-After': '1' },
      },
    ]);
    await t.api.submit(jobRequest('lifecycle-cancel-mid-submit'));
    const { status } = await t.api.cancel(jobId);
    expect(status).toBe(202);
    const done = await waitForTerminal(t.api, jobId);
    expect(done.phase).toBe('ABORTED');
    // Either no run was ever created, or the one that was is cancelled: never a run left running.
    const runs = runsFor(t.stack, jobId);
    expect(runs.length).toBeLessThanOrEqual(1);
    if (runs.length === 1) expect(runs[0]?.cancelRequested).toBe(true);
  });
});
