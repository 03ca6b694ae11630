/**
 * Runs in a fresh Node 22 process, as a Lambda execution environment would: imports one bundle, invokes its handler
 * once with the first event (the cold invocation), then once per warm event, in sequence. Its answers are JSON lines
 * on stdout, each one object with one key (the handlers' own log lines come between them):
 * - `{"benchResult": {...}}`, last: startupMs (Node's own boot, up to this script), importMs (`await import(entry)`,
 *   the function's init), firstInvokeMs and warmMs[] (handler call to settled result), warmCpuMs[] (the process's
 *   CPU time, user + system, per warm invocation: a busy machine disturbs it far less than wall time), maxRssMb
 *   (peak resident set after the first invocation) and finalMaxRssMb (after the last);
 * - with `blockSize` in the spec, the warm events are run a block at a time, when the parent writes a line `next` to
 *   stdin, so it can interleave several children on a busy machine: `{"benchReady": {...}}` after the first
 *   invocation, then `{"benchBlock": {warmMs, warmCpuMs}}` per block; closing stdin ends the run.
 * A failed invocation (a throw, a batchItemFailures entry, an HTTP status of 400 or more) ends the process with
 * exit code 2 and the result on stderr, so the benchmark never times a failure as if it were work.
 *
 * Usage: node invoke-bundle.mjs <spec.json>, spec = {entry, functionName, timeoutMs, memoryMb, first, warm?, blockSize?}.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { createLambdaContext } from './lambda-context.mjs';

const startupMs = performance.now();
const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const warmEvents = spec.warm ?? [];
const contextFor = () =>
  createLambdaContext({
    functionName: spec.functionName,
    timeoutMs: spec.timeoutMs,
    memoryMb: spec.memoryMb,
    region: process.env.AWS_REGION ?? 'us-east-1',
  });
const maxRssMb = () => process.resourceUsage().maxRSS / 1024;
const answer = (key, value) =>
  new Promise((resolve) => process.stdout.write(`${JSON.stringify({ [key]: value })}\n`, resolve));

function failure(result) {
  if (result === null || typeof result !== 'object') return undefined;
  if (Array.isArray(result.batchItemFailures) && result.batchItemFailures.length > 0) return 'batchItemFailures';
  if (typeof result.statusCode === 'number' && result.statusCode >= 400) return `statusCode ${result.statusCode}`;
  return undefined;
}

async function invoke(handler, event, label) {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let result;
  try {
    result = await handler(event, contextFor());
  } catch (error) {
    process.stderr.write(`${label} invocation threw: ${error?.stack ?? error}\n`);
    process.exit(2);
  }
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const problem = failure(result);
  if (problem) {
    process.stderr.write(`${label} invocation failed (${problem}): ${JSON.stringify(result)}\n`);
    process.exit(2);
  }
  return { elapsed, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const importStarted = performance.now();
const { handler } = await import(pathToFileURL(spec.entry).href);
const importMs = performance.now() - importStarted;
if (typeof handler !== 'function') {
  process.stderr.write(`${spec.entry} exports no handler function\n`);
  process.exit(2);
}

const firstInvokeMs = (await invoke(handler, spec.first, 'first')).elapsed;
const firstMaxRssMb = maxRssMb();
const warmMs = [];
const warmCpuMs = [];
let done = 0;

async function runWarm(count) {
  const block = { warmMs: [], warmCpuMs: [] };
  for (const event of warmEvents.slice(done, done + count)) {
    const { elapsed, cpuMs } = await invoke(handler, event, `warm #${done}`);
    done += 1;
    block.warmMs.push(elapsed);
    block.warmCpuMs.push(cpuMs);
  }
  warmMs.push(...block.warmMs);
  warmCpuMs.push(...block.warmCpuMs);
  return block;
}

if (spec.blockSize) {
  await answer('benchReady', { importMs, firstInvokeMs });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== 'next') break;
    await answer('benchBlock', await runWarm(spec.blockSize));
  }
} else {
  await runWarm(warmEvents.length);
}

await answer('benchResult', {
  startupMs,
  importMs,
  firstInvokeMs,
  warmMs,
  warmCpuMs,
  maxRssMb: firstMaxRssMb,
  finalMaxRssMb: maxRssMb(),
});
process.exit(0);
