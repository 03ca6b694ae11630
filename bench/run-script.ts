/**
 * Runs one benchmark part in a process of its own and returns the JSON object it prints as its last line. Each part
 * that starts a local stack needs its own process: the handlers read their configuration once per process, as a
 * Lambda container does.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));

export async function runScript<T>(script: string, timeoutMs = 240_000): Promise<T> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, [TSX, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  const last = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) {
    throw new Error(`${script} failed (exit ${code}):\n${stderr.slice(-2000)}${stdout.slice(-1000)}`);
  }
  return JSON.parse(last) as T;
}
