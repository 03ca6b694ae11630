/**
 * The benchmark's own Node 22 (Lambda's runtime; the project itself runs on Node 20) and the official Databricks
 * SDK for the reference handler, installed with npm into a folder of their own under the system's temp folder.
 * Neither is a project dependency: the benchmark brings them, the project's package.json never names them.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Exact versions, so every run measures the same runtime and the same SDK. */
export const NODE_VERSION = '22.23.3';
export const DATABRICKS_SDK = '@databricks/sdk-experimental';
export const DATABRICKS_SDK_VERSION = '0.17.0';

export const NODE22_DIR = join(tmpdir(), 'fdl-bench-node22');

export interface Node22 {
  /** The Node 22 binary. */
  node: string;
  /** The folder's node_modules, where the Databricks SDK resolves from. */
  nodeModules: string;
}

/** Written last, so a folder without it is an install that did not finish. */
const MARKER = 'installed.json';

const run = promisify(execFile);

/** Installs (once; later calls reuse the folder) Node 22 and the Databricks SDK, and returns where they are. */
export async function ensureNode22(dir = NODE22_DIR): Promise<Node22> {
  const node = join(dir, 'node_modules', '.bin', 'node');
  const nodeModules = join(dir, 'node_modules');
  const wanted = { node: NODE_VERSION, [DATABRICKS_SDK]: DATABRICKS_SDK_VERSION };
  if (isComplete(dir, wanted)) return { node, nodeModules };
  mkdirSync(dir, { recursive: true });
  // A package.json of its own, so npm installs here and not into the project above the temp folder.
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fdl-bench-node22', private: true }, null, 2));
  await run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--save-exact',
      `node@${NODE_VERSION}`,
      `${DATABRICKS_SDK}@${DATABRICKS_SDK_VERSION}`,
    ],
    { cwd: dir, maxBuffer: 16 * 1024 * 1024 },
  );
  const { stdout } = await run(node, ['--version']);
  if (stdout.trim() !== `v${NODE_VERSION}`) {
    throw new Error(`${node} reports ${stdout.trim()}, expected v${NODE_VERSION}`);
  }
  writeFileSync(join(dir, MARKER), JSON.stringify(wanted));
  return { node, nodeModules };
}

function isComplete(dir: string, wanted: Record<string, string>): boolean {
  const marker = join(dir, MARKER);
  if (!existsSync(marker) || !existsSync(join(dir, 'node_modules', '.bin', 'node'))) return false;
  try {
    return JSON.stringify(JSON.parse(readFileSync(marker, 'utf8'))) === JSON.stringify(wanted);
  } catch {
    return false;
  }
}
