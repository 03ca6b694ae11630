import { describe, expect, it } from 'vitest';
import { EmfMetrics } from '../../../infra/local/status-page/emf-metrics.js';
import { renderStatusPage } from '../../../infra/local/status-page/status-page-html.js';
import { statusView } from '../../../infra/local/status-page/status-view.js';
import { craftedLine } from './emf-lines.js';

const T0 = 1_767_225_600_000;
const HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>';

function page(lines: string[], dlq: number | 'unreadable' = 0): string {
  const dlqDepth = dlq === 'unreadable' ? undefined : dlq;
  const metrics = new EmfMetrics({}, T0);
  for (const line of lines) metrics.accept(line, T0 + 1_000);
  const dlqHistory = [{ atMs: T0 + 1_000, depths: [{ name: 'SubmitQueueDeadLetterQueue', depth: dlqDepth }] }];
  return renderStatusPage(statusView({ metrics, budgetPerSecond: 20, dlqHistory }, T0 + 2_000), {
    refreshSeconds: 5,
  });
}

const count = (name: string, value: number, dimensions: Record<string, string>) =>
  craftedLine({ name, unit: 'Count', value, dimensions, timestampMs: T0 + 1_000 });

describe('the status page', () => {
  it('shows the numbers, each where a reader (or a test) finds it', () => {
    const html = page([
      count('JobsEnded', 3, { Phase: 'SUCCEEDED' }),
      count('WorkspaceCalls', 10, { Workspace: 'dbc-1.example', StatusClass: '2xx' }),
      count('DatabricksCalls', 10, { Endpoint: 'runs/get', StatusClass: '2xx' }),
    ]);
    expect(html).toMatch(/data-metric="JobsEnded" data-phase="SUCCEEDED">3</);
    expect(html).toMatch(/data-metric="JobsEnded" data-phase="FAILED">0</);
    expect(html).toMatch(/id="databricks-calls" data-total="10"/);
    expect(html).toMatch(/<tr data-workspace="dbc-1.example">.*data-calls="10"/);
    expect(html).toMatch(/data-budget="20"/);
    expect(html).toMatch(/data-dlq="SubmitQueueDeadLetterQueue">0</);
    expect(html).toMatch(/<time id="updated" datetime="2026-01-01T00:00:02.000Z">/);
    expect(html).toContain('<meta http-equiv="refresh" content="5">');
    expect(html.match(/<svg /g)).toHaveLength(3);
  });

  it('escapes every value that came from function output, in text and in attributes', () => {
    const html = page([
      count('JobsEnded', 1, { Phase: HOSTILE }),
      count('WorkspaceCalls', 1, { Workspace: HOSTILE, StatusClass: '2xx' }),
      count(HOSTILE, 1, { Endpoint: HOSTILE }),
    ]);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('loads nothing and runs nothing: no script, no external address', () => {
    const html = page([count('JobsEnded', 1, { Phase: 'SUCCEEDED' })]);
    expect(html).not.toMatch(/<script|<link|<iframe|src=|@import|url\(/i);
    // The one URL on the page is SVG's namespace name, which is never fetched.
    expect(html.match(/https?:\/\/[^"]+/g)?.every((url) => url === 'http://www.w3.org/2000/svg')).toBe(true);
  });

  it('says so when a DLQ holds messages or could not be read', () => {
    expect(page([], 2)).toMatch(/class="tile alarm"><div class="v" id="dlq-messages" data-total="2">/);
    expect(page([], 'unreadable')).toMatch(/data-dlq="SubmitQueueDeadLetterQueue">unreadable</);
    expect(page([], 'unreadable')).toMatch(/id="dlq-messages" data-total="\?"/);
  });

  it('says where the calls come from when WorkspaceCalls is not emitted', () => {
    const html = page([count('DatabricksCalls', 2, { Endpoint: 'runs/get', StatusClass: '2xx' })]);
    expect(html).toContain('METRICS_WORKSPACE_DIMENSION is off');
    expect(html).toMatch(/<tr data-workspace="all workspaces">/);
  });
});
