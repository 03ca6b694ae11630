/**
 * The setup the poll measurements share: a local stack whose handler traffic to DynamoDB and SQS is counted at the
 * wire, an OAuth M2M tenant (one service principal, as a team's namespace has), and jobs whose Databricks runs keep
 * RUNNING. The stack's own poll chains are parked (first poll 900 s out), so every poll in a measurement is one the
 * benchmark invoked itself: the poll count is known by construction, never taken from the code being measured.
 */
import { randomUUID } from 'node:crypto';
import type { SQSEvent } from 'aws-lambda';
import { createLambdaContext } from '../infra/local/lambda-runtime/lambda-context.js';
import { toSqsRecord } from '../infra/local/lambda-runtime/sqs-event-source.js';
import { type LocalStack, startLocalStack } from '../infra/local/local-stack.js';
import { seedOAuthM2M } from '../infra/local/tenants.js';
import { DynamoDbJobStore } from '../shared/jobs/job-store.js';
import { benchApiClient, MEASUREMENT_BUDGET_RPS, submitJobs, waitForPhases } from './bench-jobs.js';

/** SQS's longest delay: the stack's own poll chains do not come back while a measurement runs. */
const PARKED_POLL_SECONDS = 900;
const BATCH_SIZE = 10;

export interface PollBenchStack {
  stack: LocalStack;
  jobIds: string[];
  /** Invokes the poll function once with one record per job given (a batch, as the SQS event source sends). */
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
    // One poll's own cost, every job polled at once round after round (see MEASUREMENT_BUDGET_RPS).
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR', WORKSPACE_API_BUDGET_RPS: MEASUREMENT_BUDGET_RPS },
  });
  try {
    const tenant = seedOAuthM2M(stack, 'bench-m2m');
    const api = benchApiClient(stack);
    const jobIds = await submitJobs(api, tenant.namespace, `bench-${randomUUID().slice(0, 8)}`, options.jobs);
    await waitForPhases(api, jobIds, ['INITIALIZING', 'RUNNING']);
    const store = new DynamoDbJobStore(stack.dynamodb, stack.tableName);
    const { handler } = await import('../functions/poll/handler.js');
    const eventSourceARN = `arn:aws:sqs:${stack.region}:123456789012:bench-poll`;
    const context = createLambdaContext({ functionName: 'flyte-databricks-poll', timeoutMs: 20_000 });
    let attempt = 0;

    const pollBatch = async (ids: readonly string[]) => {
      attempt++;
      const records = await Promise.all(
        ids.map(async (jobId) => {
          const job = await store.get(jobId);
          if (!job) throw new Error(`job ${jobId} vanished`);
          const body = JSON.stringify({ jobId, generation: job.pollGeneration, attempt });
          const message = { MessageId: randomUUID(), ReceiptHandle: randomUUID(), Body: body };
          return toSqsRecord(
            { ...message, Attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) } },
            { eventSourceARN, awsRegion: stack.region },
          );
        }),
      );
      const event: SQSEvent = { Records: records };
      const result = (await handler(event, context)) as { batchItemFailures?: unknown[] } | undefined;
      if (result?.batchItemFailures?.length) throw new Error(`poll batch failed: ${JSON.stringify(result)}`);
    };
    const pollAll = async () => {
      for (let i = 0; i < jobIds.length; i += BATCH_SIZE) await pollBatch(jobIds.slice(i, i + BATCH_SIZE));
    };
    return { stack, jobIds, pollBatch, pollAll, stop: () => stack.stop() };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/** The Databricks requests the workspace has seen, by kind: Jobs API runs/get and OAuth token endpoint. */
export function databricksCounts(stack: LocalStack): { runsGet: number; jobsApi: number; token: number } {
  let runsGet = 0;
  let jobsApi = 0;
  for (const request of stack.databricks.requests) {
    if (request.path.includes('/jobs/runs/')) jobsApi++;
    if (request.path.endsWith('/jobs/runs/get')) runsGet++;
  }
  return { runsGet, jobsApi, token: stack.databricks.tokenRequests.length };
}

/** A copy of the AWS request counts, to subtract later. */
export function awsSnapshot(stack: LocalStack) {
  return structuredClone(stack.awsRequests);
}

export function delta(after: Record<string, number>, before: Record<string, number>, operation: string): number {
  return (after[operation] ?? 0) - (before[operation] ?? 0);
}
