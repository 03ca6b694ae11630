/**
 * Reads an HTTP answer's body with a ceiling. The workspace a job names, or whatever answers there, decides how much
 * it sends: read whole (`response.text()`), a huge or endless body would fill the container's memory and fail every
 * other tenant's records in the batch. Jobs API and token endpoint answers are small (a runs/get of a multi-task run
 * is tens of KiB, and Jobs API 2.2 pages tasks beyond 100), so a few MiB is far above any real answer.
 */

export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** The answer was larger than the ceiling; its content is never quoted. */
export class ResponseTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the response is larger than ${maxBytes} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

/** The body as UTF-8 text, or ResponseTooLargeError as soon as more than `maxBytes` have arrived (or are announced). */
export async function readBoundedText(response: Response, maxBytes: number = MAX_RESPONSE_BYTES): Promise<string> {
  const announced = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(announced) && announced > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new ResponseTooLargeError(maxBytes);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
