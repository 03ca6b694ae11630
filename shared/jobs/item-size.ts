/**
 * The size DynamoDB counts for an item, against its 400 KB item limit, computed from the item's marshalled form by
 * the rules of the DynamoDB Developer Guide, "DynamoDB item sizes and formats":
 *
 * - every attribute name, and every map key, counts its UTF-8 bytes;
 * - S: its UTF-8 bytes; B: its raw bytes; BOOL and NULL: 1 byte;
 * - N: 1 byte per two significant digits (leading and trailing zeros trimmed), rounded up, plus 1 byte. The guide
 *   calls this approximate (DynamoDB stores numbers in a base-100 form whose exact length varies by a byte with the
 *   digits' alignment); MAX_NEW_JOB_ITEM_BYTES keeps far more headroom than that error;
 * - L and M: 3 bytes, plus 1 byte per element, plus the elements' sizes (a map's keys as names);
 * - SS, NS, BS: the sum of their members' sizes.
 *
 * This is why a JSON body's length says little about its item: `[[1],[1],…]` is 4 bytes of JSON per element and
 * 7 bytes of item (1 for the element, 3 for the inner list, 1 for its element, 2 for the number).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';

/** DynamoDB's item size limit: 400 KB, counted as 400 KiB. */
export const DYNAMODB_ITEM_LIMIT_BYTES = 409_600;

/**
 * The largest item a new job may start as: 360 KiB. A job grows after it is accepted, and each of those writes must
 * still fit, or the job could not even be ended with its reason. What it gains is bounded: the auth context (secret
 * names, a client id, a token file path, an audience and why the mode was chosen: about 10 KiB at the request
 * schema's bounds), the message (4096 characters, at most 12 KiB of UTF-8: shared/jobs/job-message.ts), runPageUrl
 * (2048 ASCII characters: shared/databricks/run-page-url.ts), and the Databricks states, timestamps, counters and
 * liveness keys (under 1 KiB). About 25 KiB in all; the 40 KiB left below DynamoDB's limit covers it with room.
 */
export const MAX_NEW_JOB_ITEM_BYTES = 360 * 1024;

/** The size DynamoDB counts for `item` (undefined attributes are left out, as the job store writes them). */
export function dynamoItemSize(item: Record<string, unknown>): number {
  const marshalled = marshall(item, { removeUndefinedValues: true });
  let size = 0;
  for (const [name, value] of Object.entries(marshalled)) size += utf8Bytes(name) + valueSize(value);
  return size;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Bytes(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return value.L.reduce((sum, element) => sum + 1 + valueSize(element), 3);
  if (value.M !== undefined) {
    return Object.entries(value.M).reduce((sum, [key, element]) => sum + 1 + utf8Bytes(key) + valueSize(element), 3);
  }
  if (value.SS !== undefined) return value.SS.reduce((sum, member) => sum + utf8Bytes(member), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, member) => sum + numberSize(member), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, member) => sum + member.byteLength, 0);
  throw new Error(`Unknown DynamoDB attribute type: ${Object.keys(value).join(',')}`);
}

/** Approximate, as the guide says: significant digits / 2, rounded up, + 1 (zero has none: 1 byte). */
function numberSize(text: string): number {
  const mantissa = text.replace(/^[+-]/, '').split(/e/i)[0] ?? '';
  const digits = mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;
  return Math.ceil(digits / 2) + 1;
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
