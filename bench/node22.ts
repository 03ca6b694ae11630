/**
 * The benchmark's own Node 22 (Lambda's runtime; the project itself runs on Node 20) and the official Databricks
 * SDK for the reference handler, installed with npm into a folder of their own under the system's temp folder by
 * the local stack's installer (infra/local/lambda-runtime/node-runtime.ts). Neither is a project dependency: the
 * benchmark brings them, the project's package.json never names them.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNodeInstall, nodeVersionFor } from '../infra/local/lambda-runtime/node-runtime.js';

/** Exact versions, so every run measures the same runtime and the same SDK: the Node the functions' runtime runs. */
export const NODE_VERSION = nodeVersionFor('nodejs22.x');
export const DATABRICKS_SDK = '@databricks/sdk-experimental';
export const DATABRICKS_SDK_VERSION = '0.17.0';

export const NODE22_DIR = join(tmpdir(), 'fdl-bench-node22');

export interface Node22 {
  /** The Node 22 binary. */
  node: string;
  /** The folder's node_modules, where the Databricks SDK resolves from. */
  nodeModules: string;
}

/** Installs (once; later calls reuse the folder) Node 22 and the Databricks SDK, and returns where they are. */
export async function ensureNode22(dir = NODE22_DIR): Promise<Node22> {
  const { node, nodeModules } = await ensureNodeInstall({
    nodeVersion: NODE_VERSION,
    packages: { [DATABRICKS_SDK]: DATABRICKS_SDK_VERSION },
    dir,
  });
  return { node, nodeModules };
}
