/**
 * What the status page shows, computed from the collected metrics: the dashboard's main widgets (jobs ended by
 * phase over time, Databricks calls per second per workspace against the budget, DLQ depths) as plain numbers,
 * so the HTML (status-page-html.ts) and `/status.json` show the same thing. Metric names and dimension sets come
 * from the catalog, the one contract with the code that emits them.
 */
import { METRICS, METRICS_NAMESPACE, TERMINAL_PHASES } from '../../../shared/metrics/metric-catalog.js';
import type { DlqDepth, DlqSample } from './dlq-depths.js';
import type { EmfMetrics, EmfMetricsStats, Series } from './emf-metrics.js';

export interface PhaseSeries {
  phase: string;
  /** Jobs that ended in this phase, per bucket. */
  perBucket: number[];
  /** Since the stack started. */
  total: number;
}

export interface WorkspaceRate {
  /** The workspace host, or `all workspaces` when WorkspaceCalls is not emitted. */
  workspace: string;
  /** Calls per second, averaged over each bucket; NaN (null in JSON) before the collector started. */
  perSecond: number[];
  peakPerSecond: number;
  totalCalls: number;
  /** Calls answered 429 since start. */
  throttled: number;
}

export interface StatusView {
  generatedAtMs: number;
  bucketMs: number;
  /** Start of each bucket, oldest first. */
  bucketStarts: number[];
  jobs: { accepted: number; submitted: number; ended: number; phases: PhaseSeries[] };
  databricks: {
    /** false: WorkspaceCalls was never seen, `workspaces` holds the DatabricksCalls total as one line. */
    perWorkspace: boolean;
    /** WORKSPACE_API_BUDGET_RPS; undefined when the environment does not say (0 is pacing off). */
    budgetPerSecond: number | undefined;
    workspaces: WorkspaceRate[];
    /** DatabricksCalls since start, every endpoint and status class. */
    totalCalls: number;
  };
  detectionLag: { count: number; averageSeconds: number | undefined; maxSeconds: number | undefined };
  dlqs: { current: DlqDepth[]; history: readonly DlqSample[] };
  series: ReturnType<EmfMetrics['allSeries']>;
  collector: EmfMetricsStats & { startedAtMs: number };
}

export interface StatusSources {
  metrics: EmfMetrics;
  budgetPerSecond: number | undefined;
  dlqHistory: readonly DlqSample[];
}

export function statusView(sources: StatusSources, nowMs = Date.now()): StatusView {
  const { metrics } = sources;
  const query = (name: keyof typeof METRICS) =>
    metrics.query({ namespace: METRICS_NAMESPACE, name, dimensions: METRICS[name].dimensions }, nowMs);
  const total = (series: Series[]) => series.reduce((sum, s) => sum + s.total.sum, 0);
  const bucketSeconds = metrics.bucketMs / 1000;

  const ended = query('JobsEnded');
  const phases = groupBy(ended, 'Phase', metrics.bucketCount);
  // The catalog's phases first, in its order, even before any job ended in them; anything else after.
  const known: readonly string[] = TERMINAL_PHASES;
  const phaseNames = [...known, ...[...phases.keys()].filter((p) => !known.includes(p)).sort()];

  const workspaceCalls = query('WorkspaceCalls');
  const databricksCalls = query('DatabricksCalls');
  const perWorkspace = workspaceCalls.length > 0;
  const rates = perWorkspace
    ? groupBy(workspaceCalls, 'Workspace', metrics.bucketCount)
    : new Map(databricksCalls.length > 0 ? [['all workspaces', sumOf(databricksCalls, metrics.bucketCount)]] : []);

  const lag = query('DetectionLag');
  const lagCount = lag.reduce((n, s) => n + s.total.count, 0);

  const latest = sources.dlqHistory.at(-1);
  const starts = metrics.bucketStarts(nowMs);
  return {
    generatedAtMs: nowMs,
    bucketMs: metrics.bucketMs,
    bucketStarts: starts,
    jobs: {
      accepted: total(query('JobsAccepted')),
      submitted: total(query('JobsSubmitted')),
      ended: total(ended),
      phases: phaseNames.map((phase) => {
        const group = phases.get(phase);
        return {
          phase,
          perBucket: group?.perBucket ?? new Array(metrics.bucketCount).fill(0),
          total: group?.total ?? 0,
        };
      }),
    },
    databricks: {
      perWorkspace,
      budgetPerSecond: sources.budgetPerSecond,
      totalCalls: total(databricksCalls),
      workspaces: [...rates].map(([workspace, group]) => {
        // Before the collector started nothing was measured: unknown (a gap in the line), not 0 calls.
        const perSecond = group.perBucket.map((calls, i) =>
          (starts[i] ?? 0) + metrics.bucketMs <= metrics.startedAtMs ? Number.NaN : calls / bucketSeconds,
        );
        return {
          workspace,
          perSecond,
          peakPerSecond: Math.max(0, ...perSecond.filter(Number.isFinite)),
          totalCalls: group.total,
          throttled: perWorkspace
            ? total(
                workspaceCalls.filter(
                  (s) => s.dimensions.Workspace === workspace && s.dimensions.StatusClass === '429',
                ),
              )
            : total(databricksCalls.filter((s) => s.dimensions.StatusClass === '429')),
        };
      }),
    },
    detectionLag: {
      count: lagCount,
      averageSeconds: lagCount > 0 ? lag.reduce((n, s) => n + s.total.sum, 0) / lagCount : undefined,
      maxSeconds: lagCount > 0 ? Math.max(...lag.map((s) => s.total.max)) : undefined,
    },
    dlqs: { current: latest?.depths ?? [], history: sources.dlqHistory },
    series: metrics.allSeries(),
    collector: { ...metrics.stats(), startedAtMs: metrics.startedAtMs },
  };
}

interface Group {
  perBucket: number[];
  total: number;
}

/** Sums of the series' buckets and totals by one dimension's value. */
function groupBy(series: Series[], dimension: string, buckets: number): Map<string, Group> {
  const groups = new Map<string, Series[]>();
  for (const s of series) {
    const value = s.dimensions[dimension] ?? '';
    groups.set(value, [...(groups.get(value) ?? []), s]);
  }
  return new Map([...groups].map(([value, members]) => [value, sumOf(members, buckets)]));
}

function sumOf(series: Series[], buckets: number): Group {
  const perBucket = new Array<number>(buckets).fill(0);
  let total = 0;
  for (const s of series) {
    s.buckets.forEach((b, i) => {
      perBucket[i] = (perBucket[i] ?? 0) + b.sum;
    });
    total += s.total.sum;
  }
  return { perBucket, total };
}
