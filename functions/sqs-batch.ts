/**
 * The SQS side shared by submit, poll and cancel: middy + Powertools BatchProcessor, so each record succeeds or
 * fails alone (partial batch responses). A record is parsed and validated here; a bad one fails (and so, after
 * its receives are spent, lands in the DLQ) with the reason logged. Records run in parallel, each with a child
 * logger carrying its job id.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { z } from 'zod';
import { ConnectorError } from '../shared/errors.js';
import { logger } from '../shared/logger.js';

export interface RecordContext {
  messageId: string;
  receiveCount: number;
  /** This is the last receive before SQS moves the message to the DLQ: say why the job failed, then fail. */
  isLastAttempt: boolean;
  log: Logger;
}

export class BadMessageError extends ConnectorError {
  constructor(message: string) {
    super(message, { permanent: true });
  }
}

export function parseRecord<T>(record: SQSRecord, schemaFor: (value: unknown) => z.ZodType<T>): T {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new BadMessageError(`Message ${record.messageId} is not JSON`);
  }
  const parsed = schemaFor(body).safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`);
    throw new BadMessageError(`Message ${record.messageId} is not a valid message: ${issues.join('; ')}`);
  }
  return parsed.data;
}

export function sqsBatchHandler<T>(options: {
  schemaFor: (value: unknown) => z.ZodType<T>;
  maxReceiveCount: () => number;
  process: (message: T, context: RecordContext) => Promise<void>;
}): middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context> {
  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
    const isLastAttempt = receiveCount >= options.maxReceiveCount();
    let log = logger.createChild({ persistentKeys: { messageId: record.messageId, receiveCount } });
    try {
      const message = parseRecord(record, options.schemaFor);
      const jobId = (message as { jobId?: unknown }).jobId;
      if (typeof jobId === 'string') log = log.createChild({ persistentKeys: { jobId } });
      await options.process(message, { messageId: record.messageId, receiveCount, isLastAttempt, log });
    } catch (error) {
      log.error(isLastAttempt ? 'Record failed on its last receive; it goes to the DLQ' : 'Record failed', {
        error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
      });
      throw error;
    }
  };
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event, context) => processPartialResponse(event, recordHandler, processor, { context }));
}
