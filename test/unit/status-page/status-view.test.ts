import { describe, expect, it } from 'vitest';
import { EmfMetrics } from '../../../infra/local/status-page/emf-metrics.js';
import { statusView } from '../../../infra/local/status-page/status-view.js';
import { craftedLine } from './emf-lines.js';

const T0 = 1_767_225_600_000;

function metricsWith(lines: string[]): EmfMetrics {
  const metrics = new EmfMetrics({}, T0);
  for (const line of lines) metrics.accept(line, T0 + 1_000);
  return metrics;
}

const count = (name: string, value: number, dimensions: Record<string, string> = {}) =>
  craftedLine({ name, unit: 'Count', value, dimensions, timestampMs: T0 + 1_000 });

describe('statusView', () => {
  it("shows jobs ended per phase (the catalog's phases always, others after), accepted and submitted", () => {
    const metrics = metricsWith([
      count('JobsAccepted', 1),
      count('JobsAccepted', 1),
      count('JobsSubmitted', 2, { AuthMode: 'pat' }),
      count('JobsEnded', 1, { Phase: 'SUCCEEDED' }),
      count('JobsEnded', 1, { Phase: 'SUCCEEDED' }),
      count('JobsEnded', 1, { Phase: 'MYSTERY' }),
    ]);
    const view = statusView({ metrics, budgetPerSecond: 20, dlqHistory: [] }, T0 + 2_000);
    expect(view.jobs).toMatchObject({ accepted: 2, submitted: 2, ended: 3 });
    expect(view.jobs.phases.map((p) => [p.phase, p.total])).toEqual([
      ['SUCCEEDED', 2],
      ['FAILED', 0],
      ['RETRYABLE_FAILED', 0],
      ['ABORTED', 0],
      ['MYSTERY', 1],
    ]);
    expect(view.jobs.phases[0]?.perBucket.at(-1)).toBe(2);
  });

  it('shows calls per second per workspace from WorkspaceCalls, with the 429s and the budget', () => {
    const metrics = metricsWith([
      count('WorkspaceCalls', 10, { Workspace: 'a.example', StatusClass: '2xx' }),
      count('WorkspaceCalls', 5, { Workspace: 'a.example', StatusClass: '429' }),
      count('WorkspaceCalls', 1, { Workspace: 'b.example', StatusClass: '2xx' }),
      count('DatabricksCalls', 16, { Endpoint: 'runs/get', StatusClass: '2xx' }),
    ]);
    const view = statusView({ metrics, budgetPerSecond: 20, dlqHistory: [] }, T0 + 2_000);
    expect(view.databricks).toMatchObject({ perWorkspace: true, budgetPerSecond: 20, totalCalls: 16 });
    expect(view.databricks.workspaces.map((w) => [w.workspace, w.totalCalls, w.peakPerSecond, w.throttled])).toEqual([
      ['a.example', 15, 3, 5],
      ['b.example', 1, 0.2, 0],
    ]);
  });

  it('falls back to every workspace together (DatabricksCalls) when WorkspaceCalls is not emitted', () => {
    const metrics = metricsWith([
      count('DatabricksCalls', 4, { Endpoint: 'runs/get', StatusClass: '2xx' }),
      count('DatabricksCalls', 1, { Endpoint: 'runs/submit', StatusClass: '429' }),
    ]);
    const view = statusView({ metrics, budgetPerSecond: undefined, dlqHistory: [] }, T0 + 2_000);
    expect(view.databricks.perWorkspace).toBe(false);
    expect(view.databricks.workspaces).toEqual([
      expect.objectContaining({ workspace: 'all workspaces', totalCalls: 5, peakPerSecond: 1, throttled: 1 }),
    ]);
  });

  it('shows the latest DLQ depths and the detection lag', () => {
    const metrics = metricsWith([
      craftedLine({ name: 'DetectionLag', unit: 'Seconds', value: 2, timestampMs: T0 }),
      craftedLine({ name: 'DetectionLag', unit: 'Seconds', value: 4, timestampMs: T0 }),
    ]);
    const dlqHistory = [
      { atMs: T0, depths: [{ name: 'PollDlq', depth: 0 }] },
      { atMs: T0 + 5_000, depths: [{ name: 'PollDlq', depth: 3 }] },
    ];
    const view = statusView({ metrics, budgetPerSecond: 20, dlqHistory }, T0 + 6_000);
    expect(view.dlqs.current).toEqual([{ name: 'PollDlq', depth: 3 }]);
    expect(view.detectionLag).toEqual({ count: 2, averageSeconds: 3, maxSeconds: 4 });
  });
});
