/** The benchmark's verdicts: a target is met exactly when the number is within it, and the JSON has the keys. */
import { describe, expect, it } from 'vitest';
import { type BenchResults, markdownTable, rowsFor, summaryJson, verdictLine } from '../../../bench/report.js';

function results(overrides: Partial<BenchResults> = {}): BenchResults {
  return {
    functions: {
      poll: {
        bundleBytes: 400_000,
        lazyBytes: 2_000_000,
        initMs: 60,
        firstInvokeMs: 90,
        peakRssMb: 90,
        memorySizeMb: 256,
      },
    },
    sdkReference: { bundleBytes: 1_600_000, initMs: 250, pollP50Ms: 9 },
    poll: {
      p50Ms: 5,
      floorP50Ms: 4.5,
      ratio: 1.11,
      runtimeP50Ms: 1.2,
      databricksCallsPerPoll: 1,
      sqsSendsPerPoll: 1,
      dynamoReadsPerPoll: 1,
      liveListQueriesPerPoll: 0.001,
      dynamoWritesPerPoll: 0,
      ledgerWritesPerPoll: 1,
      heartbeatWritesPerPollAtMaxInterval: 0.1,
    },
    tokens: { requestsPer1000Polls: 6, tokenLifetimesSpanned: 6, maxRefreshesPerBatch: 1 },
    schedule: { pollsPerJobHour: 40, medianDetectionLagS: 8, fixed30sPollsPerJobHour: 120 },
    pacing: { activeJobs: 10_000, budgetRps: 20, peakRps: 16, everyJobPolled: true, maxGapS: 700 },
    pacingWithChurn: {
      peakRps: 18,
      peakRps10s: 17,
      meanRps: 16,
      everyJobPolled: true,
      maxGapS: 2000,
      submitCalls: 13_000,
      budgetDeferrals: 0,
    },
    throughput: {
      jobs: 1000,
      jobsPerS: 25,
      perJob: { dynamodb: 8 },
      budgetRps: 20,
      peakWorkspaceRps: 20,
      workspace429s: 0,
      ledgerPerJob: 2,
    },
    ...overrides,
  };
}

const verdictOf = (r: BenchResults, measure: string) => rowsFor(r).find((row) => row.measure.includes(measure))?.met;

describe('Function: rowsFor', () => {
  it('meets every target with numbers inside them', () => {
    const rows = rowsFor(results());
    expect(rows.filter((row) => row.met === false)).toEqual([]);
    expect(rows.filter((row) => row.met === true).length).toBeGreaterThan(10);
  });

  it('fails a cold start above half the reference, and a bundle above half its size', () => {
    const slow = results({
      functions: {
        poll: { bundleBytes: 800_001, lazyBytes: 0, initMs: 125.1, firstInvokeMs: 1, peakRssMb: 1, memorySizeMb: 256 },
      },
    });
    expect(verdictOf(slow, 'poll: import')).toBe(false);
    expect(verdictOf(slow, 'poll: initial bundle')).toBe(false);
  });

  it('fails a second Jobs API call, a second read, writes above 0.1 and an extra token request', () => {
    const base = results();
    const costly = results({
      poll: { ...base.poll, databricksCallsPerPoll: 1.01, dynamoReadsPerPoll: 1.002, dynamoWritesPerPoll: 0.11 },
      tokens: { requestsPer1000Polls: 7, tokenLifetimesSpanned: 6, maxRefreshesPerBatch: 2 },
    });
    expect(verdictOf(costly, 'Jobs API calls per unchanged poll')).toBe(false);
    expect(verdictOf(costly, 'DynamoDB reads')).toBe(false);
    expect(verdictOf(costly, 'DynamoDB writes')).toBe(false);
    expect(verdictOf(costly, 'per 1,000 polls')).toBe(false);
    expect(verdictOf(costly, 'batch of 10 concurrent')).toBe(false);
  });

  it('fails pacing above the budget or with a job never polled', () => {
    const base = results().pacing;
    expect(verdictOf(results({ pacing: { ...base, peakRps: 21 } }), 'peak Jobs API rate')).toBe(false);
    expect(verdictOf(results({ pacing: { ...base, everyJobPolled: false } }), 'peak Jobs API rate')).toBe(false);
  });

  it('fails the budget under churn or in the burst: a busier second than the budget, a 429, a job never polled', () => {
    const churn = results().pacingWithChurn;
    const burst = results().throughput;
    expect(verdictOf(results({ pacingWithChurn: { ...churn, peakRps: 21 } }), 'starting and ending')).toBe(false);
    expect(verdictOf(results({ pacingWithChurn: { ...churn, everyJobPolled: false } }), 'starting and ending')).toBe(
      false,
    );
    expect(verdictOf(results({ throughput: { ...burst, peakWorkspaceRps: 21 } }), 'burst')).toBe(false);
    expect(verdictOf(results({ throughput: { ...burst, workspace429s: 1 } }), 'burst')).toBe(false);
    expect(verdictOf(results(), 'burst')).toBe(true);
  });
});

describe('Function: summaryJson', () => {
  it("has exactly the issue's keys", () => {
    const summary = JSON.parse(summaryJson(results()));
    expect(Object.keys(summary)).toEqual([
      'functions',
      'sdkReference',
      'poll',
      'tokens',
      'schedule',
      'pacing',
      'throughput',
    ]);
    expect(Object.keys(summary.functions.poll)).toEqual(['bundleBytes', 'initMs', 'peakRssMb']);
    expect(Object.keys(summary.poll)).toEqual([
      'p50Ms',
      'floorP50Ms',
      'ratio',
      'databricksCallsPerPoll',
      'sqsSendsPerPoll',
      'dynamoReadsPerPoll',
      'dynamoWritesPerPoll',
    ]);
    expect(summary.pacing).toEqual({
      activeJobs: 10_000,
      budgetRps: 20,
      peakRps: 16,
      churnPeakRps: 18,
      burstJobs: 1000,
      burstPeakRps: 20,
      burst429s: 0,
    });
  });
});

describe('Function: markdownTable', () => {
  it('writes one row per verdict and says NOT MET where a target is missed', () => {
    const rows = rowsFor(
      results({ schedule: { pollsPerJobHour: 61, medianDetectionLagS: 8, fixed30sPollsPerJobHour: 120 } }),
    );
    const table = markdownTable(rows);
    expect(table.split('\n')).toHaveLength(rows.length + 2);
    expect(table).toMatch(/polls per job-hour.*\| NOT MET \|/);
  });
});

describe('Function: verdictLine', () => {
  it('says whether every target is met, and how many are not', () => {
    expect(verdictLine(rowsFor(results()))).toBe('Targets (issues #7, #12): all met.');
    const churny = results({ pacingWithChurn: { ...results().pacingWithChurn, peakRps: 35 } });
    expect(verdictLine(rowsFor(churny))).toBe('Targets (issues #7, #12): 1 NOT MET.');
    const slow = results({ schedule: { pollsPerJobHour: 61, medianDetectionLagS: 8, fixed30sPollsPerJobHour: 120 } });
    expect(verdictLine(rowsFor(slow))).toBe('Targets (issues #7, #12): 1 NOT MET.');
  });

  it('counts extra checks apart when there are any', () => {
    const rows = [...rowsFor(results()), { area: 'x', measure: 'y', value: '1', target: '0', met: false, extra: true }];
    expect(verdictLine(rows)).toBe('Targets (issues #7, #12): all met. Extra checks: 0 of 1 met.');
  });
});
