/**
 * A workspace's answer is read with a ceiling: an endless or huge body ends the read with ResponseTooLargeError (and
 * the Jobs API call with a permanent error naming the limit, not the content) without filling memory.
 */
import { describe, expect, it } from 'vitest';
import type { AuthStrategy } from '../../../shared/auth/auth-strategy.js';
import { JobsClient } from '../../../shared/databricks/jobs-client.js';
import { ResponseTooLargeError, readBoundedText } from '../../../shared/http/read-bounded-body.js';

/** A body that never ends: 64 KiB chunks of 'x' for as long as it is read; counts what it handed out. */
function endlessBody() {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent += 65_536;
      controller.enqueue(new Uint8Array(65_536).fill(120));
    },
  });
  return { stream, sent: () => sent };
}

const auth: AuthStrategy = {
  authType: 'pat',
  getBearerToken: async () => 'dapi-test-token',
  invalidate: () => undefined,
  describe: () => 'test',
};

describe('Function: readBoundedText()', () => {
  it('reads an ordinary body', async () => {
    expect(await readBoundedText(new Response('{"run_id":1}'))).toBe('{"run_id":1}');
    expect(await readBoundedText(new Response(null))).toBe('');
  });

  it('stops an endless body just past the ceiling', async () => {
    const body = endlessBody();
    const error = await readBoundedText(new Response(body.stream), 1_000_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(body.sent()).toBeLessThan(1_000_000 + 3 * 65_536);
  });

  it('refuses a body whose Content-Length is over the ceiling without reading it', async () => {
    const body = endlessBody();
    const response = new Response(body.stream, { headers: { 'content-length': '99999999' } });
    await expect(readBoundedText(response, 1_000_000)).rejects.toBeInstanceOf(ResponseTooLargeError);
    expect(body.sent()).toBeLessThanOrEqual(65_536);
  });
});

describe('JobsClient with an endless answer', () => {
  it('fails the call permanently, naming the limit, not the content, and does not retry', async () => {
    let calls = 0;
    const client = new JobsClient({
      host: 'https://dbc-1.cloud.databricks.com',
      auth,
      health: null,
      sleep: async () => undefined,
      fetch: (async () => {
        calls++;
        return new Response(endlessBody().stream, { status: 200 });
      }) as typeof fetch,
    });
    const error = (await client.getRun(1).catch((e: unknown) => e)) as Error & { permanent?: boolean };
    expect(error.message).toMatch(/larger than \d+ bytes/);
    expect(error.message).not.toMatch(/xxxx/);
    expect(error.permanent).toBe(true);
    expect(calls).toBe(1);
  });
});
