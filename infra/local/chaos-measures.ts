/**
 * What the chaos scenario measures once the run is over, as plain functions of what it recorded: medians of job
 * times, the busiest second at a workspace, and which jobs the sweeper had to rescue.
 */

/** The median of the values; NaN when there are none (a phase whose jobs all got lost has no time to compare). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Requests in the busiest aligned second (epoch seconds, by arrival time in ms): what a per-second budget is held to.
 * 0 when there were none.
 */
export function peakPerSecond(arrivalsMs: Iterable<number>): number {
  const perSecond = new Map<number, number>();
  let peak = 0;
  for (const at of arrivalsMs) {
    const second = Math.floor(at / 1000);
    const count = (perSecond.get(second) ?? 0) + 1;
    perSecond.set(second, count);
    if (count > peak) peak = count;
  }
  return peak;
}

/**
 * The jobs the sweeper rescued or gave up on: those whose item counts a rescue (`rescues`, which only the sweeper
 * writes and nothing resets), and those its log lines name (`Stale job rescued`, `Stale job given up`, `Stale job
 * ended`), which also catch a job ended before any rescue was counted.
 */
export function rescuedJobs(jobs: Iterable<{ jobId: string; rescues?: number }>, logs: string): Set<string> {
  const rescued = new Set<string>();
  for (const job of jobs) if ((job.rescues ?? 0) > 0) rescued.add(job.jobId);
  for (const line of logs.split('\n')) {
    if (!line.includes('"Stale job ')) continue;
    try {
      const entry = JSON.parse(line) as { message?: unknown; jobId?: unknown };
      if (
        typeof entry.message === 'string' &&
        entry.message.startsWith('Stale job ') &&
        typeof entry.jobId === 'string'
      ) {
        rescued.add(entry.jobId);
      }
    } catch {
      // not a structured log line
    }
  }
  return rescued;
}
