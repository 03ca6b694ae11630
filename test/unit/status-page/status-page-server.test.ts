import { request } from 'node:http';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { EmfMetrics } from '../../../infra/local/status-page/emf-metrics.js';
import { type StatusPage, startStatusPage } from '../../../infra/local/status-page/status-page-server.js';
import { craftedLine } from './emf-lines.js';

/** An SQS client that knows two DLQs' depths; any other queue fails, as an unreachable one would. */
function fakeSqs(depths: Record<string, number>): SQSClient & { calls: number } {
  const fake = {
    calls: 0,
    send: async (command: { input: { QueueUrl: string } }) => {
      fake.calls += 1;
      const depth = depths[command.input.QueueUrl];
      if (depth === undefined) throw new Error('AWS.SimpleQueueService.NonExistentQueue');
      return { Attributes: { ApproximateNumberOfMessages: String(depth) } };
    },
  };
  return fake as unknown as SQSClient & { calls: number };
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = request(url, { method, headers }, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body,
            headers: res.headers,
          }),
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
}

let page: StatusPage | undefined;
afterEach(async () => {
  await page?.close();
  page = undefined;
});

describe('the status page server', () => {
  it('serves the page and its numbers as JSON on 127.0.0.1, with the DLQs read from SQS', async () => {
    const metrics = new EmfMetrics();
    metrics.accept(craftedLine({ name: 'JobsEnded', unit: 'Count', value: 2, dimensions: { Phase: 'SUCCEEDED' } }));
    const sqs = fakeSqs({ 'http://sqs/submit-dlq': 0, 'http://sqs/poll-dlq': 4 });
    page = await startStatusPage({
      metrics,
      sqs,
      deadLetterQueues: { SubmitDlq: 'http://sqs/submit-dlq', PollDlq: 'http://sqs/poll-dlq', Gone: 'http://sqs/gone' },
      budgetPerSecond: 20,
    });
    expect(page.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const html = await get(page.url);
    expect(html.status).toBe(200);
    expect(html.type).toBe('text/html; charset=utf-8');
    expect(html.headers['content-security-policy']).toContain("default-src 'none'");
    expect(html.body).toMatch(/data-phase="SUCCEEDED">2</);
    expect(html.body).toMatch(/data-dlq="PollDlq">4</);
    expect(html.body).toMatch(/data-dlq="Gone">unreadable</);

    const json = await get(`${page.url}status.json`);
    expect(JSON.parse(json.body)).toMatchObject({
      jobs: { ended: 2 },
      databricks: { budgetPerSecond: 20 },
      dlqs: { current: [{ name: 'SubmitDlq', depth: 0 }, { name: 'PollDlq', depth: 4 }, { name: 'Gone' }] },
    });
  });

  it('answers only GET and HEAD, only for loopback host names, and 404 elsewhere', async () => {
    page = await startStatusPage({
      metrics: new EmfMetrics(),
      sqs: fakeSqs({}),
      deadLetterQueues: {},
      budgetPerSecond: 1,
    });
    const port = new URL(page.url).port;
    expect((await get(`${page.url}nope`)).status).toBe(404);
    expect((await get(page.url, {}, 'POST')).status).toBe(405);
    const head = await get(page.url, {}, 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
    expect((await get(page.url, { Host: `localhost:${port}` })).status).toBe(200);
    // A DNS-rebinding page's requests name its own host.
    expect((await get(page.url, { Host: `evil.example:${port}` })).status).toBe(421);
  });
});
