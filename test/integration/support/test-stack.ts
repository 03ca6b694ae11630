/**
 * Integration test support: one embedded local stack per test file, with runs that finish in about a second,
 * a seeded tenant, and helpers that wait for a condition with a bounded deadline instead of sleeping.
 */

import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { seedDemoNamespace } from '../../../infra/local/demo-namespace.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../../infra/local/local-stack.js';
import { isApiError, JobsApiClient } from '../../../shared/client/jobs-api-client.js';
import type { JobView } from '../../../shared/jobs/job.js';
import { isTerminalPhase } from '../../../shared/jobs/phase.js';

export const NAMESPACE = 'flytesnacks-development';

export interface TestStack {
  stack: LocalStack;
  api: JobsApiClient;
  /** The seeded namespace's PAT. */
  token: string;
}

/** The stacks started and not yet stopped: function-logs-on-failure.ts prints their functions' lines for a failed test. */
export const runningTestStacks = new Set<LocalStack>();

export async function startTestStack(options: LocalStackOptions = {}): Promise<TestStack> {
  const stack = await startLocalStack({
    // The functions' lines stay in stack.functionLogs (printed for a test that fails), off the test output: many
    // tests provoke errors on purpose.
    onFunctionLog: () => undefined,
    databricks: { timing: { pendingMs: 150, runningMs: 400, terminatingMs: 50 } },
    pollIntervalSeconds: { min: 0, max: 1 },
    visibilityTimeoutSeconds: 3,
    // Two batches per queue at once: fewer processes per stack on this 2-core machine (the template allows 2-10).
    eventSourceConcurrency: 2,
    // No batching window (the template's poll mapping waits up to 5 s to fill a batch): runs here last a second.
    eventSourceBatchingWindowSeconds: 0,
    // No environment initialized ahead (3-4 s of a stack's start on this machine): a function is started at its first
    // invocation, and the functions a file never calls (the sweeper, often cancel) are never started.
    prewarm: false,
    // The functions' logs at the test run's level (vitest.config.ts: WARN), not the template's INFO.
    ...(process.env.POWERTOOLS_LOG_LEVEL ? { logLevel: process.env.POWERTOOLS_LOG_LEVEL } : {}),
    ...options,
  });
  runningTestStacks.add(stack);
  const stop = stack.stop.bind(stack);
  stack.stop = () => {
    runningTestStacks.delete(stack);
    return stop();
  };
  const token = seedDemoNamespace(stack, NAMESPACE);
  return { stack, api: apiClientFor(stack), token };
}

/** A client of the stack's front door, signing with the caller key pair the stack generated. */
export function apiClientFor(stack: LocalStack): JobsApiClient {
  return new JobsApiClient(stack.frontDoorUrl, { region: stack.region, credentials: stack.callerCredentials });
}

/**
 * Starts one stack for the calling test file (beforeAll) and stops it afterwards (afterAll). The returned object
 * reads through to the started stack, so tests write `t.api` / `t.stack` as if it were a TestStack.
 */
export function useTestStack(options: LocalStackOptions = {}): TestStack {
  let started: TestStack | undefined;
  beforeAll(async () => {
    started = await startTestStack(options);
  });
  afterAll(() => started?.stack.stop());
  const current = (): TestStack => {
    if (!started) throw new Error('the test stack is used before beforeAll started it');
    return started;
  };
  return {
    get stack() {
      return current().stack;
    },
    get api() {
      return current().api;
    },
    get token() {
      return current().token;
    },
  };
}

export function jobRequest(executionId: string, overrides: Record<string, unknown> = {}) {
  return {
    namespace: NAMESPACE,
    executionId,
    task: {
      databricksConf: { run_name: executionId, new_cluster: { spark_version: '15.4.x-scala2.12', num_workers: 1 } },
    },
    container: { image: 'ghcr.io/flyteorg/flytekit:py3.11-latest', args: ['pyflyte-execute', '--inputs', 'x'] },
    ...overrides,
  };
}

/** Polls `probe` until `done` holds or the deadline passes; returns the last value either way. */
export async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await probe();
  }
  return value;
}

export async function jobView(api: JobsApiClient, jobId: string): Promise<JobView> {
  const { body } = await api.get(jobId);
  if (isApiError(body)) throw new Error(`GET ${jobId}: ${body.error.message}`);
  return body;
}

export function waitForTerminal(api: JobsApiClient, jobId: string, timeoutMs?: number): Promise<JobView> {
  return waitFor(
    () => jobView(api, jobId),
    (view) => isTerminalPhase(view.phase),
    timeoutMs,
  );
}

export async function scanJobs(stack: LocalStack): Promise<Record<string, unknown>[]> {
  const doc = DynamoDBDocumentClient.from(stack.dynamodb);
  const { Items = [] } = await doc.send(new ScanCommand({ TableName: stack.tableName, ConsistentRead: true }));
  return Items;
}

export function runsFor(stack: LocalStack, jobId: string) {
  return stack.databricks.runs().filter((run) => run.idempotencyToken === jobId);
}

/** Reads (without deleting) what sits in a queue, e.g. a DLQ. */
export async function peekQueue(stack: LocalStack, queueUrl: string): Promise<string[]> {
  const { Messages = [] } = await stack.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 0,
      WaitTimeSeconds: 0,
    }),
  );
  return Messages.map((m) => m.Body ?? '');
}
