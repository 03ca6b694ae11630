/**
 * A workspace that stops answering delays only its own jobs (#12's first slice): two workspaces, one of them hung for
 * a few seconds from its first call. The hung workspace's calls end within the invocation's deadline instead of timing
 * out the batch; its records are deferred as new messages (no receive spent, nothing in a DLQ); once it has not
 * answered, it is left alone (its jobs come back later without calling it) until a probe finds it well again. The
 * healthy workspace's jobs run as usual, and every job ends SUCCEEDED with one run. Nothing here asserts timing:
 * outcomes and call counts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DatabricksWorkspace,
  startDatabricksWorkspace,
} from '../../infra/local/emulators/databricks-workspace.js';
import { isApiError } from '../../shared/client/jobs-api-client.js';
import {
  jobRequest,
  NAMESPACE,
  peekQueue,
  runsFor,
  startTestStack,
  type TestStack,
  waitFor,
  waitForTerminal,
} from './support/test-stack.js';

const SLOW_NS = 'team-slow';
const TIMING = { pendingMs: 150, runningMs: 400, terminatingMs: 50 };
/** How long the workspace stays hung from its first call. */
const HANG_MS = 5000;

let slow: DatabricksWorkspace;
let t: TestStack;

beforeAll(async () => {
  slow = await startDatabricksWorkspace({ timing: TIMING });
  const slowHost = new URL(slow.url).host;
  t = await startTestStack({
    // 8 s functions: the deadline leaves 3 s for calls, so a hung call ends well before Lambda would end the batch.
    functionTimeoutSeconds: 8,
    visibilityTimeoutSeconds: 10,
    extraAllowedHosts: [slowHost],
    env: {
      NAMESPACE_WORKSPACES: JSON.stringify({ [SLOW_NS]: [slowHost] }),
      // Left alone 3 s from the first call that got no answer (the default is 10 s): that call was cut at its
      // deadline (under 3 s from its invocation's start), so the probe comes about when the 5 s hang (HANG_MS) is
      // over; a probe that still met it would be one more unanswered call, which the count below allows.
      WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: '3',
    },
  });
  const token = `dapi${randomBytes(16).toString('hex')}`;
  slow.addToken(token, 'slow@example.com');
  t.stack.secrets.putSecret(`flyte/${SLOW_NS}/databricks-token`, JSON.stringify({ token, host: slowHost }));
}, 60_000);
afterAll(async () => {
  await t?.stack.stop();
  await slow?.close();
});

async function submit(executionId: string, namespace: string, task: Record<string, unknown> = {}) {
  const request = jobRequest(executionId, { namespace });
  const { body } = await t.api.submit({ ...request, task: { ...request.task, ...task } });
  if (isApiError(body)) throw new Error(body.error.message);
  return body.jobId;
}

describe('a hung workspace beside a healthy one', () => {
  it('delays only its own jobs: all end SUCCEEDED, one run each, no DLQ message, and it is not called while it is down', async () => {
    // Hung from now until HANG_MS after its first call: the submissions reach it after the functions' cold starts,
    // which on a loaded machine can outlast a window fixed in advance.
    const start = Date.now();
    slow.outage({ fromMs: start, toMs: start + 60_000, mode: 'hang' });
    const slowJobs = await Promise.all(
      [1, 2, 3].map((i) => submit(`hung-${i}`, SLOW_NS, { databricksInstance: slow.url })),
    );
    const healthyJobs = await Promise.all([1, 2, 3].map((i) => submit(`healthy-${i}`, NAMESPACE)));
    const firstCall = await waitFor(
      async () => slow.requests[0],
      (request) => request !== undefined,
      30_000,
    );
    expect(firstCall?.status).toBe(0);
    slow.clearOutages();
    slow.outage({ fromMs: start, toMs: (firstCall?.at ?? start) + HANG_MS, mode: 'hang' });

    for (const jobId of healthyJobs) {
      expect((await waitForTerminal(t.api, jobId, 30_000)).phase).toBe('SUCCEEDED');
      expect(runsFor(t.stack, jobId)).toHaveLength(1);
    }
    for (const jobId of slowJobs) {
      const done = await waitForTerminal(t.api, jobId, 90_000);
      expect(done.phase).toBe('SUCCEEDED');
      expect(slow.runs().filter((run) => run.idempotencyToken === jobId)).toHaveLength(1);
    }
    // While it hung it was called by the first submissions and a probe or two, not once per redelivery.
    const unanswered = slow.requests.filter((request) => request.status === 0);
    expect(unanswered.length).toBeGreaterThan(0);
    expect(unanswered.length).toBeLessThanOrEqual(slowJobs.length + 3);
    for (const dlq of [t.stack.queues.submitDlq, t.stack.queues.pollDlq, t.stack.queues.cancelDlq]) {
      expect(await peekQueue(t.stack, dlq)).toEqual([]);
    }
  }, 150_000);
});
