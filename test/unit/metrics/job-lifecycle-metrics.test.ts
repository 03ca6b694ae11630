/**
 * One job through the real handlers, in this process, on the local emulators (dynalite, local-aws-sqs, Secrets
 * Manager, a Databricks workspace on 127.0.0.1): POST /v1/jobs (api), its submit message (submit, OAuth M2M with the
 * namespace's client secret), its first poll (poll, the run has ended). The metrics they print are the catalog's, at
 * those events, with exactly the catalog's dimension sets, and nothing secret or tenant-chosen reaches them: no client
 * secret, no access token, no namespace, no job or execution id, as a dimension or anywhere else in an EMF line.
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import dynalite from 'dynalite';
import { createSqsServer } from 'local-aws-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type DatabricksWorkspace,
  startDatabricksWorkspace,
} from '../../../infra/local/emulators/databricks-workspace.js';
import { type SecretsManagerEmulator, startSecretsManager } from '../../../infra/local/emulators/secrets-manager.js';
import { createJobsTable } from '../../../infra/local/jobs-table.js';
import {
  DIMENSION_VALUES,
  METRICS,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
} from '../../../shared/metrics/metric-catalog.js';
import { apiEvent, lambdaContext, sqsRecord } from '../fuzz/fixtures.js';
import { captureStdout, type EmfMetric, valuesOf } from './emf-capture.js';

vi.hoisted(() => {
  // Whatever the test environment says: this file reads what the functions print.
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  // Lambda sets it; Powertools counts a cold start only with it.
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
});

const HOST = '127.0.0.1';
const NAMESPACE = 'tenant-metrics';
const EXECUTION_ID = 'exec-secret-free/n0';
const CLIENT_ID = '6f1e2d3c-0000-4000-8000-00000000abcd';
const CLIENT_SECRET = `dose${'7c'.repeat(24)}`;

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

let workspace: DatabricksWorkspace;
let secrets: SecretsManagerEmulator;
let sqs: SQSClient;
let pollQueueUrl: string;
let submitQueueUrl: string;
const closers: Array<() => Promise<unknown>> = [];
let printed: EmfMetric[] = [];
let jobId = '';
let workspaceHost = '';

async function receiveBody(queueUrl: string): Promise<string> {
  for (let i = 0; i < 20; i++) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
    const body = Messages?.[0]?.Body;
    if (body) return body;
  }
  throw new Error(`no message on ${queueUrl}`);
}

const sqsEvent = (body: string): SQSEvent => ({ Records: [sqsRecord(body)] });

beforeAll(async () => {
  const dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, HOST, resolve));
  closers.push(() => new Promise<void>((resolve) => dynamo.close(() => resolve())));
  const dynamoUrl = `http://${HOST}:${(dynamo.address() as AddressInfo).port}`;
  await createJobsTable(new DynamoDBClient({ endpoint: dynamoUrl }), 'jobs');

  const sqsServer = await createSqsServer({ port: 0, hostname: HOST, emulateQueueCreationLifecycle: false });
  closers.push(() => new Promise<void>((resolve) => sqsServer.close(() => resolve())));
  const sqsUrl = `http://${HOST}:${(sqsServer.address() as AddressInfo).port}`;
  sqs = new SQSClient({ endpoint: sqsUrl });
  const queue = async (name: string) => (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl ?? '';
  submitQueueUrl = await queue('submit');
  pollQueueUrl = await queue('poll');

  secrets = await startSecretsManager({ port: 0, credentials: 'any' });
  closers.push(() => secrets.close());
  // Runs end as soon as they are submitted: the first poll finds the run over.
  workspace = await startDatabricksWorkspace({
    servicePrincipals: [{ applicationId: CLIENT_ID, secrets: [CLIENT_SECRET] }],
    timing: { pendingMs: 0, runningMs: 0, terminatingMs: 0 },
  });
  closers.push(() => workspace.close());
  workspaceHost = new URL(workspace.url).host;
  secrets.putSecret(
    `flyte/${NAMESPACE}/databricks-oauth`,
    JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, host: workspace.url }),
  );

  Object.assign(process.env, {
    JOBS_TABLE_NAME: 'jobs',
    SUBMIT_QUEUE_URL: submitQueueUrl,
    POLL_QUEUE_URL: pollQueueUrl,
    CANCEL_QUEUE_URL: await queue('cancel'),
    AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
    AWS_ENDPOINT_URL_SQS: sqsUrl,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    ALLOWED_DATABRICKS_HOSTS: workspace.url,
    ALLOW_INSECURE_LOOPBACK_DATABRICKS: 'true',
    INSECURE_ANY_CALLER_ANY_NAMESPACE: 'true',
    METRICS_WORKSPACE_DIMENSION: 'true',
    WORKSPACE_API_BUDGET_RPS: '0',
    POLL_INTERVAL_MIN_SECONDS: '0',
  });
  // Imported now: the functions' singletons (config, clients, ports) read the environment on first use.
  const api = (await import('../../../functions/api/handler.js')).handler as Handler<
    APIGatewayProxyEvent,
    APIGatewayProxyResult
  >;
  const submit = (await import('../../../functions/submit/handler.js')).handler as Handler<SQSEvent, SQSBatchResponse>;
  const poll = (await import('../../../functions/poll/handler.js')).handler as Handler<SQSEvent, SQSBatchResponse>;

  const request = JSON.stringify({
    namespace: NAMESPACE,
    executionId: EXECUTION_ID,
    task: {
      databricksConf: { run_name: 'metrics', existing_cluster_id: 'cluster-1' },
      databricksInstance: workspace.url,
      databricksAuthType: 'oauth_m2m',
    },
  });
  const stdout = captureStdout();
  try {
    const created = await api(apiEvent('POST', '/v1/jobs', { body: request }), lambdaContext('flyte-databricks-api'));
    expect(created.statusCode).toBe(202);
    jobId = (JSON.parse(created.body) as { jobId: string }).jobId;
    // The same request again: the job exists, nothing new is accepted.
    const repeated = await api(apiEvent('POST', '/v1/jobs', { body: request }), lambdaContext('flyte-databricks-api'));
    expect(repeated.statusCode).toBe(200);

    const submitted = await submit(
      sqsEvent(await receiveBody(submitQueueUrl)),
      lambdaContext('flyte-databricks-submit'),
    );
    expect(submitted.batchItemFailures).toEqual([]);
    const polled = await poll(sqsEvent(await receiveBody(pollQueueUrl)), lambdaContext('flyte-databricks-poll'));
    expect(polled.batchItemFailures).toEqual([]);
    const view = await api(apiEvent('GET', `/v1/jobs/${jobId}`), lambdaContext('flyte-databricks-api'));
    expect(JSON.parse(view.body)).toMatchObject({ phase: 'SUCCEEDED', auth: { mode: 'oauth_m2m' } });
    printed = stdout.metrics();
  } finally {
    stdout.restore();
  }
}, 60_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

describe('a job through api, submit and poll', () => {
  it('prints every metric in the FlyteDatabricksLambda namespace with the catalog unit and exact dimension set', () => {
    expect(printed.length).toBeGreaterThan(0);
    for (const metric of printed) {
      expect(metric.namespace).toBe(METRICS_NAMESPACE);
      expect(metric.dimensions.service).toBe(METRICS_SERVICE);
      // One dimension set per line: metrics with dimensions of their own are lines of their own.
      expect(metric.dimensionSets).toHaveLength(1);
      if (metric.name === 'ColdStart') {
        expect(metric.dimensionSets[0]).toEqual(['service', 'function_name']);
        continue;
      }
      const catalog = METRICS[metric.name as keyof typeof METRICS];
      expect(catalog, metric.name).toBeDefined();
      expect(metric.unit, metric.name).toBe(catalog.unit);
      expect(metric.dimensionSets[0], metric.name).toEqual([...catalog.dimensions]);
    }
  });

  it('counts the job accepted once (the repeated request is not counted), submitted and ended with its auth mode', () => {
    expect(valuesOf(printed, 'JobsAccepted').map((v) => v.value)).toEqual([1]);
    expect(valuesOf(printed, 'JobsSubmitted')).toEqual([
      { value: 1, dimensions: { service: METRICS_SERVICE, AuthMode: 'oauth_m2m' } },
    ]);
    expect(valuesOf(printed, 'JobsEnded')).toEqual([
      { value: 1, dimensions: { service: METRICS_SERVICE, Phase: 'SUCCEEDED' } },
    ]);
  });

  it('records how long after the run ended the poll noticed (seconds, from end_time)', () => {
    const lags = valuesOf(printed, 'DetectionLag');
    expect(lags).toHaveLength(1);
    expect(lags[0]?.value).toBeGreaterThanOrEqual(0);
    expect(lags[0]?.value).toBeLessThan(60);
  });

  it('counts one token fetched for oauth_m2m, and each Jobs API call by endpoint, status class and workspace host', () => {
    expect(valuesOf(printed, 'TokenRequests')).toEqual([
      { value: 1, dimensions: { service: METRICS_SERVICE, AuthMode: 'oauth_m2m' } },
    ]);
    expect(valuesOf(printed, 'TokenFailures')).toEqual([]);
    const calls = valuesOf(printed, 'DatabricksCalls').map(
      (v) => `${v.dimensions.Endpoint} ${v.dimensions.StatusClass}`,
    );
    expect(calls.sort()).toEqual(['runs/get 2xx', 'runs/submit 2xx']);
    const perWorkspace = valuesOf(printed, 'WorkspaceCalls').map((v) => v.dimensions);
    expect(perWorkspace).toEqual([
      { service: METRICS_SERVICE, Workspace: workspaceHost, StatusClass: '2xx' },
      { service: METRICS_SERVICE, Workspace: workspaceHost, StatusClass: '2xx' },
    ]);
  });

  it("counts the first invocation's cold start with the function's name", () => {
    expect(valuesOf(printed, 'ColdStart')).toEqual([
      { value: 1, dimensions: { service: METRICS_SERVICE, function_name: 'flyte-databricks-api' } },
    ]);
  });

  it('carries no secret, token, namespace or job id: not as a dimension, not anywhere in a line', () => {
    const tokens = workspace.issuedAccessTokens;
    expect(tokens.length).toBeGreaterThan(0);
    const text = [...new Set(printed.map((metric) => metric.line))].join('\n');
    for (const secret of [CLIENT_SECRET, ...tokens, NAMESPACE, jobId, EXECUTION_ID, CLIENT_ID]) {
      expect(text.includes(secret), 'a secret or tenant value in an EMF line').toBe(false);
    }
    const allowed = new Set<string>([
      METRICS_SERVICE,
      workspaceHost,
      'flyte-databricks-api',
      ...Object.values(DIMENSION_VALUES).flat(),
    ]);
    for (const metric of printed) {
      for (const value of Object.values(metric.dimensions))
        expect(allowed.has(value), `${metric.name}: ${value}`).toBe(true);
    }
  });
});
