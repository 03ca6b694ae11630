/**
 * Runs one benchmark part in a process of its own and returns the JSON object it prints as its last line. Each part
 * starts a local stack of its own (and stops it), so no part sees another's jobs, counts or token caches. A part
 * still running after `timeoutMs` is killed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));

export async function runScript<T>(script: string, timeoutMs = 240_000): Promise<T> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const { code, stdout, stderr } = await run(process.execPath, [TSX, path], env, timeoutMs);
  const last = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) {
    throw new Error(`${script} failed (exit ${code}):\n${stderr.slice(-2000)}${stdout.slice(-1000)}`);
  }
  return JSON.parse(last) as T;
}

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
