/**
 * Synthesizes the CDK app (infra/define-app.ts, what `cdk synth` runs) with the local context into a cdk.out folder
 * of its own, bundles and all, and reuses it while nothing it is built from has changed: the folder is keyed by a
 * hash of the context, the stack's and functions' sources and the lockfile. Safe when several processes (test
 * workers) ask at once: each synthesizes into a private folder and renames it into place; the first rename wins.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { LOCAL_CONTEXT } from './local-context.js';

const PROJECT_ROOT = new URL('../../../', import.meta.url).pathname;
/** What the template and the bundles are built from (infra/local is the local stack itself: not part of the app). */
const SOURCES = ['infra', 'functions', 'shared', 'package-lock.json', 'cdk.json', 'tsconfig.json'];
const EXCLUDED = [join('infra', 'local')];
const CACHE_ROOT = join(tmpdir(), 'fdl-local-cdk-out');

export interface SynthesizedApp {
  /** The cdk.out folder. */
  cdkOut: string;
  stackName: string;
  /** Whether this call synthesized (false: reused an earlier synth). */
  synthesized: boolean;
}

/**
 * The local stack's cdk.out for `context` (default LOCAL_CONTEXT), synthesized if not cached. The CDK app is loaded
 * only then: importing aws-cdk-lib and cdk-nag takes a second and a half, which every local stack would otherwise pay.
 */
export async function synthLocalTemplate(
  context: Readonly<Record<string, unknown>> = LOCAL_CONTEXT,
): Promise<SynthesizedApp> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: object };
  const fullContext = { ...cdkJson.context, ...context };
  const key = sourceHash(fullContext);
  const cdkOut = join(CACHE_ROOT, key);
  const marker = join(cdkOut, 'local-synth.json');
  if (existsSync(marker)) {
    const { stackName } = JSON.parse(readFileSync(marker, 'utf8')) as { stackName: string };
    return { cdkOut, stackName, synthesized: false };
  }
  mkdirSync(CACHE_ROOT, { recursive: true });
  const staging = join(CACHE_ROOT, `${key}.${process.pid}.${Date.now()}`);
  // No CDK metadata resource or version reporting: nothing AWS-side reads them, and they would change the template.
  const [{ App }, { defineApp }] = await Promise.all([import('aws-cdk-lib'), import('../../define-app.js')]);
  const app = new App({ outdir: staging, context: fullContext, analyticsReporting: false });
  const stackName = defineApp(app);
  app.synth();
  const written = readFileSync(join(staging, `${stackName}.template.json`));
  if (written.length === 0) throw new Error(`synth wrote an empty template in ${staging}`);
  // The marker goes in last: a folder without it is a synth that did not finish.
  const markerBody = JSON.stringify({ stackName, context: fullContext });
  writeFileSync(join(staging, 'local-synth.json'), markerBody);
  try {
    renameSync(staging, cdkOut);
  } catch (error) {
    // Another process renamed its synth into place first: use it, drop ours.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(marker)) throw error;
  }
  pruneOldSynths(key);
  return { cdkOut, stackName, synthesized: true };
}

/** Earlier synths (of sources since changed) are dropped after a day, so the cache does not grow without bound. */
function pruneOldSynths(keep: string): void {
  const dayAgo = Date.now() - 86_400_000;
  for (const name of readdirSync(CACHE_ROOT)) {
    const path = join(CACHE_ROOT, name);
    if (name !== keep && statSync(path).mtimeMs < dayAgo) rmSync(path, { recursive: true, force: true });
  }
}

/** A hash of the context and of every source file the app is built from (paths and contents). */
function sourceHash(context: object): string {
  const hash = createHash('sha256').update(JSON.stringify(context));
  for (const source of SOURCES) {
    for (const file of filesUnder(join(PROJECT_ROOT, source))) {
      hash.update(relative(PROJECT_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex').slice(0, 24);
}

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  if (EXCLUDED.some((excluded) => relative(PROJECT_ROOT, path) === excluded)) return [];
  return readdirSync(path)
    .sort()
    .flatMap((name) => (name === 'node_modules' ? [] : filesUnder(join(path, name))));
}
