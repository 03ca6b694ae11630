/**
 * The reference poll handler: what our poll function does for an unchanged poll, written the way one would with the
 * official Databricks SDK (@databricks/sdk-experimental) instead of our own Jobs API client and auth strategies. Per
 * SQS record: DynamoDB GetItem of the job, `jobs.getRun` with OAuth M2M (the SDK's `oauth-m2m` auth, OIDC discovery
 * and token from the workspace's /oidc endpoints), and SQS SendMessage of the next poll. Same AWS SDK clients as ours,
 * bundled with the same esbuild options (bench/bench-bundles.ts); the benchmark compares its cold start, size and warm
 * poll time with ours.
 *
 * Plain JavaScript so the project's tsc and biome need no types from the SDK, which is not a project dependency
 * (bench/node22.ts installs it). The SDK keeps an http:// host as given (it only adds https:// to a bare host name),
 * so it talks to the local emulator at http://127.0.0.1 without any special setting.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { WorkspaceClient } from '@databricks/sdk-experimental';

/** Databricks life-cycle states after which a run is not polled again. */
const TERMINAL_STATES = new Set(['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR']);
const GROWTH = 1.5;

const dynamodb = new DynamoDBClient({});
const sqs = new SQSClient({});
/** One SDK client per workspace host, kept for the container's life like our token cache. */
const workspaces = new Map();

function workspace(host) {
  let client = workspaces.get(host);
  if (!client) {
    client = new WorkspaceClient({
      host,
      clientId: process.env.DATABRICKS_CLIENT_ID,
      clientSecret: process.env.DATABRICKS_CLIENT_SECRET,
      authType: 'oauth-m2m',
    });
    workspaces.set(host, client);
  }
  return client;
}

/**
 * A delay that grows by 1.5 per attempt within the configured bounds, as a hand-written connector would. Ours grows
 * with the run's age (shared/jobs/poll-schedule.ts); the value does not change what one poll costs, which is what
 * the reference is measured for.
 */
function delaySeconds(attempt) {
  const min = Number(process.env.POLL_INTERVAL_MIN_SECONDS ?? 10);
  const max = Number(process.env.POLL_INTERVAL_MAX_SECONDS ?? 60);
  return Math.round(Math.min(max, Math.max(min, min * GROWTH ** attempt)));
}

async function pollRecord(record) {
  const { jobId, generation, attempt = 0 } = JSON.parse(record.body);
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: process.env.JOBS_TABLE_NAME, Key: { jobId: { S: jobId } }, ConsistentRead: true }),
  );
  // A stale chain or a job without a run is dropped, as ours drops it.
  if (!Item || Number(Item.pollGeneration?.N) !== generation || Item.runId?.N === undefined) return;
  const run = await workspace(Item.databricksHost.S).jobs.getRun({ run_id: Number(Item.runId.N) });
  if (TERMINAL_STATES.has(run.state?.life_cycle_state)) return;
  const next = attempt + 1;
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: process.env.POLL_QUEUE_URL,
      MessageBody: JSON.stringify({ jobId, generation, attempt: next }),
      DelaySeconds: delaySeconds(next),
    }),
  );
}

/** Records in parallel; a failed record is reported for redelivery (ReportBatchItemFailures), as ours does. */
export async function handler(event) {
  const outcomes = await Promise.allSettled(event.Records.map(pollRecord));
  const batchItemFailures = [];
  outcomes.forEach((outcome, index) => {
    if (outcome.status === 'rejected') {
      console.error(JSON.stringify({ level: 'ERROR', message: 'Record failed', error: String(outcome.reason) }));
      batchItemFailures.push({ itemIdentifier: event.Records[index].messageId });
    }
  });
  return { batchItemFailures };
}
