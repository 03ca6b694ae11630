/**
 * A job's `message`, as it is stored and shown: one redaction pass on every message stored or returned (a reason
 * can quote an error that quoted a credential), then a bound on its length, so the item it lives in stays within
 * the room MAX_NEW_JOB_ITEM_BYTES leaves for it (shared/jobs/item-size.ts) and a GET stays small.
 */
import { redactString } from '../log-redaction.js';

/** Characters (UTF-16 code units) a stored or returned message keeps, the ellipsis included. */
export const MAX_JOB_MESSAGE_LENGTH = 4096;

const ELLIPSIS = '…';

/** The message redacted, then cut to `maxLength` characters ending in '…' when it was longer. */
export function boundJobMessage(message: string, maxLength = MAX_JOB_MESSAGE_LENGTH): string {
  // Redacted first: a cut could leave a credential too short for its pattern to recognise.
  const redacted = redactString(message);
  if (redacted.length <= maxLength) return redacted;
  let end = maxLength - ELLIPSIS.length;
  // Never half a surrogate pair.
  const last = redacted.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${redacted.slice(0, end)}${ELLIPSIS}`;
}
