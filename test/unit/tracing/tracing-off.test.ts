/**
 * POWERTOOLS_TRACE_ENABLED=false on Lambda: tracing is inert. The X-Ray SDK is never loaded (no async hook, no
 * patched http, fetch or AWS clients), the handler chain has no tracing middleware, and a handler runs as without it.
 */
import { channel } from 'node:diagnostics_channel';
import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { lambdaContext, setFunctionEnv, sqsRecord } from '../fuzz/fixtures.js';

vi.hoisted(() => {
  // A Lambda execution environment, where Powertools would trace, switched off as the stack's `tracing` context does.
  process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs22.x';
  process.env.LAMBDA_TASK_ROOT = '/var/task';
  process.env._X_AMZN_TRACE_ID = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
  process.env.POWERTOOLS_TRACE_ENABLED = 'false';
});

setFunctionEnv();

describe('tracing switched off', () => {
  it('loads no X-Ray SDK and has no tracer, no handler middleware and no client instrumentation', async () => {
    const tracing = await import('../../../shared/tracing/tracing.js');
    const { dynamoDbClient } = await import('../../../shared/aws/clients.js');

    expect(tracing.tracer).toBeUndefined();
    expect(tracing.traceHandler()).toEqual([]);
    // cls-hooked registers the SDK's context namespace (and its async hook) when the SDK is imported.
    expect((process as { namespaces?: Record<string, unknown> }).namespaces?.AWSXRay).toBeUndefined();
    // Nothing listens to fetch: no subsegments, no trace header added to requests.
    expect(channel('undici:request:create').hasSubscribers).toBe(false);
    const middleware = dynamoDbClient().middlewareStack.identify();
    expect(middleware.filter((name) => /xray/i.test(name))).toEqual([]);
  });

  it('runs a handler (records, deferrals and annotations included) exactly as without tracing', async () => {
    const { sqsBatchHandler } = await import('../../../functions/sqs-batch.js');
    const { annotateJob, inSubsegment } = await import('../../../shared/tracing/tracing.js');
    const seen: string[] = [];
    const handler = sqsBatchHandler({
      schemaFor: () => z.strictObject({ jobId: z.string() }),
      maxReceiveCount: () => 3,
      process: async ({ jobId }) => {
        annotateJob({ jobId, databricksHost: 'https://dbc-1.cloud.databricks.com' });
        seen.push(await inSubsegment('### work', async () => jobId));
      },
    });
    const records = ['a', 'b'].map((jobId) => sqsRecord(JSON.stringify({ jobId })));
    await expect(handler({ Records: records }, lambdaContext('flyte-databricks-poll'))).resolves.toEqual({
      batchItemFailures: [],
    });
    expect(seen.sort()).toEqual(['a', 'b']);
    expect((process as { namespaces?: Record<string, unknown> }).namespaces?.AWSXRay).toBeUndefined();
  });
});
