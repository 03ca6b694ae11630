/**
 * What the benchmark runs: the five functions, the reference poll handler on the official Databricks SDK and the
 * floor, each bundled with the very esbuild options the stack deploys (infra/bundling/function-bundle.ts). The
 * reference only adds where the SDK is installed (nodePaths), since the SDK is not a project dependency.
 */
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import {
  bundleFunction,
  bundleOptions,
  describeBundle,
  FUNCTION_ENTRIES,
  type FunctionBundle,
  type FunctionName,
} from '../infra/bundling/function-bundle.js';

/** Relative to the repository root, as bundleOptions wants its entries. */
export const REFERENCE_ENTRY = 'bench/reference/poll-handler.mjs';
export const FLOOR_ENTRY = 'bench/floor/poll-handler.ts';

export type BenchBundles = Record<FunctionName, FunctionBundle> & { reference: FunctionBundle; floor: FunctionBundle };

/** Bundles everything into `dir` (one folder per subject); `sdkNodeModules` is where the Databricks SDK is. */
export async function bundleAll(dir: string, sdkNodeModules: string): Promise<BenchBundles> {
  const names = Object.keys(FUNCTION_ENTRIES) as FunctionName[];
  // All at once: esbuild interleaves them, about twice as fast as one after another on two cores.
  const [reference, floor, ...functions] = await Promise.all([
    bundleReference(join(dir, 'reference'), sdkNodeModules),
    bundleFunction(FLOOR_ENTRY, join(dir, 'floor')),
    ...names.map((name) => bundleFunction(FUNCTION_ENTRIES[name], join(dir, name))),
  ]);
  const byName = Object.fromEntries(names.map((name, index) => [name, functions[index]])) as Record<
    FunctionName,
    FunctionBundle
  >;
  return { ...byName, reference, floor };
}

export async function bundleReference(outdir: string, sdkNodeModules: string): Promise<FunctionBundle> {
  const result = await build({ ...bundleOptions(REFERENCE_ENTRY, outdir), nodePaths: [sdkNodeModules] });
  return describeBundle(outdir, result.metafile as Metafile);
}
