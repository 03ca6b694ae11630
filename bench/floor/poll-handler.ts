/**
 * The floor: the least a poll can do. The same three calls as an unchanged poll (DynamoDB GetItem of the job, the
 * Databricks runs/get, SQS SendMessage of the next poll) back to back, with the same AWS SDK clients, a bearer token
 * fetched once per container with plain fetch, and nothing else: no validation, no auth strategy, no retries, no
 * logging. Bundled with the same esbuild options as the functions; the benchmark reads our poll against it.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

const dynamodb = new DynamoDBClient({});
const sqs = new SQSClient({});
const tokens = new Map<string, Promise<string>>();

/** A client-credentials token for the workspace, fetched once (HTTP Basic, as ours and the SDKs send it). */
function token(host: string): Promise<string> {
  let pending = tokens.get(host);
  if (!pending) {
    const basic = Buffer.from(`${process.env.DATABRICKS_CLIENT_ID}:${process.env.DATABRICKS_CLIENT_SECRET}`);
    pending = fetch(`${host}/oidc/v1/token`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${basic.toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=all-apis',
    }).then(async (response) => {
      if (!response.ok) throw new Error(`token endpoint answered ${response.status}`);
      return ((await response.json()) as { access_token: string }).access_token;
    });
    tokens.set(host, pending);
  }
  return pending;
}

async function pollRecord(record: SQSRecord): Promise<void> {
  const {
    jobId,
    generation,
    attempt = 0,
  } = JSON.parse(record.body) as {
    jobId: string;
    generation: number;
    attempt?: number;
  };
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: process.env.JOBS_TABLE_NAME, Key: { jobId: { S: jobId } }, ConsistentRead: true }),
  );
  const host = Item?.databricksHost?.S;
  const runId = Item?.runId?.N;
  if (!host || !runId) throw new Error(`job ${jobId} has no run`);
  const response = await fetch(`${host}/api/2.2/jobs/runs/get?run_id=${runId}`, {
    headers: { Authorization: `Bearer ${await token(host)}`, Accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`runs/get answered ${response.status}`);
  await response.json();
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: process.env.POLL_QUEUE_URL,
      MessageBody: JSON.stringify({ jobId, generation, attempt: attempt + 1 }),
      DelaySeconds: Number(process.env.POLL_INTERVAL_MIN_SECONDS ?? 10),
    }),
  );
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const outcomes = await Promise.allSettled(event.Records.map(pollRecord));
  return {
    batchItemFailures: event.Records.filter((_, index) => outcomes[index]?.status === 'rejected').map((record) => ({
      itemIdentifier: record.messageId,
    })),
  };
}
