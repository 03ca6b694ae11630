/**
 * A 429 storm (#12): the workspace answers every request 429 REQUEST_LIMIT_EXCEEDED with a long `Retry-After` (until
 * the storm ends, up to 12 s) while jobs are running (their polls), being submitted when it starts, and being
 * submitted during it. A Retry-After longer than a call may sleep is honoured by deferring the job's next
 * attempt (a new SQS message with that delay), never by sleeping or cutting it short: no job is failed, nothing goes
 * to a DLQ, no invocation hits its Lambda timeout, and no job calls the workspace again before the Retry-After it was
 * given. Once the workspace answers again, every job ends SUCCEEDED with one Databricks run.
 *
 * How long the storm must be: a call sleeps out a Retry-After only if it still leaves an attempt's minimum before its
 * record's deadline (shared/http/retry-loop.ts), and the deadline here leaves 5 s for calls, so no call sleeps more
 * than LONGEST_SLEEP_MS (4 s; the retry policy's own cap, maxDelayMs 20 s, is never reached, so every deferral here is
 * the deadline's, carrying the whole Retry-After: unit tests cover a Retry-After past the cap). The storm's calls come
 * within a few seconds of its start and get Retry-Afters of 8 to 12 s on this machine (the test prints them): longer
 * than any call may sleep.
 *
 * Calls are counted at the emulator (which job each was for: the submit body's idempotency token, the run id of a
 * runs/get); the only time compared is an answer's own Retry-After against the job's next call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../infra/local/emulators/databricks-workspace.js';
import { isApiError } from '../../shared/client/jobs-api-client.js';
import { DEFAULT_RETRY_POLICY } from '../../shared/databricks/retry-policy.js';
import { DEADLINE_SAFETY_MARGIN_MS, MIN_ATTEMPT_TIME_MS } from '../../shared/invocation-deadline.js';
import {
  jobRequest,
  jobView,
  peekQueue,
  runsFor,
  startTestStack,
  type TestStack,
  waitFor,
} from './support/test-stack.js';

const FUNCTION_TIMEOUT_SECONDS = 10;
/** The longest a call may sleep before it defers instead: what its deadline leaves, less an attempt's minimum. */
const LONGEST_SLEEP_MS = Math.min(
  DEFAULT_RETRY_POLICY.retryAfterCapMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
  FUNCTION_TIMEOUT_SECONDS * 1000 - DEADLINE_SAFETY_MARGIN_MS - MIN_ATTEMPT_TIME_MS,
);
/** Three times the longest sleep: a call as late as 8 s into it (a slow submission on a loaded machine) still defers. */
const STORM_MS = 3 * LONGEST_SLEEP_MS;
/** The circuit breaker's first backoff (the default is 10 s; it doubles after each failed probe). */
const FIRST_BACKOFF_SECONDS = 2;
/** When the mid-storm jobs are submitted: into the storm, their calls a few seconds before it ends. */
const MID_STORM_AFTER_MS = 2000;
/** Long enough that the jobs submitted just before the storm are still running when it starts. */
const TIMING = { pendingMs: 200, runningMs: 3000, terminatingMs: 50 };

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack({
    databricks: { timing: TIMING },
    // The deadline leaves 5 s for calls: a Retry-After of more than 4 s (LONGEST_SLEEP_MS) is never slept.
    functionTimeoutSeconds: FUNCTION_TIMEOUT_SECONDS,
    visibilityTimeoutSeconds: 12,
    pollIntervalSeconds: { min: 1, max: 2 },
    // A container that found the workspace failing leaves it alone for at least the Retry-After it was given, then
    // probes it; the calls refused meanwhile come back after max(what is left, half this) (the default, 10 s, had
    // them back 5-6 s after the storm, while the probe had already found the workspace well).
    env: { WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: String(FIRST_BACKOFF_SECONDS) },
  });
}, 60_000);
afterAll(async () => {
  await t?.stack.stop();
});

async function submit(executionId: string): Promise<string> {
  const { body } = await t.api.submit(jobRequest(executionId));
  if (isApiError(body)) throw new Error(body.error.message);
  return body.jobId;
}

/** Which job a runs/submit or runs/get was for: the submit's idempotency token, or the job of the run it reads. */
function jobOf(request: RecordedRequest, jobByRunId: Map<number, string>): string | undefined {
  if (request.path.endsWith('/runs/submit')) {
    try {
      return (JSON.parse(request.body ?? '') as { idempotency_token?: string }).idempotency_token;
    } catch {
      return undefined;
    }
  }
  if (!request.path.endsWith('/runs/get')) return undefined;
  const runId = Number(new URLSearchParams(request.query ?? '').get('run_id'));
  return jobByRunId.get(runId);
}

describe('a 429 storm with a long Retry-After', () => {
  it('defers the jobs until the Retry-After, fails none, and every job ends SUCCEEDED with one run', async () => {
    const ws = t.stack.databricks;
    // Running when the storm starts: their polls meet it.
    const running = await Promise.all([1, 2, 3].map((i) => submit(`before-${i}`)));
    await waitFor(
      () => Promise.all(running.map((jobId) => jobView(t.api, jobId))),
      (views) => views.every((view) => view.runId !== null),
      20_000,
    );
    const stormFrom = Date.now();
    const stormTo = stormFrom + STORM_MS;
    ws.outage({ fromMs: stormFrom, toMs: stormTo, mode: { status: 429 } });
    const atStart = await Promise.all([1, 2, 3].map((i) => submit(`start-${i}`)));
    // Submitted during the storm: their calls get a shorter Retry-After, still longer than any call may sleep.
    await new Promise((resolve) => setTimeout(resolve, MID_STORM_AFTER_MS));
    const midStorm = await Promise.all([1, 2, 3].map((i) => submit(`mid-${i}`)));
    const jobs = [...running, ...atStart, ...midStorm];

    const views = await waitFor(
      () => Promise.all(jobs.map((jobId) => jobView(t.api, jobId))),
      (all) => all.every((view) => view.phase === 'SUCCEEDED' || view.phase.includes('FAILED')),
      STORM_MS + 30_000,
    );
    expect(views.map((view) => view.phase)).toEqual(jobs.map(() => 'SUCCEEDED'));
    for (const jobId of jobs) expect(runsFor(t.stack, jobId)).toHaveLength(1);

    const jobByRunId = new Map(ws.runs().map((run) => [run.runId, run.idempotencyToken ?? '']));
    const calls = ws.requests.map((request) => ({ request, jobId: jobOf(request, jobByRunId) }));
    const throttled = calls.filter(({ request }) => request.status === 429);
    // The storm was met: the running jobs' polls and the new jobs' submissions were answered 429, at least until
    // five in a row made the container leave the workspace alone (shared/databricks/workspace-health.ts).
    expect(throttled.length).toBeGreaterThanOrEqual(5);
    // No job called again before the Retry-After it was given (whole seconds; SQS delays in whole seconds too).
    for (const { request, jobId } of throttled) {
      expect(jobId).toBeDefined();
      const retryAfterMs = Math.ceil((stormTo - request.at) / 1000) * 1000;
      const next = calls.find((call) => call.jobId === jobId && call.request.at > request.at);
      expect(next, `${jobId} was called again`).toBeDefined();
      expect(next?.request.at ?? 0).toBeGreaterThanOrEqual(request.at + retryAfterMs);
    }
    // While it throttled, the workspace was called at most once per job, not once per retry or redelivery, plus the
    // circuit breaker's probes (one per backoff: 2 s, then 4 s, 8 s). The breaker opens for at least the Retry-After a
    // call was given, but each execution environment learns it on its own calls, so a few probes may come before the
    // storm's end (the per-job Retry-After above always holds).
    const duringStorm = ws.requests.filter((request) => request.at >= stormFrom && request.at < stormTo);
    expect(duringStorm.length).toBeLessThanOrEqual(jobs.length + 3);

    for (const dlq of [t.stack.queues.submitDlq, t.stack.queues.pollDlq, t.stack.queues.cancelDlq]) {
      expect(await peekQueue(t.stack, dlq)).toEqual([]);
    }
    const timeouts = t.stack.lambdaTimeouts();
    expect(timeouts).toEqual(Object.fromEntries(Object.keys(timeouts).map((name) => [name, 0])));
    const retryAfters = throttled.map(({ request }) => Math.ceil((stormTo - request.at) / 1000));
    console.log(
      `[429 storm] ${jobs.length} jobs, ${throttled.length} calls answered 429 (Retry-After ${Math.min(...retryAfters)}` +
        `-${Math.max(...retryAfters)} s), ${duringStorm.length} calls during the storm, ${ws.requests.length} in all; ` +
        `jobs done ${((Date.now() - stormTo) / 1000).toFixed(1)} s after it`,
    );
  }, 90_000);
});
