/**
 * `npm run bench`: every measurement of issue #7 in one run. Builds each function's bundle and the SDK reference,
 * measures cold starts and memory in fresh Node 22 processes (bench/cold-start.ts) and warm polls through the Lambda
 * Runtime API in execution environments of their own (bench/warm-polls.ts), counts what a poll costs at the wire and
 * token requests with the polls run by the running stack's own poll function (bench/poll-bench-stack.ts), measures
 * throughput, and simulates the poll schedule and workspace pacing on a virtual clock. Prints a table with each
 * target and whether it is met, writes the same to bench/results.md with charts beside it (bench/results/*.svg,
 * bench/charts/: calls per second vs the budget, detection lag by run length, import time vs the SDK reference), and
 * prints one JSON object as its last line.
 * Parts that start a local stack run in processes of their own (bench/run-script.ts).
 *
 * Exit code: 0 when it measured everything (targets met or not: the table says), 1 when a measurement failed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { FUNCTION_MEMORY_MB } from '../infra/function-memory.js';
import { benchCharts, chartsMarkdown } from './charts/index.js';
import type { ColdStartResult } from './cold-start.js';
import type { PollCalls } from './poll-calls.js';
import { type BenchResults, markdownTable, rowsFor, summaryJson, verdictLine } from './report.js';
import { RUN_LENGTH_MIX } from './run-length-mix.js';
import { runScript } from './run-script.js';
import { simulatePacing } from './simulate-pacing.js';
import { simulateSchedule } from './simulate-schedule.js';
import type { Throughput } from './throughput.js';
import type { TokenSharing } from './token-sharing.js';

const RESULTS_FILE = fileURLToPath(new URL('./results.md', import.meta.url));
/** The charts' folder, beside results.md and linked from it by this relative path. */
const CHARTS_FOLDER = 'results';
const CHARTS_DIR = fileURLToPath(new URL(`./${CHARTS_FOLDER}/`, import.meta.url));

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function timed<T>(label: string, run: () => Promise<T> | T): Promise<T> {
  const started = Date.now();
  log(`${label}...`);
  const result = await run();
  log(`${label}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

async function main(): Promise<void> {
  const started = Date.now();
  const cold = await timed('bundles, cold starts, memory, warm polls (Node 22)', () =>
    runScript<ColdStartResult>('./cold-start.ts', 300_000),
  );
  const calls = await timed('calls per unchanged poll', () => runScript<PollCalls>('./poll-calls.ts'));
  const tokens = await timed('token sharing', () => runScript<TokenSharing>('./token-sharing.ts'));
  const throughput = await timed('throughput', () => runScript<Throughput>('./throughput.ts', 720_000));
  // `trace`: the per-run lags and per-second calls the charts plot; the figures are the same with or without it.
  const { detections, ...schedule } = await timed('poll schedule simulation', () => simulateSchedule({ trace: true }));
  const { callsPerSecond: steadySeries, ...pacing } = await timed('workspace pacing simulation', () =>
    simulatePacing({ trace: true }),
  );
  const { callsPerSecond: churnSeries, ...churn } = await timed('workspace pacing simulation, with churn', () =>
    simulatePacing({ churn: true, trace: true }),
  );
  if (!detections || !steadySeries || !churnSeries) throw new Error('a simulation kept no trace for the charts');

  const warm = cold.warmPolls;
  if (!warm || cold.sdkReference.pollP50Ms === null) throw new Error('the warm poll measurement did not run');
  const results: BenchResults = {
    functions: Object.fromEntries(
      Object.entries(cold.functions).map(([name, f]) => [
        name,
        {
          bundleBytes: f.bundleBytes,
          lazyBytes: f.lazyBytes,
          initMs: f.initMs,
          ...(f.untracedInitMs !== undefined ? { untracedInitMs: f.untracedInitMs } : {}),
          firstInvokeMs: f.firstInvokeMs,
          peakRssMb: f.peakRssMb,
          memorySizeMb: FUNCTION_MEMORY_MB[name as keyof typeof FUNCTION_MEMORY_MB],
        },
      ]),
    ),
    sdkReference: {
      bundleBytes: cold.sdkReference.bundleBytes,
      initMs: cold.sdkReference.initMs,
      pollP50Ms: cold.sdkReference.pollP50Ms,
    },
    poll: {
      p50Ms: warm.ours.p50Ms,
      floorP50Ms: warm.floor.p50Ms,
      runtimeP50Ms: warm.runtimeOnly.p50Ms,
      ratio: Math.round((warm.ours.p50Ms / warm.floor.p50Ms) * 100) / 100,
      databricksCallsPerPoll: calls.databricksCallsPerPoll,
      sqsSendsPerPoll: calls.sqsSendsPerPoll,
      dynamoReadsPerPoll: calls.dynamoReadsPerPoll,
      liveListQueriesPerPoll: calls.liveListQueriesPerPoll,
      dynamoWritesPerPoll: calls.dynamoWritesPerPoll,
      ledgerWritesPerPoll: calls.ledgerWritesPerPoll,
      heartbeatWritesPerPollAtMaxInterval: schedule.writesPerUnchangedPoll,
    },
    tokens,
    schedule: {
      pollsPerJobHour: schedule.pollsPerJobHour,
      medianDetectionLagS: schedule.medianDetectionLagS,
      fixed30sPollsPerJobHour: schedule.fixed30s.pollsPerJobHour,
    },
    pacing: {
      activeJobs: pacing.activeJobs,
      budgetRps: pacing.budgetRps,
      peakRps: pacing.peakRps,
      everyJobPolled: pacing.everyJobPolled,
      maxGapS: pacing.maxGapBetweenPollsS,
    },
    pacingWithChurn: {
      peakRps: churn.peakRps,
      peakRps10s: churn.peakRps10s,
      meanRps: churn.meanRps,
      everyJobPolled: churn.everyJobPolled,
      maxGapS: churn.maxGapBetweenPollsS,
      submitCalls: churn.submitCalls,
      budgetDeferrals: churn.budgetDeferrals,
    },
    throughput: {
      jobs: throughput.jobs,
      jobsPerS: throughput.jobsPerS,
      perJob: throughput.perJob,
      budgetRps: throughput.budgetRps,
      peakWorkspaceRps: throughput.peakWorkspaceRps,
      workspace429s: throughput.workspace429s,
      ledgerPerJob: throughput.ledgerPerJob,
    },
  };

  const charts = benchCharts({
    callsPerSecond: {
      budgetRps: pacing.budgetRps,
      activeJobs: pacing.activeJobs,
      steady: steadySeries,
      churn: churnSeries,
    },
    detectionLag: { detections, bands: RUN_LENGTH_MIX },
    importTime: {
      functions: Object.fromEntries(Object.entries(results.functions).map(([name, f]) => [name, f.initMs])),
      referenceMs: results.sdkReference.initMs,
    },
  });
  mkdirSync(CHARTS_DIR, { recursive: true });
  for (const chart of charts) writeFileSync(`${CHARTS_DIR}${chart.file}`, chart.svg);

  const rows = rowsFor(results);
  const table = markdownTable(rows);
  const verdict = verdictLine(rows);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}; bench driver on Node ${process.versions.node}`;
  const markdown = [
    '# Benchmark results',
    '',
    `\`npm run bench\` on ${new Date().toISOString().slice(0, 10)} (${machine}; functions measured on Node 22) ` +
      `in ${seconds} s. ${verdict}`,
    '',
    table,
    '',
    'Charts:',
    '',
    chartsMarkdown(charts, CHARTS_FOLDER),
    '',
    'Details:',
    '',
    '```json',
    JSON.stringify({ coldStart: cold, pollCalls: calls, tokens, throughput, schedule, pacing, churn }, null, 2),
    '```',
    '',
  ].join('\n');
  writeFileSync(RESULTS_FILE, markdown);
  process.stdout.write(`\n${table}\n\n${verdict} `);
  process.stdout.write(
    `Written to bench/results.md and ${charts.length} charts in bench/${CHARTS_FOLDER}/ (${seconds} s).\n`,
  );
  process.stdout.write(`${summaryJson(results)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
