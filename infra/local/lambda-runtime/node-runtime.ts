/**
 * The Node.js that runs a function locally as Lambda runs it: the runtime's Node major (nodejs22.x -> Node 22, from
 * the npm package `node`) and the official runtime interface client `aws-lambda-ric`, installed with npm into a
 * folder of their own under the system's temp folder, once, and reused by every later run.
 *
 * aws-lambda-ric is Apache-2.0 (its package.json and LICENSE). It is the runtime, not the function: it is never a
 * project dependency (the project's `npm ci` runs under Node 20, and ric requires Node >= 22) and never enters a
 * function bundle. Its install builds a native addon (curl and aws-lambda-cpp from the sources it ships, then
 * node-gyp), so the first install needs cmake, make and g++ and takes a few minutes on two cores.
 *
 * This is the one installer of a Node of our own: the benchmark's Node 22 (bench/node22.ts) uses it too.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/** The Node each Lambda runtime runs, pinned exactly so every run uses the same one. */
export const RUNTIME_NODE_VERSIONS: Readonly<Record<string, string>> = {
  'nodejs22.x': '22.23.3',
};

/** The runtime interface client, pinned. */
export const AWS_LAMBDA_RIC = 'aws-lambda-ric';
export const AWS_LAMBDA_RIC_VERSION = '4.0.2';

export interface NodeInstall {
  /** The folder holding package.json and node_modules. */
  dir: string;
  /** The Node binary itself (not a wrapper script), so its execPath is the binary. */
  node: string;
  /** The folder of that binary, for a PATH that finds the same node. */
  binDir: string;
  nodeModules: string;
}

export interface NodeRuntime extends NodeInstall {
  runtime: string;
  nodeVersion: string;
  /** aws-lambda-ric's entry script: run `node <ricEntry>` as Lambda runs /var/runtime/index.mjs. */
  ricEntry: string;
  /** aws-lambda-ric's folder, the analogue of LAMBDA_RUNTIME_DIR (/var/runtime). */
  ricDir: string;
}

export class UnknownRuntimeError extends Error {
  override readonly name = 'UnknownRuntimeError';
  constructor(readonly runtime: string) {
    super(
      `Unknown Lambda runtime '${runtime}': no Node version is pinned for it (known: ${Object.keys(RUNTIME_NODE_VERSIONS).join(', ')})`,
    );
  }
}

/** The pinned Node version of a Lambda runtime identifier such as `nodejs22.x`. */
export function nodeVersionFor(runtime: string): string {
  const version = RUNTIME_NODE_VERSIONS[runtime];
  if (!version) throw new UnknownRuntimeError(runtime);
  return version;
}

/** Installs (once) the runtime's Node and aws-lambda-ric, and returns where they are. */
export async function ensureNodeRuntime(runtime: string): Promise<NodeRuntime> {
  const nodeVersion = nodeVersionFor(runtime);
  const install = await ensureNodeInstall({
    nodeVersion,
    packages: { [AWS_LAMBDA_RIC]: AWS_LAMBDA_RIC_VERSION },
    // The name says what is inside, so a glance at the temp folder tells which is which.
    dir: join(tmpdir(), `fdl-lambda-${runtime}-node${nodeVersion}-ric${AWS_LAMBDA_RIC_VERSION}`),
  });
  const ricDir = join(install.nodeModules, AWS_LAMBDA_RIC);
  return { ...install, runtime, nodeVersion, ricDir, ricEntry: join(ricDir, 'index.mjs') };
}

export interface NodeInstallSpec {
  /** Exact version of the npm package `node`. */
  nodeVersion: string;
  /** Further packages, name -> exact version. */
  packages?: Readonly<Record<string, string>>;
  /** Where to install; default: a folder under tmpdir() named after what it holds. */
  dir?: string;
}

/** Written last, so a folder without it is an install that did not finish. */
const MARKER = 'installed.json';

const run = promisify(execFile);

/** One install at a time per folder within this process; other processes are handled by the rename below. */
const inFlight = new Map<string, Promise<NodeInstall>>();

/**
 * Installs Node `nodeVersion` and `packages` with npm into `dir` unless a complete install of exactly those is
 * already there. Safe when processes race: each installs into a private folder beside `dir` and renames it into
 * place (atomic on one file system); a loser finds the winner's complete install and drops its own.
 */
export function ensureNodeInstall(spec: NodeInstallSpec): Promise<NodeInstall> {
  const wanted: Record<string, string> = { node: spec.nodeVersion, ...spec.packages };
  const dir = spec.dir ?? join(tmpdir(), `fdl-node-${spec.nodeVersion}-${hashOf(wanted)}`);
  const pending = inFlight.get(dir);
  if (pending) return pending;
  const install = installInto(dir, wanted).finally(() => inFlight.delete(dir));
  inFlight.set(dir, install);
  return install;
}

function locate(dir: string): NodeInstall {
  const nodeModules = join(dir, 'node_modules');
  // The real binary: node_modules/.bin/node is a link to it, fine for a shell but not for a stable execPath.
  const node = join(nodeModules, 'node', 'bin', 'node');
  return { dir, node, binDir: dirname(node), nodeModules };
}

async function installInto(dir: string, wanted: Record<string, string>): Promise<NodeInstall> {
  if (isComplete(dir, wanted)) return locate(dir);
  const staging = `${dir}.installing-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    mkdirSync(staging, { recursive: true });
    // A package.json of its own, so npm installs here and not into a project above the temp folder.
    writeFileSync(join(staging, 'package.json'), JSON.stringify({ name: 'fdl-node-install', private: true }, null, 2));
    const specs = Object.entries(wanted).map(([name, version]) => `${name}@${version}`);
    await run('npm', ['install', '--no-audit', '--no-fund', '--save-exact', '--no-package-lock', ...specs], {
      cwd: staging,
      // npm run-script exports npm_config_* (a local prefix among them): the install must not inherit the caller's.
      env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_'))),
      maxBuffer: 64 * 1024 * 1024,
    });
    const installed = locate(staging);
    const { stdout } = await run(installed.node, ['--version']);
    if (stdout.trim() !== `v${wanted.node}`) {
      throw new Error(`${installed.node} reports ${stdout.trim()}, expected v${wanted.node}`);
    }
    // aws-lambda-ric's native client is built by its install scripts; npm only warns when they did not run.
    if (wanted[AWS_LAMBDA_RIC] && !existsSync(join(installed.nodeModules, AWS_LAMBDA_RIC, 'rapid-client.node'))) {
      throw new Error(
        `${AWS_LAMBDA_RIC}@${wanted[AWS_LAMBDA_RIC]} installed without its native client (rapid-client.node): its install scripts need cmake, make and g++`,
      );
    }
    writeFileSync(join(staging, MARKER), JSON.stringify(wanted));
    publish(staging, dir, wanted);
    return locate(dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Moves a finished install into place, replacing an unfinished or different one, unless another process won. */
function publish(staging: string, dir: string, wanted: Record<string, string>): void {
  if (existsSync(dir) && !isComplete(dir, wanted)) {
    // Out of the way first (a rename, so a racing reader never sees a half-deleted folder), then deleted.
    const stale = `${dir}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      renameSync(dir, stale);
      rmSync(stale, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  try {
    renameSync(staging, dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Another process renamed its install into place first: use it if it is what we want.
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && isComplete(dir, wanted)) return;
    throw error;
  }
}

function isComplete(dir: string, wanted: Record<string, string>): boolean {
  const marker = join(dir, MARKER);
  if (!existsSync(marker) || !existsSync(locate(dir).node)) return false;
  try {
    return JSON.stringify(JSON.parse(readFileSync(marker, 'utf8'))) === JSON.stringify(wanted);
  } catch {
    return false;
  }
}

function hashOf(wanted: Record<string, string>): string {
  return createHash('sha256').update(JSON.stringify(wanted)).digest('hex').slice(0, 12);
}
