/**
 * Throughput on the local stack: `jobs` jobs POSTed through the signed front door to one workspace, their runs
 * finishing at once in the emulator, timed from the first POST until the last job reads SUCCEEDED through the API.
 * It is also the burst of the budget row: the functions run with a workspace budget of BUDGET_RPS (runs/submit
 * limited to SUBMIT_RPS within it), and the emulator enforces limits that a call over them would hit (429 with
 * Retry-After): the workspace's busiest second and its 429s are counted at the emulator, token requests included. Calls per job are
 * counted at the wire: the handlers' DynamoDB and SQS requests at the counting proxies (the API function's included;
 * the event sources' ReceiveMessage/DeleteMessage, which Lambda makes, are not), Databricks requests at the emulator.
 *
 * Run alone: `npx tsx bench/throughput.ts` prints the result as JSON.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { paginateScan } from '@aws-sdk/client-dynamodb';
import { peakPerSecond } from '../infra/local/chaos-measures.js';
import { type LocalStack, startLocalStack } from '../infra/local/local-stack.js';
import { seedOAuthM2M } from '../infra/local/tenants.js';
import { benchApiClient, submitJobs } from './bench-jobs.js';
import { databricksCounts } from './poll-bench-stack.js';

export interface Throughput {
  jobs: number;
  seconds: number;
  jobsPerS: number;
  perJob: { dynamodb: number; sqs: number; databricks: number; databricksToken: number };
  /** Every operation, per job. */
  operationsPerJob: { dynamodb: Record<string, number>; sqs: Record<string, number> };
  /** WORKSPACE_API_BUDGET_RPS the functions ran with. */
  budgetRps: number;
  /** Requests in the workspace's busiest second (all endpoints, token requests included). */
  peakWorkspaceRps: number;
  /** Requests the emulator answered 429. */
  workspace429s: number;
  /** The budget ledger's DynamoDB requests per job (a table of its own; not in perJob.dynamodb). */
  ledgerPerJob: number;
}

/** The workspace budget, and runs/submit's lower limit within it (WORKSPACE_ENDPOINT_BUDGETS_RPS). */
const BUDGET_RPS = 20;
const SUBMIT_RPS = 10;

export async function measureThroughput(options: { jobs?: number } = {}): Promise<Throughput> {
  const jobs = options.jobs ?? 1000;
  const stack = await startLocalStack({
    countAwsRequests: true,
    databricks: {
      timing: { pendingMs: 0, runningMs: 0, terminatingMs: 0 },
      // What the workspace lets through: a call beyond the budget would be answered 429.
      rateLimits: {
        submit: { perSecond: SUBMIT_RPS },
        get: { perSecond: BUDGET_RPS },
        cancel: { perSecond: BUDGET_RPS },
        token: { perSecond: BUDGET_RPS },
      },
    },
    pollIntervalSeconds: { min: 0, max: 1 },
    eventSourceConcurrency: 4,
    sweepIntervalMs: 3600_000,
    env: {
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      WORKSPACE_API_BUDGET_RPS: String(BUDGET_RPS),
      WORKSPACE_ENDPOINT_BUDGETS_RPS: `runs/submit=${SUBMIT_RPS}`,
    },
  });
  try {
    const tenant = seedOAuthM2M(stack, 'bench-throughput');
    const api = benchApiClient(stack);
    const started = Date.now();
    const jobIds = await submitJobs(api, tenant.namespace, `tp-${randomUUID().slice(0, 8)}`, jobs);
    const phases = await waitForTerminalPhases(stack, jobIds.length, 600_000);
    const seconds = (Date.now() - started) / 1000;
    if ((phases.SUCCEEDED ?? 0) !== jobs) throw new Error(`not every job succeeded: ${JSON.stringify(phases)}`);

    const perJob = (n: number) => Math.round((n / jobs) * 100) / 100;
    const operationsPerJob = { dynamodb: {} as Record<string, number>, sqs: {} as Record<string, number> };
    let dynamodb = 0;
    let sqs = 0;
    for (const [op, n] of Object.entries(stack.awsRequests.dynamodb)) {
      operationsPerJob.dynamodb[op] = perJob(n);
      dynamodb += n;
    }
    for (const [op, n] of Object.entries(stack.awsRequests.sqs)) {
      operationsPerJob.sqs[op] = perJob(n);
      sqs += n;
    }
    const databricks = databricksCounts(stack);
    const ledger = Object.values(stack.awsRequests.budgetLedger).reduce((sum, n) => sum + n, 0);
    return {
      jobs,
      seconds,
      jobsPerS: Math.round((jobs / seconds) * 10) / 10,
      perJob: {
        dynamodb: perJob(dynamodb),
        sqs: perJob(sqs),
        databricks: perJob(databricks.jobsApi),
        databricksToken: perJob(databricks.token),
      },
      operationsPerJob,
      budgetRps: BUDGET_RPS,
      peakWorkspaceRps: peakPerSecond(stack.databricks.requests.map((request) => request.at)),
      workspace429s: stack.databricks.requests.filter((request) => request.status === 429).length,
      ledgerPerJob: perJob(ledger),
    };
  } finally {
    await stack.stop();
  }
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'ABORTED', 'RETRYABLE_FAILED']);

/**
 * Waits until `count` jobs have ended, reading the table with the stack's own client (it bypasses the counting
 * proxies, so waiting adds nothing to the counts, as reading through the API would). Returns jobs per phase.
 */
async function waitForTerminalPhases(stack: LocalStack, count: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const phases: Record<string, number> = {};
    let ended = 0;
    const pages = paginateScan(
      { client: stack.dynamodb },
      { TableName: stack.tableName, ProjectionExpression: 'phase', ConsistentRead: true },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const phase = item.phase?.S ?? 'UNKNOWN';
        phases[phase] = (phases[phase] ?? 0) + 1;
        if (TERMINAL.has(phase)) ended++;
      }
    }
    if (ended >= count) return phases;
    if (Date.now() > deadline) throw new Error(`only ${ended} of ${count} jobs ended: ${JSON.stringify(phases)}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await measureThroughput()));
}
