/**
 * What the CLI prints for people: a job, a list, and the live progress of a watched job, which is one line redrawn
 * in place on a terminal (carriage return + clear line) and one line per change when the output is a file or pipe.
 */
import type { JobList, JobView } from '../client/jobs-api-client.js';

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** 5s, 1m02s, 1h02m03s. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(s)}s`;
  if (m > 0) return `${m}m${pad(s)}s`;
  return `${s}s`;
}

/** How long the job has existed (since it was accepted), by this machine's clock. */
export function elapsedSince(view: JobView, now: number): string {
  const end = view.finishedAt ? Date.parse(view.finishedAt) : now;
  return formatElapsed(end - Date.parse(view.createdAt));
}

/** `RUNNING · Databricks RUNNING · 42s · https://…/run/7`: phase, life-cycle state, elapsed, run page. */
export function progressLine(view: JobView, now: number): string {
  return [
    view.phase,
    `Databricks ${view.databricks.lifeCycleState ?? '-'}`,
    elapsedSince(view, now),
    ...(view.runPageUrl ? [view.runPageUrl] : []),
  ].join(' · ');
}

/** Live progress: redraws one line on a TTY; otherwise writes a line whenever phase, state or run page change. */
export class ProgressReporter {
  private lastKey: string | undefined;
  private drawn = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly now: () => number = Date.now,
  ) {}

  update(view: JobView): void {
    const line = progressLine(view, this.now());
    if (this.stream.isTTY) {
      const width = Math.max(20, (this.stream.columns ?? 120) - 1);
      this.stream.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
      this.drawn = true;
      return;
    }
    const key = [view.phase, view.databricks.lifeCycleState, view.runPageUrl].join('|');
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.stream.write(`${line}\n`);
  }

  /** Ends the redrawn line so what follows starts on its own. */
  finish(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

export function describeJob(view: JobView, now: number): string {
  const state = [view.databricks.lifeCycleState, view.databricks.resultState].filter(Boolean).join(' / ');
  const rows: Array<[string, string]> = [
    ['Job', view.jobId],
    ['Namespace', view.namespace],
    ['Execution', view.executionId],
    ['Phase', `${view.phase}${view.cancelRequested && view.phase !== 'ABORTED' ? ' (cancellation requested)' : ''}`],
    ['Databricks', `${state || '-'}${view.runId !== null ? ` (run ${view.runId})` : ''}`],
    ['Message', view.message],
    ...(view.runPageUrl ? [['Run page', view.runPageUrl] as [string, string]] : []),
    ...(view.auth
      ? [['Auth', `${view.auth.mode}${view.auth.reason ? ` (${view.auth.reason})` : ''}`] as [string, string]]
      : []),
    ['Created', `${view.createdAt} (${elapsedSince({ ...view, finishedAt: null }, now)} ago)`],
    ...(view.finishedAt
      ? [['Finished', `${view.finishedAt} (took ${elapsedSince(view, now)})`] as [string, string]]
      : []),
  ];
  return rows.map(([label, value]) => `${label.padEnd(11)}${value}`).join('\n');
}

export function describeList(list: JobList, namespace: string, cliName: string): string {
  if (list.jobs.length === 0) return `No jobs in namespace ${namespace}${list.nextToken ? ' on this page' : ''}.`;
  const header = ['JOB ID', 'EXECUTION ID', 'PHASE', 'DATABRICKS', 'CREATED'];
  const rows = list.jobs.map((job) => [
    job.jobId,
    job.executionId,
    job.phase,
    job.databricks.lifeCycleState ?? '-',
    job.createdAt,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const format = (row: string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = [format(header), ...rows.map(format)];
  if (list.nextToken) lines.push('', `More: ${cliName} list ${namespace} --next-token ${list.nextToken}`);
  return lines.join('\n');
}
