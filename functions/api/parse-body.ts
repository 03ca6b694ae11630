/**
 * Reads a JSON request body against a zod schema. Anything wrong is a 400 naming the first offending field;
 * nothing downstream ever sees an unvalidated body.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { z } from 'zod';
import { HttpError } from './http-error.js';

/** Well under DynamoDB's 400 KB item limit, since the request is stored with the job. */
export const MAX_BODY_BYTES = 256 * 1024;

export function parseJsonBody<T>(event: APIGatewayProxyEvent, schema: z.ZodType<T>): T {
  if (!event.body) throw new HttpError(400, 'InvalidRequest', 'The request needs a JSON body');
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
