/**
 * Property-based tests of the SQS side: `parseRecord` with the submit, poll and cancel schemas either returns a
 * message that validates again or throws BadMessageError (the same wording as the API's 400s for hostile JSON),
 * and the poll function, given a batch mixing good and bad records, reports exactly the bad ones as
 * batchItemFailures.
 */
import './silent-function-logs.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { HttpError } from '../../../functions/api/http-error.js';
import { parseJsonBody } from '../../../functions/api/parse-body.js';
import { BadMessageError, parseRecord } from '../../../functions/sqs-batch.js';
import type { Job } from '../../../shared/jobs/job.js';
import { jobIdFor } from '../../../shared/jobs/job-id.js';
import { findJsonLimitViolation } from '../../../shared/jobs/json-limits.js';
import { cancelMessageSchema, pollMessageSchema, submitMessageSchemaFor } from '../../../shared/jobs/messages.js';
import { submitRequestSchema } from '../../../shared/jobs/submit-request.js';
import { jobFixture } from '../../support/job-fixture.js';
import {
  apiEvent,
  hostileRawArb,
  type Json,
  lambdaContext,
  RAW,
  setFunctionEnv,
  spliceRaw,
  sqsRecord,
  validRequestArb,
} from './fixtures.js';

setFunctionEnv();
const { handler: pollHandler } = await import('../../../functions/poll/handler.js');

type SchemaFor = (value: unknown) => z.ZodType<unknown>;
const SCHEMAS: Array<[string, SchemaFor]> = [
  ['submit', submitMessageSchemaFor as SchemaFor],
  ['poll', () => pollMessageSchema],
  ['cancel', () => cancelMessageSchema],
];

const jobIdArb = fc.tuple(fc.string(), fc.string()).map(([ns, e]) => jobIdFor(ns, e));
const pollArb = fc.record(
  { jobId: jobIdArb, generation: fc.integer({ min: 1, max: 1000 }), attempt: fc.nat(1_000_000) },
  { requiredKeys: ['jobId', 'generation'] },
);

/** Bodies of every kind: valid messages of each type, their mutations, arbitrary JSON and plain text, hostile JSON. */
const bodyArb: fc.Arbitrary<string> = fc.oneof(
  validRequestArb.map((r) => JSON.stringify(r)),
  pollArb.map((m) => JSON.stringify(m)),
  jobIdArb.map((jobId) => JSON.stringify({ jobId })),
  fc
    .tuple(fc.oneof(pollArb, validRequestArb) as fc.Arbitrary<Record<string, Json>>, fc.jsonValue(), fc.nat())
    .map(([message, value, pick]) => {
      const keys = Object.keys(message);
      const key = keys[pick % keys.length] ?? 'jobId';
      return JSON.stringify({ ...message, [key]: value });
    }),
  fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc
    .tuple(pollArb, hostileRawArb)
    .map(([message, { raw }]) => spliceRaw(JSON.stringify({ ...message, extra: RAW }), raw)),
);

describe('Property: parseRecord', () => {
  it.each(SCHEMAS)('%s: returns a message that validates again, or throws BadMessageError', (_name, schemaFor) => {
    fc.assert(
      fc.property(bodyArb, (body) => {
        const record = sqsRecord(body);
        let message: unknown;
        try {
          message = parseRecord(record, schemaFor);
        } catch (error) {
          expect(error).toBeInstanceOf(BadMessageError);
          expect((error as Error).message.startsWith(`Message ${record.messageId} `)).toBe(true);
          return;
        }
        expect(schemaFor(message).safeParse(message).success).toBe(true);
        expect(findJsonLimitViolation(message)).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses hostile JSON with the wording the API uses for it', () => {
    fc.assert(
      fc.property(validRequestArb, hostileRawArb, (request, { raw, field }) => {
        const body = spliceRaw(
          JSON.stringify({
            ...request,
            task: { ...request.task, databricksConf: { ...request.task.databricksConf, x: RAW } },
          }),
          raw,
        );
        const record = sqsRecord(body);
        let apiMessage = '';
        try {
          parseJsonBody(apiEvent('POST', '/v1/jobs', { body }), submitRequestSchema);
        } catch (error) {
          expect(error).toBeInstanceOf(HttpError);
          expect((error as HttpError).field).toBe(field);
          apiMessage = (error as HttpError).message;
        }
        expect(apiMessage.startsWith(`${field}: `)).toBe(true);
        expect(() => parseRecord(record, submitMessageSchemaFor)).toThrow(
          new BadMessageError(`Message ${record.messageId} is not a valid message: ${apiMessage}`),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('answers the worst bodies under the size limit quickly', () => {
    const limit = 256 * 1024;
    const worst = [
      '['.repeat(limit / 2) + ']'.repeat(limit / 2),
      `{${Array.from({ length: 30_000 }, (_, i) => `"${i}":0`).join(',')}}`,
      JSON.stringify({ jobId: 'x'.repeat(limit - 20) }),
      `[${'1e400,'.repeat(40_000)}0]`,
      'x'.repeat(limit + 1),
    ];
    for (const body of worst) {
      const started = performance.now();
      expect(() => parseRecord(sqsRecord(body), () => pollMessageSchema)).toThrow(BadMessageError);
      expect(performance.now() - started).toBeLessThan(500);
    }
  });
});

describe('Property: the poll function reports exactly the bad records of a batch', () => {
  const doc = mockClient(DynamoDBDocumentClient);
  const dynamodb = mockClient(DynamoDBClient);
  const sqs = mockClient(SQSClient);

  const now = '2025-03-01T12:00:00.000Z';
  const job = (namespace: string, phase: Job['phase'], pollGeneration: number): Job =>
    jobFixture({ namespace, phase, pollGeneration, message: 'done', version: 3, createdAt: now, updatedAt: now });
  // Outcomes that need neither Databricks nor a write: a finished job, a retired poll chain, an unknown job.
  const finished = job('team-a', 'SUCCEEDED', 2);
  const running = job('team-b', 'RUNNING', 5);
  const items = new Map([finished, running].map((j) => [j.jobId, j]));

  beforeEach(() => {
    doc.reset();
    dynamodb.reset();
    sqs.reset();
    doc.on(GetCommand).callsFake((input: { Key: { jobId: string } }) => {
      const item = items.get(input.Key.jobId);
      return item ? { Item: structuredClone(item) } : {};
    });
  });
  afterAll(() => {
    doc.restore();
    dynamodb.restore();
    sqs.restore();
  });

  const goodArb = fc.oneof(
    fc.constant(JSON.stringify({ jobId: finished.jobId, generation: 2 })),
    fc.nat(100).map((attempt) => JSON.stringify({ jobId: finished.jobId, generation: 2, attempt })),
    fc.integer({ min: 1, max: 4 }).map((generation) => JSON.stringify({ jobId: running.jobId, generation })),
    jobIdArb.map((jobId) => JSON.stringify({ jobId, generation: 1 })),
  );
  const batchArb = fc
    .tuple(
      fc.array(goodArb, { minLength: 1, maxLength: 5 }),
      fc.array(bodyArb, { maxLength: 5 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.integer({ min: 1, max: 6 }),
    )
    .map(([good, other, order, receiveCount]) => {
      const bodies = [...good, ...other];
      // Interleave good and other records in an arbitrary order.
      for (const [i, j] of order.entries()) {
        const a = i % bodies.length;
        const b = j % bodies.length;
        [bodies[a], bodies[b]] = [bodies[b] as string, bodies[a] as string];
      }
      return bodies.map((body) => sqsRecord(body, receiveCount));
    });

  it('fails the bad ones, never the good ones, and writes nothing', async () => {
    const context = lambdaContext('poll');
    await fc.assert(
      fc.asyncProperty(batchArb, async (records) => {
        doc.resetHistory();
        sqs.resetHistory();
        const bad = records
          .filter((record) => {
            try {
              parseRecord(record, () => pollMessageSchema);
              return false;
            } catch {
              return true;
            }
          })
          .map((record) => record.messageId);
        const event: SQSEvent = { Records: records };
        const response = (await pollHandler(event, context)) as SQSBatchResponse;
        expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([...bad].sort());
        expect(doc.commandCalls(UpdateCommand)).toHaveLength(0);
        expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
      }),
      { numRuns: 200 },
    );
  });

  it('a batch of bad records only fails as a whole (Powertools throws FullBatchFailureError)', async () => {
    const records = ['not json', '{"jobId":"nope","generation":1}', '{"__proto__":{}}'].map((b) => sqsRecord(b));
    await expect(pollHandler({ Records: records }, lambdaContext('poll'))).rejects.toThrow(/All records failed/);
  });
});
