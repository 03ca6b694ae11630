/**
 * The SQS side shared by submit, poll and cancel: middy + Powertools BatchProcessor, so each record succeeds or
 * fails alone (partial batch responses). A record is parsed and validated here; a bad one fails (and so, after
 * its receives are spent, lands in the DLQ) with the reason logged. Records run in parallel, each with a child
 * logger carrying its job id and, when tracing is on, a subsegment of its own annotated with it.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import type middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { z } from 'zod';
import { ConnectorError } from '../shared/errors.js';
import { DEADLINE_SAFETY_MARGIN_MS, DeferError, runWithDeadline } from '../shared/invocation-deadline.js';
import { assertJsonWithinLimits, JsonLimitError, MAX_BODY_BYTES } from '../shared/jobs/json-limits.js';
import { logger } from '../shared/logger.js';
import { countDeferral } from '../shared/metrics/metrics.js';
import { annotateJob, inSubsegment } from '../shared/tracing/tracing.js';
import { lambdaHandler } from './lambda-handler.js';

export interface RecordContext {
  messageId: string;
  receiveCount: number;
  /** This is the last receive before SQS moves the message to the DLQ: say why the job failed, then fail. */
  isLastAttempt: boolean;
  /** The unique id of the principal that sent the message, as SQS stamped it (`AROA…:session`, `AIDA…`). */
  senderId: string | undefined;
  log: Logger;
}

export class BadMessageError extends ConnectorError {
  constructor(message: string) {
    super(message, { permanent: true });
  }
}

const MAX_REPORTED_ISSUES = 5;

/**
 * The record's body as a message: JSON, within the shared hostile-JSON limits (the same check and wording as the
 * API's 400s), then the schema. Anything else is a BadMessageError; nothing unvalidated reaches a handler.
 */
export function parseRecord<T>(record: SQSRecord, schemaFor: (value: unknown) => z.ZodType<T>): T {
  const text = typeof record.body === 'string' ? record.body : '';
  if (text.length > MAX_BODY_BYTES || Buffer.byteLength(text) > MAX_BODY_BYTES) {
    throw new BadMessageError(`Message ${record.messageId} exceeds ${MAX_BODY_BYTES} bytes`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadMessageError(`Message ${record.messageId} is not JSON`);
  }
  try {
    assertJsonWithinLimits(body);
  } catch (error) {
    if (error instanceof JsonLimitError) {
      throw new BadMessageError(`Message ${record.messageId} is not a valid message: ${error.message}`);
    }
    throw error;
  }
  const parsed = schemaFor(body).safeParse(body);
  if (!parsed.success) {
    const all = parsed.error.issues;
    // A few issues say what is wrong; thousands (one per bad array element) would only bloat the log line.
    const issues = all.slice(0, MAX_REPORTED_ISSUES).map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`);
    if (all.length > MAX_REPORTED_ISSUES) issues.push(`and ${all.length - MAX_REPORTED_ISSUES} more`);
    throw new BadMessageError(`Message ${record.messageId} is not a valid message: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** When this invocation's records must be done: Lambda's remaining time less the margin (none without a context). */
function invocationDeadline(context: Context | undefined): number {
  const remaining = context?.getRemainingTimeInMillis?.();
  return typeof remaining === 'number' && Number.isFinite(remaining)
    ? Date.now() + remaining - DEADLINE_SAFETY_MARGIN_MS
    : Number.POSITIVE_INFINITY;
}

export function sqsBatchHandler<T>(options: {
  schemaFor: (value: unknown) => z.ZodType<T>;
  maxReceiveCount: () => number;
  process: (message: T, context: RecordContext) => Promise<void>;
  /**
   * Puts the record's work back on its queue as a new message, `delaySeconds` from now, when processing threw a
   * DeferError (no time left in this invocation, a long Retry-After, an unhealthy workspace): the record then
   * succeeds, so deferring spends none of its receives. Without it a DeferError fails the record like any error.
   */
  defer?: (message: T, delaySeconds: number) => Promise<void>;
}): middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context> {
  const processor = new BatchProcessor(EventType.SQS);
  const handleRecord = async (record: SQSRecord): Promise<void> => {
    const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
    const isLastAttempt = receiveCount >= options.maxReceiveCount();
    const keys: Record<string, unknown> = { messageId: record.messageId, receiveCount };
    // Made when the record first logs: a child logger per record costs more than the rest of a quiet poll.
    let log: Logger | undefined;
    const recordLog = () => {
      log ??= logger.createChild({ persistentKeys: keys });
      return log;
    };
    let message: T | undefined;
    try {
      message = parseRecord(record, options.schemaFor);
      const jobId = (message as { jobId?: unknown }).jobId;
      if (typeof jobId === 'string') {
        keys.jobId = jobId;
        annotateJob({ jobId });
      }
      await options.process(message, {
        messageId: record.messageId,
        receiveCount,
        isLastAttempt,
        senderId: record.attributes.SenderId || undefined,
        get log() {
          return recordLog();
        },
      });
    } catch (error) {
      if (error instanceof DeferError && options.defer && message !== undefined) {
        await options.defer(message, error.delaySeconds);
        countDeferral(error.reason);
        recordLog().info('Record deferred', { delaySeconds: error.delaySeconds, reason: error.message });
        return;
      }
      recordLog().error(isLastAttempt ? 'Record failed on its last receive; it goes to the DLQ' : 'Record failed', {
        error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
      });
      throw error;
    }
  };
  // Records run side by side: each gets a trace subsegment of its own to annotate.
  const recordHandler = (record: SQSRecord) => inSubsegment('### SQS record', () => handleRecord(record));
  return lambdaHandler<SQSEvent, SQSBatchResponse>().handler((event, context) =>
    // Every record's calls are sized to what is left of the invocation (shared/invocation-deadline.ts).
    runWithDeadline(invocationDeadline(context), () =>
      processPartialResponse(event, recordHandler, processor, { context }),
    ),
  );
}
