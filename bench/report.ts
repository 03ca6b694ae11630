/**
 * The benchmark's verdicts: each measurement beside its target from issue #7, as a table for the terminal and for
 * bench/results.md. Pure: takes the measured numbers, returns rows and text.
 */

export interface FunctionFigures {
  bundleBytes: number;
  lazyBytes: number;
  initMs: number;
  /** The import with tracing off (no X-Ray SDK). */
  untracedInitMs?: number;
  firstInvokeMs: number;
  peakRssMb: number;
  memorySizeMb: number;
}

export interface BenchResults {
  functions: Record<string, FunctionFigures>;
  sdkReference: { bundleBytes: number; initMs: number; pollP50Ms: number };
  poll: {
    p50Ms: number;
    floorP50Ms: number;
    ratio: number;
    /** A do-nothing handler timed alike: the runtime's share of p50Ms and floorP50Ms (bench/warm-polls.ts). */
    runtimeP50Ms: number;
    databricksCallsPerPoll: number;
    sqsSendsPerPoll: number;
    dynamoReadsPerPoll: number;
    /** The workspace's live-job list Query, shared by a container's polls: amortised per poll. */
    liveListQueriesPerPoll: number;
    dynamoWritesPerPoll: number;
    /** The workspace budget ledger's writes per unchanged poll (one per Databricks call). */
    ledgerWritesPerPoll: number;
    /** Heartbeat writes per unchanged poll at the longest poll interval: the amortised worst case. */
    heartbeatWritesPerPollAtMaxInterval: number;
  };
  tokens: { requestsPer1000Polls: number; tokenLifetimesSpanned: number; maxRefreshesPerBatch: number };
  schedule: { pollsPerJobHour: number; medianDetectionLagS: number; fixed30sPollsPerJobHour: number };
  pacing: { activeJobs: number; budgetRps: number; peakRps: number; everyJobPolled: boolean; maxGapS: number };
  /**
   * Jobs starting (each with its runs/submit) and ending during the hour, containers' lists as old as they get, every
   * call through the workspace's call budget (issue #12).
   */
  pacingWithChurn: {
    peakRps: number;
    peakRps10s: number;
    meanRps: number;
    everyJobPolled: boolean;
    maxGapS: number;
    submitCalls: number;
    budgetDeferrals: number;
  };
  /** 1,000 jobs POSTed at once to one workspace; the emulator enforcing its limits (issue #12's burst). */
  throughput: {
    jobs: number;
    jobsPerS: number;
    perJob: Record<string, number>;
    budgetRps: number;
    peakWorkspaceRps: number;
    workspace429s: number;
    ledgerPerJob: number;
  };
}

export interface Row {
  area: string;
  measure: string;
  value: string;
  target: string;
  met: boolean | undefined;
  /** A check beyond the issue's targets: shown with its verdict, not counted among the targets. */
  extra?: boolean;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;
const num = (value: number, digits = 2) => String(Math.round(value * 10 ** digits) / 10 ** digits);

export function rowsFor(r: BenchResults): Row[] {
  const rows: Row[] = [];
  const ref = r.sdkReference;
  rows.push({
    area: 'cold start',
    measure: 'SDK reference (poll handler on @databricks/sdk-experimental): initial bundle / import',
    value: `${kb(ref.bundleBytes)} / ${ms(ref.initMs)}`,
    target: 'the yardstick',
    met: undefined,
  });
  for (const [name, f] of Object.entries(r.functions)) {
    rows.push({
      area: 'cold start',
      measure: `${name}: initial bundle (lazy chunks beside it)`,
      value: `${kb(f.bundleBytes)} (+${kb(f.lazyBytes)} lazy)`,
      target: `<= ${kb(ref.bundleBytes / 2)} (0.5x reference)`,
      met: f.bundleBytes <= ref.bundleBytes / 2,
    });
    rows.push({
      area: 'cold start',
      measure: `${name}: import (median, fresh Node 22 process)`,
      value: `${ms(f.initMs)} (first invocation ${ms(f.firstInvokeMs)})`,
      target: `<= ${ms(ref.initMs / 2)} (0.5x reference)`,
      met: f.initMs <= ref.initMs / 2,
    });
    if (f.untracedInitMs !== undefined) {
      rows.push({
        area: 'cold start',
        measure: `${name}: import with tracing off (\`-c tracing=false\`: no X-Ray SDK)`,
        value: ms(f.untracedInitMs),
        target: `<= ${ms(ref.initMs / 2)} (0.5x reference)`,
        met: f.untracedInitMs <= ref.initMs / 2,
      });
    }
    rows.push({
      area: 'memory',
      measure: `${name}: peak RSS, batch of 10`,
      value: `${num(f.peakRssMb, 0)} MB of ${f.memorySizeMb} MB set`,
      target: '<= 256 MB and <= the memory size set',
      met: f.peakRssMb <= 256 && f.peakRssMb <= f.memorySizeMb,
    });
  }
  const p = r.poll;
  rows.push(
    {
      area: 'warm poll',
      measure:
        'median warm invocation through the Lambda Runtime API vs the floor (same calls, bare handler; all three ' +
        'timed alike, each in its own Node 22 execution environment)',
      value:
        `${ms(p.p50Ms)} vs ${ms(p.floorP50Ms)} = ${num(p.ratio)}x (SDK reference ${ms(ref.pollP50Ms)}; ` +
        `a do-nothing handler ${ms(p.runtimeP50Ms)}, in each)`,
      target: '<= 1.25x',
      met: p.ratio <= 1.25,
    },
    {
      area: 'warm poll',
      measure: 'Jobs API calls per unchanged poll',
      value: num(p.databricksCallsPerPoll),
      target: '= 1',
      met: p.databricksCallsPerPoll === 1,
    },
    {
      area: 'warm poll',
      measure: 'SQS sends per unchanged poll',
      value: num(p.sqsSendsPerPoll),
      target: '= 1',
      met: p.sqsSendsPerPoll === 1,
    },
    {
      area: 'warm poll',
      measure: "DynamoDB reads per unchanged poll (+ the workspace's live-job list Query, amortised)",
      value: `${num(p.dynamoReadsPerPoll, 3)} (+ ${num(p.liveListQueriesPerPoll, 4)})`,
      target: '<= 1 (+ one list Query per container-minute)',
      met: p.dynamoReadsPerPoll <= 1 && p.liveListQueriesPerPoll < 0.01,
    },
    {
      area: 'warm poll',
      measure: 'DynamoDB writes per unchanged poll (measured; heartbeat at the longest interval)',
      value: `${num(p.dynamoWritesPerPoll, 3)}; ${num(p.heartbeatWritesPerPollAtMaxInterval, 3)}`,
      target: '<= 0.1 on average',
      met: p.dynamoWritesPerPoll <= 0.1 && p.heartbeatWritesPerPollAtMaxInterval <= 0.1,
    },
    {
      area: 'warm poll',
      measure: 'workspace budget ledger writes per unchanged poll (its table; one per Databricks call)',
      value: num(p.ledgerWritesPerPoll, 3),
      target: '= 1',
      met: p.ledgerWritesPerPoll === 1,
    },
  );
  const t = r.tokens;
  rows.push(
    {
      area: 'tokens',
      measure: 'token requests per 1,000 polls of one principal',
      value: `${num(t.requestsPer1000Polls)} (${t.tokenLifetimesSpanned} lifetimes spanned)`,
      target: '<= token lifetimes spanned',
      met: t.requestsPer1000Polls <= t.tokenLifetimesSpanned,
    },
    {
      area: 'tokens',
      measure: 'token requests by one batch of 10 concurrent polls, at most',
      value: String(t.maxRefreshesPerBatch),
      target: '<= 1',
      met: t.maxRefreshesPerBatch <= 1,
    },
  );
  const s = r.schedule;
  rows.push(
    {
      area: 'schedule',
      measure: 'polls per job-hour, simulated run mix',
      value: `${num(s.pollsPerJobHour, 1)} (fixed 30 s: ${num(s.fixed30sPollsPerJobHour, 1)})`,
      target: '<= 60',
      met: s.pollsPerJobHour <= 60,
    },
    {
      area: 'schedule',
      measure: 'median lag from a run ending to the job changing, runs < 5 min',
      value: `${num(s.medianDetectionLagS, 1)} s`,
      target: '<= 15 s',
      met: s.medianDetectionLagS <= 15,
    },
  );
  const w = r.pacing;
  rows.push({
    area: 'pacing',
    measure: `peak Jobs API rate, ${w.activeJobs.toLocaleString('en-US')} active jobs on one workspace (virtual clock)`,
    value: `${num(w.peakRps, 1)} req/s; every job polled: ${w.everyJobPolled ? 'yes' : 'NO'} (max gap ${num(w.maxGapS, 0)} s)`,
    target: `<= ${w.budgetRps} req/s, every job polled`,
    met: w.peakRps <= w.budgetRps && w.everyJobPolled,
  });
  const c = r.pacingWithChurn;
  rows.push({
    area: 'budget',
    measure:
      'the same with jobs starting and ending all hour: every call (submits, polls) within the budget (virtual clock)',
    value:
      `${num(c.peakRps, 1)} req/s busiest second, ${num(c.peakRps10s, 1)} over 10 s, mean ${num(c.meanRps, 1)}; ` +
      `${c.submitCalls.toLocaleString('en-US')} submits, ${c.budgetDeferrals} deferred; every job polled: ` +
      `${c.everyJobPolled ? 'yes' : 'NO'} (max gap ${num(c.maxGapS, 0)} s)`,
    target: `<= ${w.budgetRps} req/s, every job polled`,
    met: c.peakRps <= w.budgetRps && c.everyJobPolled,
  });
  const tp = r.throughput;
  rows.push({
    area: 'budget',
    measure:
      `burst: ${tp.jobs.toLocaleString('en-US')} jobs POSTed at once to one workspace (local stack; the emulator ` +
      'answers 429 past runs/submit 10 req/s, runs/get and token 20 req/s)',
    value: `busiest second ${tp.peakWorkspaceRps} requests; ${tp.workspace429s} answered 429`,
    target: `<= ${tp.budgetRps} req/s, no 429`,
    met: tp.peakWorkspaceRps <= tp.budgetRps && tp.workspace429s === 0,
  });
  const perJob = Object.entries(tp.perJob)
    .map(([k, v]) => `${k} ${num(v)}`)
    .join(', ');
  rows.push({
    area: 'throughput',
    measure: `the same ${tp.jobs.toLocaleString('en-US')} jobs POST -> SUCCEEDED, instant runs, within the budget`,
    value: `${num(tp.jobsPerS, 1)} jobs/s; per job: ${perJob}, budget ledger ${num(tp.ledgerPerJob)}`,
    target: 'reported',
    met: undefined,
  });
  return rows;
}

export function markdownTable(rows: readonly Row[]): string {
  const verdict = (row: Row) =>
    `${row.met === undefined ? '' : row.met ? 'met' : 'NOT MET'}${row.extra && row.met !== undefined ? ' (extra)' : ''}`;
  const lines = ['| area | measure | value | target | |', '|---|---|---|---|---|'];
  for (const row of rows) {
    lines.push(`| ${row.area} | ${row.measure} | ${row.value} | ${row.target} | ${verdict(row)} |`);
  }
  return lines.join('\n');
}

/** One line on the targets: the issues', then the extra checks if there are any. */
export function verdictLine(rows: readonly Row[]): string {
  const missed = rows.filter((row) => row.met === false && !row.extra).length;
  const extrasMissed = rows.filter((row) => row.met === false && row.extra).length;
  const extras = rows.filter((row) => row.extra && row.met !== undefined).length;
  const targets = `Targets (issues #7, #12): ${missed === 0 ? 'all met' : `${missed} NOT MET`}.`;
  return extras === 0 ? targets : `${targets} Extra checks: ${extras - extrasMissed} of ${extras} met.`;
}

/** The issue's JSON summary: exactly its keys, in its order. */
export function summaryJson(r: BenchResults): string {
  const functions = Object.fromEntries(
    Object.entries(r.functions).map(([name, f]) => [
      name,
      { bundleBytes: f.bundleBytes, initMs: f.initMs, peakRssMb: f.peakRssMb },
    ]),
  );
  const {
    heartbeatWritesPerPollAtMaxInterval: _,
    liveListQueriesPerPoll: __,
    ledgerWritesPerPoll: ___,
    runtimeP50Ms: ____,
    ...poll
  } = r.poll;
  return JSON.stringify({
    functions,
    sdkReference: r.sdkReference,
    poll,
    tokens: {
      requestsPer1000Polls: r.tokens.requestsPer1000Polls,
      tokenLifetimesSpanned: r.tokens.tokenLifetimesSpanned,
    },
    schedule: { pollsPerJobHour: r.schedule.pollsPerJobHour, medianDetectionLagS: r.schedule.medianDetectionLagS },
    pacing: {
      activeJobs: r.pacing.activeJobs,
      budgetRps: r.pacing.budgetRps,
      peakRps: r.pacing.peakRps,
      churnPeakRps: r.pacingWithChurn.peakRps,
      burstJobs: r.throughput.jobs,
      burstPeakRps: r.throughput.peakWorkspaceRps,
      burst429s: r.throughput.workspace429s,
    },
    throughput: { jobs: r.throughput.jobs, jobsPerS: r.throughput.jobsPerS },
  });
}
