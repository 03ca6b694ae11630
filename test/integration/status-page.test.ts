/**
 * The local status page in a real browser: jobs run to their end on the local stack, the functions' EMF lines are
 * collected, and headless Chromium (Debian's `chromium`) loads the page: its DOM shows the real numbers (jobs ended
 * per phase as the jobs ended, Databricks calls, empty DLQs) and its screenshot is a PNG of the requested size with
 * something drawn on it. Skipped, saying so, only when no Chromium binary is found (CI installs it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../../infra/local/run-process.js';
import { startStackStatusPage } from '../../infra/local/status-page/stack-status-page.js';
import type { StatusPage } from '../../infra/local/status-page/status-page-server.js';
import { statusView } from '../../infra/local/status-page/status-view.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { jobRequest, NAMESPACE, useTestStack, waitFor, waitForTerminal } from './support/test-stack.js';

const CHROMIUM = findChromium();
const SKIP_REASON =
  'no chromium binary (CHROMIUM_BIN, chromium, chromium-browser, google-chrome); CI installs Debian chromium';
if (!CHROMIUM) console.warn(`status-page: the Chromium test is skipped: ${SKIP_REASON}`);

const FAILING_RUN = 'status-page-fails';
const SUCCEEDING = ['status-page-1', 'status-page-2', 'status-page-3'];
const SIZE = { width: 1000, height: 1400 };

describe.skipIf(!CHROMIUM)(`the local status page in headless Chromium (skipped if ${SKIP_REASON})`, () => {
  // Inside the suite: no stack is started when the suite is skipped.
  const t = useTestStack({
    databricks: {
      timing: { pendingMs: 150, runningMs: 400, terminatingMs: 50 },
      outcome: (body) => ({ resultState: body.run_name === FAILING_RUN ? 'FAILED' : 'SUCCESS' }),
    },
    // WorkspaceCalls, for the calls per workspace (a listed difference from the template).
    metricsWorkspaceDimension: true,
    // The functions' lines are collected whatever is printed: keep the test's output quiet.
    onFunctionLog: () => undefined,
  });
  let page: StatusPage;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'status-page-'));
    for (const executionId of [...SUCCEEDING, FAILING_RUN]) await t.api.submit(jobRequest(executionId));
    const ended = await Promise.all(
      [...SUCCEEDING, FAILING_RUN].map((id) => waitForTerminal(t.api, jobIdFor(NAMESPACE, id))),
    );
    expect(ended.map((job) => job.phase)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'FAILED']);
    // A job's end is written before its EMF line is flushed (at the end of the invocation): wait for the lines.
    const view = await waitFor(
      async () => statusView({ metrics: t.stack.metrics, budgetPerSecond: undefined, dlqHistory: [] }),
      (v) => v.jobs.ended >= ended.length,
      20_000,
    );
    expect(view.jobs.ended, 'JobsEnded from the functions\u2019 EMF lines (do they print any?)').toBe(ended.length);
    page = await startStackStatusPage(t.stack);
  }, 60_000);

  afterAll(async () => {
    await page?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('renders the real numbers: jobs ended per phase, Databricks calls, the budget, empty DLQs', async () => {
    const dom = await chromium(['--dump-dom', page.url]);
    const text = (pattern: RegExp) => pattern.exec(dom)?.[1];

    expect(text(/data-metric="JobsEnded" data-phase="SUCCEEDED">(\d+)</)).toBe(String(SUCCEEDING.length));
    expect(text(/data-metric="JobsEnded" data-phase="FAILED">(\d+)</)).toBe('1');
    expect(text(/id="jobs-accepted" data-total="(\d+)"/)).toBe('4');
    expect(Number(text(/id="databricks-calls" data-total="(\d+)"/))).toBeGreaterThan(0);
    expect(text(/data-budget="(\d+)"/)).toBe(t.stack.functionEnvironment('poll').WORKSPACE_API_BUDGET_RPS);

    // Calls per workspace: the emulator's host when WorkspaceCalls is emitted, all workspaces together otherwise.
    const rows = [...dom.matchAll(/<tr data-workspace="([^"]+)">.*?data-calls="(\d+)"/g)];
    const host = new URL(t.stack.databricks.url).host;
    expect(rows.map(([, workspace]) => workspace)).toEqual([
      dom.includes('WorkspaceCalls per') ? host : 'all workspaces',
    ]);
    expect(Number(rows[0]?.[2])).toBeGreaterThan(0);

    // Every DLQ the template defines, each empty.
    const dlqs = [...dom.matchAll(/data-dlq="([^"]+)">([^<]+)</g)].map(([, name, depth]) => [name, depth]);
    expect(dlqs.map(([name]) => name).sort()).toEqual(Object.keys(t.stack.deadLetterQueues).sort());
    expect(dlqs.length).toBe(3);
    expect(dlqs.every(([, depth]) => depth === '0')).toBe(true);
    expect(text(/id="dlq-messages" data-total="([^"]+)"/)).toBe('0');

    // Fresh: updated just now, and the last metric line came in after the stack started.
    const updated = Date.parse(text(/<time id="updated" datetime="([^"]+)"/) ?? '');
    expect(Date.now() - updated).toBeLessThan(60_000);
    expect(text(/<time id="last-metric" datetime="([^"]+)"/)).toBeDefined();
  }, 60_000);

  it('takes a screenshot: a PNG of the requested size with the page drawn on it', async () => {
    const file = join(scratch, 'status.png');
    await chromium([`--screenshot=${file}`, `--window-size=${SIZE.width},${SIZE.height}`, page.url]);
    const png = decodePng(readFileSync(file));
    expect({ width: png.width, height: png.height }).toEqual(SIZE);
    // A blank render has one colour; text, tiles and the charts' phase and workspace colours give many.
    expect(png.colours.size).toBeGreaterThan(16);
    // The SUCCEEDED green (#2e7d32) is on the page: the columns, the legend and the DLQ tile's good news.
    expect(png.colours.has(0x2e7d32)).toBe(true);
  }, 60_000);
});

async function chromium(args: string[]): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'status-page-chromium-'));
  try {
    const ran = await runProcess(
      CHROMIUM as string,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        '--no-first-run',
        '--disable-dev-shm-usage',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '', HOME: profile }, timeoutMs: 45_000 },
    );
    if (ran.code !== 0) throw new Error(`chromium exited ${ran.code}: ${ran.stderr.slice(-2000)}`);
    return ran.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

function findChromium(): string | undefined {
  const candidates = [
    process.env.CHROMIUM_BIN,
    'chromium',
    'chromium-browser',
    'google-chrome',
    'google-chrome-stable',
  ];
  return candidates.find(
    (command): command is string =>
      !!command && spawnSync(command, ['--version'], { stdio: 'ignore', timeout: 20_000 }).status === 0,
  );
}

/** Width, height and every distinct RGB colour of an 8-bit, non-interlaced RGB or RGBA PNG. */
function decodePng(data: Buffer): { width: number; height: number; colours: Set<number> } {
  expect(data.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let offset = 8;
  let header: { width: number; height: number; bitDepth: number; colourType: number; interlace: number } | undefined;
  const idat: Buffer[] = [];
  while (offset < data.length) {
    const length = data.readUInt32BE(offset);
    const type = data.toString('latin1', offset + 4, offset + 8);
    const body = data.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      header = {
        width: body.readUInt32BE(0),
        height: body.readUInt32BE(4),
        bitDepth: body[8] ?? 0,
        colourType: body[9] ?? 0,
        interlace: body[12] ?? 0,
      };
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  if (!header) throw new Error('no IHDR');
  const { width, height, bitDepth, colourType, interlace } = header;
  if (bitDepth !== 8 || interlace !== 0 || (colourType !== 2 && colourType !== 6)) {
    throw new Error(`unexpected PNG format: depth ${bitDepth}, colour type ${colourType}, interlace ${interlace}`);
  }
  const bpp = colourType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  expect(raw.length).toBe(height * (stride + 1));
  const colours = new Set<number>();
  let previous = Buffer.alloc(stride);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)];
    const row = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i += 1) {
      const left = i >= bpp ? (row[i - bpp] ?? 0) : 0;
      const up = previous[i] ?? 0;
      const upLeft = i >= bpp ? (previous[i - bpp] ?? 0) : 0;
      const predictor =
        filter === 0
          ? 0
          : filter === 1
            ? left
            : filter === 2
              ? up
              : filter === 3
                ? (left + up) >> 1
                : paeth(left, up, upLeft);
      row[i] = ((row[i] ?? 0) + predictor) & 0xff;
    }
    for (let x = 0; x < width; x += 1) {
      const p = x * bpp;
      colours.add(((row[p] ?? 0) << 16) | ((row[p + 1] ?? 0) << 8) | (row[p + 2] ?? 0));
    }
    previous = row;
  }
  return { width, height, colours };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}
