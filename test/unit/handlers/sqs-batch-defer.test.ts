/**
 * The SQS batch handler and deferral: a record whose work throws a DeferError is put back as a new message through
 * the handler's `defer` and reported as processed (no receive spent, no DLQ), while its neighbours in the batch are
 * handled as usual; records run within the invocation's deadline (its remaining time less the safety margin).
 */
import type { Context, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { sqsBatchHandler } from '../../../functions/sqs-batch.js';
import { DEADLINE_SAFETY_MARGIN_MS, DeferError, remainingMs } from '../../../shared/invocation-deadline.js';
import { lambdaContext, setFunctionEnv } from '../fuzz/fixtures.js';

setFunctionEnv();

const schema = z.strictObject({ id: z.string() });

function record(id: string, receiveCount = 1): SQSRecord {
  return {
    messageId: `m-${id}`,
    receiptHandle: `r-${id}`,
    body: JSON.stringify({ id }),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '0',
      SenderId: 'AROAEXAMPLEEXAMPLE123:test',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
    awsRegion: 'us-east-1',
  };
}

function contextWithRemaining(ms: number): Context {
  return { ...lambdaContext('defer'), getRemainingTimeInMillis: () => ms };
}

describe('sqsBatchHandler: deferral', () => {
  it('defers a record that throws a DeferError (processed, re-sent with its delay) and handles the others', async () => {
    const deferred: Array<{ id: string; delaySeconds: number }> = [];
    const handler = sqsBatchHandler({
      schemaFor: () => schema,
      maxReceiveCount: () => 3,
      process: async (message) => {
        if (message.id === 'late') throw new DeferError('No time left', 7, { reason: 'deadline' });
        if (message.id === 'broken') throw new Error('boom');
      },
      defer: async (message, delaySeconds) => {
        deferred.push({ id: message.id, delaySeconds });
      },
    });
    const response = await handler(
      { Records: [record('ok'), record('late', 3), record('broken')] },
      contextWithRemaining(60_000),
    );
    expect(deferred).toEqual([{ id: 'late', delaySeconds: 7 }]);
    // Only the broken one is reported failed: the deferred one, even on its last receive, is done with.
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-broken' }] });
  });

  it('without a defer function a DeferError fails the record like any error', async () => {
    const handler = sqsBatchHandler({
      schemaFor: () => schema,
      maxReceiveCount: () => 3,
      process: async (message) => {
        if (message.id === 'late') throw new DeferError('No time left', 7, { reason: 'deadline' });
      },
    });
    const response = await handler({ Records: [record('late'), record('ok')] }, contextWithRemaining(60_000));
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-late' }] });
  });

  it("runs each record within the invocation's remaining time less the safety margin", async () => {
    const seen: number[] = [];
    const handler = sqsBatchHandler({
      schemaFor: () => schema,
      maxReceiveCount: () => 3,
      process: async () => {
        seen.push(remainingMs());
      },
    });
    await handler({ Records: [record('a')] }, contextWithRemaining(20_000));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeLessThanOrEqual(20_000 - DEADLINE_SAFETY_MARGIN_MS);
    expect(seen[0]).toBeGreaterThan(20_000 - DEADLINE_SAFETY_MARGIN_MS - 5000);
    // Outside an invocation there is no deadline.
    expect(remainingMs()).toBe(Number.POSITIVE_INFINITY);
  });
});
