/**
 * Tracing on, as on Lambda with a sampled trace: the X-Ray SDK sends what the handler chain records to the daemon
 * address, here a UDP socket of the test's. Each SQS record gets a subsegment of its own annotated with its JobId and
 * DatabricksHost (records run side by side), a Databricks request is a subsegment with host and path only (never its
 * Authorization header), and with nobody listening at the daemon address an invocation still succeeds.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { lambdaContext, setFunctionEnv, sqsRecord } from '../fuzz/fixtures.js';

const TOKEN = `dapi${'9'.repeat(32)}`;
const JOB_IDS = ['fdl-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'fdl-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'];

let daemon: Socket;
let workspace: Server;
let workspaceUrl: string;
let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
const datagrams: string[] = [];

/** Every segment document sent so far (a datagram is a header line, then the document). */
const documents = () => datagrams.map((datagram) => datagram.slice(datagram.indexOf('\n') + 1));

async function sentUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
}

beforeAll(async () => {
  daemon = createSocket('udp4');
  daemon.on('message', (message) => datagrams.push(message.toString('utf8')));
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  workspace = createServer((_request, response) => response.end('{}'));
  await new Promise<void>((resolve) => workspace.listen(0, '127.0.0.1', resolve));
  workspaceUrl = `http://127.0.0.1:${(workspace.address() as AddressInfo).port}`;

  setFunctionEnv();
  Object.assign(process.env, {
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    LAMBDA_TASK_ROOT: '/var/task',
    _HANDLER: 'index.handler',
    _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
    POWERTOOLS_TRACE_ENABLED: 'true',
  });
  // Imported now: whether to trace, and where the daemon is, are read when the modules load.
  const { sqsBatchHandler } = await import('../../../functions/sqs-batch.js');
  const { annotateJob } = await import('../../../shared/tracing/tracing.js');
  handler = sqsBatchHandler({
    schemaFor: () => z.strictObject({ jobId: z.string() }),
    maxReceiveCount: () => 3,
    process: async ({ jobId }) => {
      annotateJob({ jobId, databricksHost: 'https://dbc-1.cloud.databricks.com' });
      await fetch(`${workspaceUrl}/api/2.2/jobs/runs/get?run_id=7`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    },
  });
});

afterAll(async () => {
  await new Promise<void>((resolve) => workspace.close(() => resolve()));
});

describe('tracing switched on', () => {
  it('loads the X-Ray SDK and has a tracer', async () => {
    const tracing = await import('../../../shared/tracing/tracing.js');
    expect(tracing.tracer?.isTracingEnabled()).toBe(true);
    expect(tracing.traceHandler()).toHaveLength(1);
    expect((process as { namespaces?: Record<string, unknown> }).namespaces?.AWSXRay).toBeDefined();
  });

  it('annotates each record subsegment with its own JobId and DatabricksHost, and records no token', async () => {
    const records = JOB_IDS.map((jobId) => sqsRecord(JSON.stringify({ jobId })));
    await expect(handler({ Records: records }, lambdaContext('flyte-databricks-poll'))).resolves.toEqual({
      batchItemFailures: [],
    });
    await sentUntil(() => documents().filter((d) => d.includes('"### SQS record"')).length >= JOB_IDS.length);

    const recordSegments = documents()
      .map((document) => JSON.parse(document) as { name: string; annotations?: Record<string, unknown> })
      .filter((segment) => segment.name === '### SQS record');
    expect(recordSegments.map((segment) => segment.annotations?.JobId).sort()).toEqual(JOB_IDS);
    for (const segment of recordSegments) {
      expect(segment.annotations).toEqual({ JobId: expect.any(String), DatabricksHost: 'dbc-1.cloud.databricks.com' });
    }
    const sent = documents().join('\n');
    expect(sent).toContain('"## index.handler"');
    expect(sent).toContain('/api/2.2/jobs/runs/get');
    expect(sent).not.toContain(TOKEN);
    expect(sent).not.toContain('run_id=7');
  });

  it('still succeeds with nobody listening at the daemon address', async () => {
    await new Promise<void>((resolve) => daemon.close(() => resolve()));
    const records = [sqsRecord(JSON.stringify({ jobId: JOB_IDS[0] }))];
    await expect(handler({ Records: records }, lambdaContext('flyte-databricks-poll'))).resolves.toEqual({
      batchItemFailures: [],
    });
  });
});
