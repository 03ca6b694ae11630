/**
 * Reads a JSON request body against a zod schema. Anything wrong is a 400 naming the first offending field;
 * nothing downstream ever sees an unvalidated body. Before the schema, the parsed value goes through the shared
 * hostile-JSON check (shared/jobs/json-limits.ts): prototype keys, nesting, unsafe numbers, giant strings, key
 * floods and an oversized `task.databricksConf` are refused naming their JSON path.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { z } from 'zod';
import { assertJsonWithinLimits, JsonLimitError, MAX_BODY_BYTES } from '../../shared/jobs/json-limits.js';
import { HttpError } from './http-error.js';

export { MAX_BODY_BYTES };

export function parseJsonBody<T>(event: APIGatewayProxyEvent, schema: z.ZodType<T>): T {
  if (!event.body) throw new HttpError(400, 'InvalidRequest', 'The request needs a JSON body');
  // base64 grows the text by a third: a body that large encoded cannot fit decoded either.
  if (event.body.length > (event.isBase64Encoded ? Math.ceil((MAX_BODY_BYTES * 4) / 3) + 4 : MAX_BODY_BYTES)) {
    throw new HttpError(413, 'PayloadTooLarge', `The request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
    throw new HttpError(413, 'PayloadTooLarge', `The request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'InvalidJson', 'The request body is not valid JSON');
  }
  try {
    assertJsonWithinLimits(value);
  } catch (error) {
    if (error instanceof JsonLimitError) throw new HttpError(400, 'ValidationError', error.message, error.field);
    throw error;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // An unknown key is reported on its parent; name the key itself.
    const path = issue?.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : (issue?.path ?? []);
    const field = path.join('.') || undefined;
    const message = issue ? `${field ?? 'body'}: ${issue.message}` : 'Invalid request';
    throw new HttpError(400, 'ValidationError', message, field);
  }
  return parsed.data;
}
