/**
 * The status page: plain server-rendered HTML with inline SVG charts, no script and nothing fetched (a meta refresh
 * reloads it). Every value that came from function output is escaped (../svg-markup.ts). Numbers a test or a tool
 * reads carry `data-*` attributes (`data-phase`, `data-workspace`, `data-dlq`, `data-total`).
 */
import { escapeMarkup } from '../svg-markup.js';
import type { StatusView } from './status-view.js';
import { type ChartFrame, formatNumber, lines, stackedColumns } from './svg-chart.js';

export interface PageOptions {
  /** Seconds between reloads; 0 for none. */
  refreshSeconds: number;
}

const PHASE_COLORS: Record<string, string> = {
  SUCCEEDED: '#2e7d32',
  FAILED: '#c62828',
  RETRYABLE_FAILED: '#ef6c00',
  ABORTED: '#757575',
};
/** No green or red: those say SUCCEEDED and FAILED (or an alarm) on this page. */
const PALETTE = ['#1565c0', '#6a1b9a', '#00838f', '#ad1457', '#8d6e63', '#4e342e', '#283593', '#f9a825'];
const colorAt = (i: number) => PALETTE[i % PALETTE.length] as string;
const phaseColor = (phase: string, i: number) => PHASE_COLORS[phase] ?? colorAt(i);
const CHART = { width: 880, height: 220 };

export function renderStatusPage(view: StatusView, options: PageOptions): string {
  const frame = chartFrame(view);
  const dlqTotal = view.dlqs.current.reduce((n, q) => n + (q.depth ?? 0), 0);
  const dlqUnknown = view.dlqs.current.some((q) => q.depth === undefined);
  const refresh = options.refreshSeconds > 0 ? `<meta http-equiv="refresh" content="${options.refreshSeconds}">` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
${refresh}
<title>flyte-databricks-lambda · local status</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>flyte-databricks-lambda <span>local stack status</span></h1>
<p>Updated <time id="updated" datetime="${iso(view.generatedAtMs)}">${iso(view.generatedAtMs)}</time>
· last metric line ${lastLine(view)}
· last ${formatDuration(view.bucketStarts.length * view.bucketMs)} at ${formatDuration(view.bucketMs)} resolution
${options.refreshSeconds > 0 ? `· reloads every ${options.refreshSeconds} s` : ''}</p>
</header>
<section class="tiles">
${tile('Jobs accepted', view.jobs.accepted, 'jobs-accepted')}
${tile('Jobs submitted', view.jobs.submitted, 'jobs-submitted')}
${tile('Jobs ended', view.jobs.ended, 'jobs-ended')}
${tile('Databricks calls', view.databricks.totalCalls, 'databricks-calls')}
${tile('DLQ messages', dlqUnknown ? '?' : dlqTotal, 'dlq-messages', dlqTotal > 0 || dlqUnknown ? 'alarm' : 'ok')}
</section>
${jobsWidget(view, frame)}
${callsWidget(view, frame)}
${dlqWidget(view, frame)}
${lagWidget(view)}
${allMetrics(view)}
<footer>Read from the functions' embedded-metric-format lines (stdout) since ${iso(view.collector.startedAtMs)}:
${view.collector.emfLines} EMF lines, ${view.collector.ignoredLines} ignored (malformed or oversized),
${view.collector.droppedPoints} values dropped over the series limit. DLQ depths from the local SQS.</footer>
</body>
</html>
`;
}

function jobsWidget(view: StatusView, frame: ChartFrame): string {
  const series = view.jobs.phases.map((p, i) => ({
    label: p.phase,
    color: phaseColor(p.phase, i),
    values: p.perBucket,
  }));
  const rows = view.jobs.phases
    .map(
      (p, i) =>
        `<tr><td>${swatch(phaseColor(p.phase, i))}${escapeMarkup(p.phase)}</td>` +
        `<td class="n" data-metric="JobsEnded" data-phase="${escapeMarkup(p.phase)}">${p.total}</td></tr>`,
    )
    .join('');
  return `<section id="jobs-by-phase">
<h2>Jobs ended, by phase</h2>
<p class="what">JobsEnded per ${formatDuration(view.bucketMs)}, stacked by Phase.</p>
${stackedColumns(series, frame)}
<table><thead><tr><th>phase</th><th class="n">since start</th></tr></thead><tbody>${rows}</tbody></table>
</section>`;
}

function callsWidget(view: StatusView, frame: ChartFrame): string {
  const { databricks } = view;
  const budget = databricks.budgetPerSecond;
  const series = databricks.workspaces.map((w, i) => ({ label: w.workspace, color: colorAt(i), values: w.perSecond }));
  const threshold = budget !== undefined && budget > 0 ? { value: budget, label: `budget ${budget}/s` } : undefined;
  const rows = databricks.workspaces
    .map(
      (w, i) =>
        `<tr data-workspace="${escapeMarkup(w.workspace)}"><td>${swatch(colorAt(i))}${escapeMarkup(w.workspace)}</td>` +
        `<td class="n" data-peak-per-second="${w.peakPerSecond}">${formatNumber(w.peakPerSecond)}</td>` +
        `<td class="n" data-calls="${w.totalCalls}">${w.totalCalls}</td>` +
        `<td class="n" data-throttled="${w.throttled}">${w.throttled}</td></tr>`,
    )
    .join('');
  const budgetText =
    budget === undefined
      ? 'no WORKSPACE_API_BUDGET_RPS in the functions’ environment'
      : budget === 0
        ? 'WORKSPACE_API_BUDGET_RPS=0: pacing off, no budget'
        : `budget: WORKSPACE_API_BUDGET_RPS=${budget} calls/s per workspace (dashed line)`;
  const source = databricks.perWorkspace
    ? 'WorkspaceCalls per Workspace (every status class)'
    : 'DatabricksCalls, every workspace together: WorkspaceCalls is not emitted (METRICS_WORKSPACE_DIMENSION is off)';
  return `<section id="databricks-calls">
<h2>Databricks calls per second, per workspace</h2>
<p class="what">${escapeMarkup(source)}, averaged over ${formatDuration(view.bucketMs)}; <span id="budget"
data-budget="${budget ?? ''}">${escapeMarkup(budgetText)}</span>.</p>
${lines(series, { ...frame, unit: '/s' }, threshold)}
<table><thead><tr><th>workspace</th><th class="n">peak calls/s</th><th class="n">calls</th><th class="n">429s</th></tr>
</thead><tbody>${rows || '<tr><td colspan="4">no Databricks calls yet</td></tr>'}</tbody></table>
</section>`;
}

function dlqWidget(view: StatusView, frame: ChartFrame): string {
  const names = view.dlqs.current.map((q) => q.name);
  const series = names.map((name, i) => ({
    label: name,
    color: colorAt(i + 3),
    values: sampledPerBucket(view, name),
  }));
  const rows = view.dlqs.current
    .map(
      (q, i) =>
        `<tr><td>${swatch(colorAt(i + 3))}${escapeMarkup(q.name)}</td><td class="n${q.depth ? ' alarm' : ''}" ` +
        `data-dlq="${escapeMarkup(q.name)}">${q.depth ?? 'unreadable'}</td></tr>`,
    )
    .join('');
  return `<section id="dlq-depth">
<h2>Dead-letter queues</h2>
<p class="what">ApproximateNumberOfMessages of each DLQ the template defines, read from the local SQS; anything
above 0 is a job given up on (the job says why).</p>
${lines(series, frame)}
<table><thead><tr><th>queue</th><th class="n">messages</th></tr></thead>
<tbody>${rows || '<tr><td colspan="2">no DLQ in the template</td></tr>'}</tbody></table>
</section>`;
}

function lagWidget(view: StatusView): string {
  const { count, averageSeconds, maxSeconds } = view.detectionLag;
  const text =
    count === 0 || averageSeconds === undefined || maxSeconds === undefined
      ? 'no run end detected yet'
      : `${count} run ends: average ${formatNumber(averageSeconds)} s, longest ${formatNumber(maxSeconds)} s`;
  return `<section id="detection-lag"><h2>Detection lag</h2>
<p class="what">DetectionLag: from a Databricks run's end to the job's terminal write.</p>
<p data-count="${count}">${escapeMarkup(text)}</p></section>`;
}

function allMetrics(view: StatusView): string {
  const rows = [...view.series]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(
      (s) =>
        `<tr><td>${escapeMarkup(s.namespace)}</td><td>${escapeMarkup(s.name)}</td><td>${escapeMarkup(
          Object.entries(s.dimensions)
            .map(([k, v]) => `${k}=${v}`)
            .join(', '),
        )}</td><td>${escapeMarkup(s.unit)}</td><td class="n">${s.total.count}</td>` +
        `<td class="n">${formatNumber(s.total.sum)}</td><td class="n">${formatNumber(s.total.max)}</td></tr>`,
    )
    .join('');
  return `<section id="all-metrics"><details><summary>Every metric series seen (${view.series.length})</summary>
<table><thead><tr><th>namespace</th><th>metric</th><th>dimensions</th><th>unit</th><th class="n">values</th>
<th class="n">sum</th><th class="n">max</th></tr></thead><tbody>${rows}</tbody></table></details></section>`;
}

/** Each bucket's last sampled depth of one DLQ; NaN where nothing was sampled (before the page started). */
function sampledPerBucket(view: StatusView, name: string): number[] {
  const values = view.bucketStarts.map(() => Number.NaN);
  const first = view.bucketStarts[0] ?? 0;
  for (const sample of view.dlqs.history) {
    const index = Math.floor((sample.atMs - first) / view.bucketMs);
    const depth = sample.depths.find((q) => q.name === name)?.depth;
    if (index >= 0 && index < values.length && depth !== undefined) values[index] = depth;
  }
  return values;
}

function chartFrame(view: StatusView): ChartFrame {
  const points = view.bucketStarts.length;
  const windowMs = points * view.bucketMs;
  // Four labels: the window's start, two thirds between, now.
  const xLabels = [0, 1, 2].map((k) => {
    const index = Math.round((k * points) / 3);
    return { index, text: `-${formatDuration(windowMs - index * view.bucketMs)}` };
  });
  return { ...CHART, points, xLabels: [...xLabels, { index: points, text: 'now' }] };
}

function tile(label: string, value: number | string, id: string, tone = ''): string {
  return `<div class="tile ${tone}"><div class="v" id="${id}" data-total="${escapeMarkup(value)}">${escapeMarkup(
    value,
  )}</div><div class="l">${escapeMarkup(label)}</div></div>`;
}

const swatch = (color: string) => `<span class="sw" style="background:${escapeMarkup(color)}"></span>`;

function lastLine(view: StatusView): string {
  const at = view.collector.lastEmfAtMs;
  return at === undefined
    ? '<time id="last-metric">none yet</time>'
    : `<time id="last-metric" datetime="${iso(at)}">${iso(at)}</time>`;
}

const iso = (ms: number) => new Date(ms).toISOString();

function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${formatNumber(ms / 1000)} s`;
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:16px 24px;background:#f5f6f8;color:#222}
header h1{font-size:20px;margin:0}header h1 span{font-weight:400;color:#555}header p{margin:4px 0 12px;color:#555}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 16px;margin:0 0 14px;max-width:900px}
h2{font-size:16px;margin:0 0 4px}.what{margin:0 0 8px;color:#555;font-size:13px}
.tiles{display:flex;gap:12px;background:none;border:none;padding:0}
.tile{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:8px 14px;min-width:120px}
.tile .v{font-size:26px;font-weight:600}.tile .l{color:#555;font-size:12px}
.tile.ok .v{color:#2e7d32}.tile.alarm .v,td.alarm{color:#c62828;font-weight:600}
table{border-collapse:collapse;margin-top:6px;font-size:13px}th,td{padding:2px 12px 2px 0;text-align:left}
th{color:#555;font-weight:500}.n{text-align:right}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
footer{color:#666;font-size:12px;max-width:900px}summary{cursor:pointer}
`;
