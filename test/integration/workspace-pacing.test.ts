/**
 * Pacing on the embedded stack: four jobs on a workspace whose Jobs API budget is 1 request a second, with a 2 s
 * poll interval that would otherwise poll them about twice a second together. Their polls go to one-second slots of
 * a 5 s period (80 % of the budget), so the emulator never sees more runs/get than the budget allows over a period,
 * and every job still reaches SUCCEEDED. Counted from the emulator's request log, over whole periods (a poll lands
 * anywhere in its slot's second, so single seconds would count delivery jitter, not pacing).
 */
import { describe, expect, it } from 'vitest';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { jobRequest, NAMESPACE, useTestStack, waitForTerminal } from './support/test-stack.js';

const BUDGET_RPS = 1;
/** Four jobs at 0.8 polls a second: ceil(4 / 0.8) = 5 s. */
const PERIOD_SECONDS = 5;

const t = useTestStack({
  databricks: { timing: { pendingMs: 150, runningMs: 4000, terminatingMs: 50 } },
  pollIntervalSeconds: { min: 2, max: 2 },
  env: { WORKSPACE_API_BUDGET_RPS: String(BUDGET_RPS) },
});

describe('Workspace pacing on the local stack', () => {
  it('keeps runs/get within the budget over every period, and every job still succeeds', async () => {
    // Act: the jobs are accepted before the first poll (2 s later) reads the workspace's live jobs.
    const names = ['pace-a', 'pace-b', 'pace-c', 'pace-d'];
    await Promise.all(names.map((name) => t.api.submit(jobRequest(name))));
    const done = await Promise.all(names.map((name) => waitForTerminal(t.api, jobIdFor(NAMESPACE, name), 25_000)));

    // Assess
    expect(done.map((view) => view.phase)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const calls = t.stack.databricks.requests.filter((r) => r.path.endsWith('/jobs/runs/get')).map((r) => r.at);
    expect(calls.length).toBeGreaterThanOrEqual(names.length);
    // Every window of one period, starting at each call: at most the budget's calls for that long.
    const most = Math.max(
      ...calls.map((start) => calls.filter((at) => at >= start && at < start + PERIOD_SECONDS * 1000).length),
    );
    expect(most).toBeLessThanOrEqual(BUDGET_RPS * PERIOD_SECONDS);
  });
});
