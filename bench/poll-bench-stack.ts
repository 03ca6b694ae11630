/**
 * Poll measurements through the running stack, shared by the bench (bench/poll-calls.ts, bench/token-sharing.ts)
 * and the integration tests (test/integration/poll-cost.test.ts, token-sharing.test.ts): one copy.
 *
 * The setup: a local stack whose functions' DynamoDB and SQS requests are counted at their own gateways
 * (countAwsRequests), an OAuth M2M tenant (one service principal, as a team's namespace has), and jobs whose
 * Databricks runs keep RUNNING. The stack's own poll chains are parked (every poll's next message 900 s out) and the
 * sweeper does not run, so every poll in a measurement is one the measurement sent itself: the poll count is known by
 * construction, never taken from the code being measured.
 *
 * Every measured poll is run by the stack's own poll function, from its built bundle (the cdk.out asset) in its own
 * Node 22 execution environment, as the SQS event source delivers it. The measurement sends each poll message as the
 * poll function's role (the poll queue's policy lets only the submit, poll and sweep roles send); its own sends and
 * reads, like the event source's receives and deletes (Lambda's side), go through the stack's quiet gateway and are
 * not counted.
 *
 * One poll execution environment (eventSourceConcurrency: 1, the one the stack initializes at start): a warm
 * container, as the measurements mean. Each environment has a token cache and a live-job list of its own, as separate
 * Lambda environments do, so bounds such as "one token request per token lifetime" and "one Query per container per
 * minute" are per environment; with one environment they hold for the whole window.
 */
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { type AwsRequestCounts, type LocalStack, startLocalStack } from '../infra/local/local-stack.js';
import { seedOAuthM2M } from '../infra/local/tenants.js';
import { MAX_REFRESH_MARGIN_MS } from '../shared/auth/token-cache.js';
import { DynamoDbJobStore } from '../shared/jobs/job-store.js';
import { benchApiClient, MEASUREMENT_BUDGET_RPS, submitJobs, waitForPhases } from './bench-jobs.js';

/** SQS's longest delay: the stack's own poll chains (and the chains the measured polls continue) do not come back. */
const PARKED_POLL_SECONDS = 900;
/** The poll event source mapping's batch size: one SendMessageBatch is one batch the function gets. */
export const POLL_BATCH_SIZE = 10;
/** How long one batch may take to be handled before the measurement gives up. */
const BATCH_TIMEOUT_MS = 20_000;

export interface PollBenchStack {
  stack: LocalStack;
  jobIds: string[];
  /**
   * Sends one poll message per job given (at most ten, in one SendMessageBatch, as the poll role) and resolves once
   * the poll function has handled every one: the poll queue holds none visible or in flight (a poll's own next
   * message is delayed 900 s) and its DLQ none. A record that failed stays in flight, so it makes this throw.
   */
  pollBatch(jobIds: readonly string[]): Promise<void>;
  /** Polls every job once, in batches of ten. */
  pollAll(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPollBenchStack(options: {
  jobs: number;
  oauthTokenTtlSeconds?: number;
}): Promise<PollBenchStack> {
  const stack = await startLocalStack({
    countAwsRequests: true,
    databricks: {
      timing: { pendingMs: 0, runningMs: 24 * 3600_000, terminatingMs: 0 },
      ...(options.oauthTokenTtlSeconds ? { oauthTokenTtlSeconds: options.oauthTokenTtlSeconds } : {}),
    },
    pollIntervalSeconds: { min: PARKED_POLL_SECONDS, max: PARKED_POLL_SECONDS },
    // No sweeper run during a measurement: a rescue would start a poll chain of its own.
    sweepIntervalMs: 3600_000,
    // One execution environment per function: the warm container the measurements are about (see above).
    eventSourceConcurrency: 1,
    logLevel: 'ERROR',
    // One poll's own cost, every job polled at once round after round (see MEASUREMENT_BUDGET_RPS).
    env: { WORKSPACE_API_BUDGET_RPS: MEASUREMENT_BUDGET_RPS },
  });
  try {
    const tenant = seedOAuthM2M(stack, 'bench-m2m');
    const api = benchApiClient(stack);
    const jobIds = await submitJobs(api, tenant.namespace, `bench-${randomUUID().slice(0, 8)}`, options.jobs);
    await waitForPhases(api, jobIds, ['INITIALIZING', 'RUNNING']);
    const store = new DynamoDbJobStore(stack.dynamodb, stack.tableName);
    // The poll function's role: a producer the poll queue's policy names (the operator is not one).
    const asPoll = stack.sqsAs(stack.credentialsOf('poll'));
    let attempt = 0;

    const queueCounts = async (queueUrl: string) => {
      const { Attributes = {} } = await stack.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(Attributes.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    };

    const pollBatch = async (ids: readonly string[]) => {
      if (ids.length === 0 || ids.length > POLL_BATCH_SIZE) throw new Error(`a batch is 1 to ${POLL_BATCH_SIZE} jobs`);
      attempt++;
      const entries = await Promise.all(
        ids.map(async (jobId, i) => {
          const job = await store.get(jobId);
          if (!job) throw new Error(`job ${jobId} vanished`);
          return { Id: String(i), MessageBody: JSON.stringify({ jobId, generation: job.pollGeneration, attempt }) };
        }),
      );
      const sent = await asPoll.send(new SendMessageBatchCommand({ QueueUrl: stack.queues.poll, Entries: entries }));
      if (sent.Failed?.length) throw new Error(`SendMessageBatch failed: ${JSON.stringify(sent.Failed)}`);
      const deadline = Date.now() + BATCH_TIMEOUT_MS;
      for (;;) {
        const [pending, dead] = await Promise.all([queueCounts(stack.queues.poll), queueCounts(stack.queues.pollDlq)]);
        if (dead > 0) throw new Error(`${dead} poll message(s) in the poll DLQ`);
        if (pending === 0) return;
        if (Date.now() > deadline) {
          throw new Error(`poll batch not handled within ${BATCH_TIMEOUT_MS / 1000} s: ${pending} message(s) left`);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const pollAll = async () => {
      for (let i = 0; i < jobIds.length; i += POLL_BATCH_SIZE) await pollBatch(jobIds.slice(i, i + POLL_BATCH_SIZE));
    };
    return { stack, jobIds, pollBatch, pollAll, stop: () => stack.stop() };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/** The Databricks requests the workspace has seen: Jobs API requests and OAuth token endpoint requests. */
export function databricksCounts(stack: LocalStack): { jobsApi: number; token: number } {
  const jobsApi = stack.databricks.requests.filter((request) => request.path.includes('/jobs/runs/')).length;
  return { jobsApi, token: stack.databricks.tokenRequests.length };
}

export interface PollCalls {
  polls: number;
  databricksCallsPerPoll: number;
  tokenRequestsPerPoll: number;
  sqsSendsPerPoll: number;
  /** The poll's own reads (its job). */
  dynamoReadsPerPoll: number;
  /**
   * The workspace's live-job list (shared/jobs/live-workspace-jobs.ts): one Query per container and workspace per
   * period or minute, shared by all of that container's polls, so amortised here.
   */
  liveListQueriesPerPoll: number;
  dynamoWritesPerPoll: number;
  /**
   * The workspace budget ledger (shared/databricks/dynamodb-call-ledger.ts): one UpdateItem per Databricks call, in
   * a table of its own; more when calls contend or wait.
   */
  ledgerWritesPerPoll: number;
  ledgerReadsPerPoll: number;
  /** Every DynamoDB and SQS operation the functions issued in the window, with its count. */
  operations: AwsRequestCounts;
}

const READS = ['GetItem', 'BatchGetItem', 'Scan'];
const WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'];

/**
 * What one unchanged poll costs in calls, counted at the wire: Jobs API and token requests at the Databricks
 * emulator, the functions' DynamoDB and SQS requests at their gateways. A warm-up round (first token, first secret
 * read, INITIALIZING -> RUNNING) is left out; then every job is polled `rounds` times with nothing changing, as a
 * long run's polls are.
 */
export async function measurePollCalls(options: { jobs: number; rounds: number }): Promise<PollCalls> {
  const bench = await startPollBenchStack({ jobs: options.jobs });
  try {
    await bench.pollAll();
    const awsBefore = structuredClone(bench.stack.awsRequests);
    const databricksBefore = databricksCounts(bench.stack);
    for (let round = 0; round < options.rounds; round++) await bench.pollAll();
    const awsAfter = structuredClone(bench.stack.awsRequests);
    const databricksAfter = databricksCounts(bench.stack);

    const polls = options.jobs * options.rounds;
    const operations: AwsRequestCounts = { dynamodb: {}, sqs: {}, budgetLedger: {} };
    for (const service of ['dynamodb', 'sqs', 'budgetLedger'] as const) {
      for (const [op, after] of Object.entries(awsAfter[service])) {
        const n = after - (awsBefore[service][op] ?? 0);
        if (n > 0) operations[service][op] = n;
      }
    }
    const sum = (service: keyof AwsRequestCounts, ops: string[]) =>
      ops.reduce((total, op) => total + (operations[service][op] ?? 0), 0);
    return {
      polls,
      databricksCallsPerPoll: (databricksAfter.jobsApi - databricksBefore.jobsApi) / polls,
      tokenRequestsPerPoll: (databricksAfter.token - databricksBefore.token) / polls,
      sqsSendsPerPoll: sum('sqs', ['SendMessage', 'SendMessageBatch']) / polls,
      dynamoReadsPerPoll: sum('dynamodb', READS) / polls,
      liveListQueriesPerPoll: sum('dynamodb', ['Query']) / polls,
      dynamoWritesPerPoll: sum('dynamodb', WRITES) / polls,
      ledgerWritesPerPoll: sum('budgetLedger', WRITES) / polls,
      ledgerReadsPerPoll: sum('budgetLedger', READS) / polls,
      operations,
    };
  } finally {
    await bench.stop();
  }
}

export interface TokenSharing {
  polls: number;
  tokenTtlSeconds: number;
  spanSeconds: number;
  tokenRequests: number;
  requestsPer1000Polls: number;
  tokenLifetimesSpanned: number;
  /** The most token requests any one batch (ten polls sent at once, handled as one invocation) made. */
  maxRefreshesPerBatch: number;
}

/**
 * Shared tokens: `polls` polls of one service principal's jobs in the one warm poll environment, in batches of ten
 * spread over `spanSeconds`, counting token endpoint requests at the emulator (the emulator issues tokens living
 * `tokenTtlSeconds`). A token is used from its fetch until the cache's refresh margin before its expiry
 * (min(60 s, half its lifetime): shared/auth/token-cache.ts), so the polls span floor(span / (ttl - margin)) + 1
 * token lifetimes: the most a correct cache may request. The environment's cache cannot be emptied from outside it
 * (the in-process bench used to clear it); a token it still holds from the warm-up round only delays its first
 * refresh (x ms into a lifetime, the window sees floor((span + x) / usable) requests, never more than the bound).
 */
export async function measureTokenSharing(options: {
  polls: number;
  jobs: number;
  tokenTtlSeconds: number;
  spanSeconds: number;
}): Promise<TokenSharing> {
  const bench = await startPollBenchStack({ jobs: options.jobs, oauthTokenTtlSeconds: options.tokenTtlSeconds });
  try {
    await bench.pollAll();
    const batches = Math.ceil(options.polls / POLL_BATCH_SIZE);
    const pauseMs = (options.spanSeconds * 1000) / batches;
    const before = databricksCounts(bench.stack).token;
    let maxRefreshesPerBatch = 0;
    const started = Date.now();
    let lastBatchAt = started;
    for (let b = 0; b < batches; b++) {
      lastBatchAt = Date.now();
      const ids = Array.from(
        { length: POLL_BATCH_SIZE },
        (_, i) => bench.jobIds[(b * POLL_BATCH_SIZE + i) % bench.jobIds.length] as string,
      );
      const batchStart = databricksCounts(bench.stack).token;
      await bench.pollBatch(ids);
      maxRefreshesPerBatch = Math.max(maxRefreshesPerBatch, databricksCounts(bench.stack).token - batchStart);
      const due = started + (b + 1) * pauseMs;
      if (Date.now() < due) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
    // From the first batch to the last one's start: the token that last batch needed is the last one counted.
    const spanMs = lastBatchAt - started;
    const ttlMs = options.tokenTtlSeconds * 1000;
    const usableMs = ttlMs - Math.min(MAX_REFRESH_MARGIN_MS, ttlMs / 2);
    const polls = batches * POLL_BATCH_SIZE;
    const tokenRequests = databricksCounts(bench.stack).token - before;
    return {
      polls,
      tokenTtlSeconds: options.tokenTtlSeconds,
      spanSeconds: spanMs / 1000,
      tokenRequests,
      requestsPer1000Polls: (tokenRequests * 1000) / polls,
      tokenLifetimesSpanned: Math.floor(spanMs / usableMs) + 1,
      maxRefreshesPerBatch,
    };
  } finally {
    await bench.stop();
  }
}
