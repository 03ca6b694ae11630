/**
 * Runs one benchmark part in a process of its own and returns the JSON object it prints as its last line. Each part
 * starts a local stack of its own (and stops it), so no part sees another's jobs, counts or token caches. A part
 * still running after `timeoutMs` is killed.
 */
import { fileURLToPath } from 'node:url';
import { runProcess } from '../infra/local/run-process.js';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));

export async function runScript<T>(script: string, timeoutMs = 240_000): Promise<T> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const { code, stdout, stderr } = await runProcess(process.execPath, [TSX, path], {
    cwd: PROJECT_ROOT,
    env,
    timeoutMs,
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) {
    throw new Error(`${script} failed (exit ${code}):\n${stderr.slice(-2000)}${stdout.slice(-1000)}`);
  }
  return JSON.parse(last) as T;
}
