/**
 * What one unchanged poll costs in calls, counted at the wire: Jobs API requests at the Databricks emulator, DynamoDB
 * and SQS requests at the counting proxies in front of dynalite and local-aws-sqs. A warm-up round (first token,
 * first secret read, INITIALIZING -> RUNNING) is left out; then every job is polled `rounds` times with nothing
 * changing, as a long run's polls are.
 *
 * Run alone: `npx tsx bench/poll-calls.ts` prints the result as JSON.
 */
import { fileURLToPath } from 'node:url';
import { awsSnapshot, databricksCounts, delta, startPollBenchStack } from './poll-bench-stack.js';

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
  /** Every DynamoDB and SQS operation the handlers issued in the window, with its count. */
  operations: Record<'dynamodb' | 'sqs' | 'budgetLedger', Record<string, number>>;
}

const READS = ['GetItem', 'BatchGetItem', 'Scan'];
const WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'];

export async function measurePollCalls(options: { jobs?: number; rounds?: number } = {}): Promise<PollCalls> {
  const jobs = options.jobs ?? 50;
  const rounds = options.rounds ?? 20;
  const bench = await startPollBenchStack({ jobs });
  try {
    await bench.pollAll();
    const awsBefore = awsSnapshot(bench.stack);
    const databricksBefore = databricksCounts(bench.stack);
    for (let round = 0; round < rounds; round++) await bench.pollAll();
    const awsAfter = awsSnapshot(bench.stack);
    const databricksAfter = databricksCounts(bench.stack);

    const polls = jobs * rounds;
    const sum = (service: 'dynamodb' | 'sqs' | 'budgetLedger', operations: string[]) =>
      operations.reduce((total, op) => total + delta(awsAfter[service], awsBefore[service], op), 0);
    const operations = { dynamodb: {}, sqs: {}, budgetLedger: {} } as Record<
      'dynamodb' | 'sqs' | 'budgetLedger',
      Record<string, number>
    >;
    for (const service of ['dynamodb', 'sqs', 'budgetLedger'] as const) {
      for (const op of Object.keys(awsAfter[service])) {
        const n = delta(awsAfter[service], awsBefore[service], op);
        if (n > 0) operations[service][op] = n;
      }
    }
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

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await measurePollCalls()));
}
