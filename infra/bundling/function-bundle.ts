/**
 * How each function is bundled, in one place: the CDK stack (infra/constructs/job-function.ts) and the benchmark
 * (bench/) build exactly the same files. Each function is its own esbuild bundle: ESM, minified, with code splitting
 * so that what a function imports dynamically (the Kubernetes client, STS, Secrets Manager, jose) lands in chunks
 * of its own that Lambda loads only when a job needs them, not at every cold start.
 */
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, buildSync, type Metafile } from 'esbuild';

/** The repository root: entries are resolved from here. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The suite's functions and their handler files, relative to the repository root. */
export const FUNCTION_ENTRIES = {
  api: 'functions/api/handler.ts',
  submit: 'functions/submit/handler.ts',
  poll: 'functions/poll/handler.ts',
  cancel: 'functions/cancel/handler.ts',
  sweep: 'functions/sweep/handler.ts',
} as const;

export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/** The file Lambda loads (`index.handler`); chunks sit beside it in `chunks/`. */
export const ENTRY_FILE = 'index.mjs';

export interface BundleFile {
  /** Relative to the bundle's folder. */
  path: string;
  bytes: number;
}

export interface FunctionBundle {
  outdir: string;
  /** Absolute path of the entry file. */
  entryFile: string;
  /** Every JavaScript file written (source maps excluded). */
  files: BundleFile[];
  /** Bytes a cold start loads: the entry and every chunk it imports statically, transitively. */
  initialBytes: number;
  /** Bytes in chunks loaded only by a dynamic import, on first use. */
  lazyBytes: number;
  /** Files of the initial load (relative paths). */
  initialFiles: string[];
}

/** The esbuild options for one function. Exported for tests; build with bundleFunction / bundleFunctionSync. */
export function bundleOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: { index: `${PROJECT_ROOT}${entry}` },
    outdir,
    // The metafile's paths are relative to this, and describeBundle reads them so: whatever the caller's cwd.
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    splitting: true,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    mainFields: ['module', 'main'],
    // CommonJS dependencies bundled into ESM still call require(); give every output file one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    minify: true,
    // Class and function names survive minification: errors name themselves after their class (shared/errors.ts),
    // and the logs, messages and DLQ reasons must say JobTooLargeError, not whatever the minifier renamed it to.
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'warning',
    // The AWS SDK is bundled (pinned by package-lock.json) rather than taken from the runtime, so what runs is what
    // was tested.
    external: [],
  };
}

export async function bundleFunction(entry: string, outdir: string): Promise<FunctionBundle> {
  const result = await build(bundleOptions(entry, outdir));
  return describeBundle(outdir, result.metafile as Metafile);
}

/** Synchronous, for CDK's local bundling hook (ILocalBundling.tryBundle is synchronous). */
export function bundleFunctionSync(entry: string, outdir: string): FunctionBundle {
  const result = buildSync(bundleOptions(entry, outdir));
  return describeBundle(outdir, result.metafile as Metafile);
}

/** Reads sizes and the static import graph from esbuild's metafile. */
export function describeBundle(outdir: string, metafile: Metafile): FunctionBundle {
  const root = fileURLToPath(new URL(`file://${outdir.endsWith('/') ? outdir : `${outdir}/`}`));
  const relative = (path: string) => {
    const absolute = fileURLToPath(new URL(path, `file://${PROJECT_ROOT}`));
    return absolute.startsWith(root) ? absolute.slice(root.length) : absolute;
  };
  const outputs = new Map<string, { bytes: number; imports: { path: string; kind: string }[] }>();
  for (const [path, output] of Object.entries(metafile.outputs)) {
    if (path.endsWith('.map')) continue;
    outputs.set(relative(path), {
      bytes: output.bytes,
      imports: output.imports.filter((i) => !i.external).map((i) => ({ path: relative(i.path), kind: i.kind })),
    });
  }
  const initial = new Set<string>();
  const visit = (path: string) => {
    if (initial.has(path)) return;
    initial.add(path);
    for (const imported of outputs.get(path)?.imports ?? []) {
      if (imported.kind === 'import-statement') visit(imported.path);
    }
  };
  visit(ENTRY_FILE);
  const files = [...outputs].map(([path, { bytes }]) => ({ path, bytes }));
  const initialBytes = files.filter((f) => initial.has(f.path)).reduce((sum, f) => sum + f.bytes, 0);
  const totalBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  return {
    outdir: root,
    entryFile: `${root}${ENTRY_FILE}`,
    files,
    initialBytes,
    lazyBytes: totalBytes - initialBytes,
    initialFiles: [...initial],
  };
}
