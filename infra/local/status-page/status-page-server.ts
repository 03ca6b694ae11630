/**
 * The local status page's HTTP server, on 127.0.0.1 only: `GET /` is the page, `GET /status.json` the same numbers
 * as JSON. It samples the DLQs' depths every bucket (and on each request) into a fixed history; the metrics come
 * from the collector the stack feeds. Read-only, and it answers only requests addressed to a loopback name (a DNS
 * rebinding page elsewhere cannot read it through the browser).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DlqHistory, readDlqDepths } from './dlq-depths.js';
import type { EmfMetrics } from './emf-metrics.js';
import { renderStatusPage } from './status-page-html.js';
import { statusView } from './status-view.js';

const HOST = '127.0.0.1';
const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost']);

export interface StatusPageOptions {
  metrics: EmfMetrics;
  /** Operator's SQS client (reads queue attributes). */
  sqs: SQSClient;
  /** DLQ name -> URL. */
  deadLetterQueues: Readonly<Record<string, string>>;
  /** WORKSPACE_API_BUDGET_RPS as the functions run with it. */
  budgetPerSecond: number | undefined;
  /** 0 (default) picks a free port. */
  port?: number;
  /** The page reloads itself this often (default 5 s). */
  refreshSeconds?: number;
}

export interface StatusPage {
  url: string;
  close(): Promise<void>;
}

export async function startStatusPage(options: StatusPageOptions): Promise<StatusPage> {
  const { metrics } = options;
  const history = new DlqHistory(metrics.bucketCount, metrics.bucketMs);
  // One read at a time: a burst of requests shares the read in flight instead of piling up SQS calls.
  let sampling: Promise<void> | undefined;
  const sample = (): Promise<void> => {
    sampling ??= readDlqDepths(options.sqs, options.deadLetterQueues)
      .then((depths) => history.add({ atMs: Date.now(), depths }))
      .finally(() => {
        sampling = undefined;
      });
    return sampling;
  };
  await sample();

  const view = () =>
    statusView({ metrics, budgetPerSecond: options.budgetPerSecond, dlqHistory: history.all() }, Date.now());
  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'status page error\n');
      else response.destroy();
    });
  });
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '');
    if (!LOOPBACK_NAMES.has(host)) return send(response, 421, 'text/plain; charset=utf-8', 'not a loopback host\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/') {
      await sample();
      const html = renderStatusPage(view(), { refreshSeconds: options.refreshSeconds ?? 5 });
      return send(response, 200, 'text/html; charset=utf-8', html);
    }
    if (path === '/status.json') {
      await sample();
      return send(response, 200, 'application/json', `${JSON.stringify(view())}\n`);
    }
    return send(response, 404, 'text/plain; charset=utf-8', 'not found: try / or /status.json\n');
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const timer = setInterval(() => void sample().catch(() => undefined), metrics.bucketMs);
  timer.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${HOST}:${port}/`,
    close: async () => {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    // Nothing to load, nothing to run: inline styles only.
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    'Content-Length': Buffer.byteLength(body),
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
