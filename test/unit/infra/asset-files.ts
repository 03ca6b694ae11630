/**
 * A synthesized function asset read back from its files: which scripts a cold start loads (the entry and every chunk
 * it imports statically, transitively) and which only an import() reaches, and for each script the source files it
 * was built from (its linked source map's `sources`), so a test can say which packages a cold start parses.
 * esbuild parses the scripts (a regex would also match `import "x"` inside the SDK's error messages); packages are
 * left external, so a script that imports one shows it instead of resolving it from this repository's node_modules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

export interface AssetScript {
  /** Relative to the asset folder. */
  path: string;
  initial: boolean;
  /** Scripts of the asset it imports statically, relative to the asset folder. */
  staticImports: string[];
  /** Bare specifiers (packages or Node builtins) it imports statically: they must resolve in the Lambda runtime. */
  bareImports: string[];
  sources: string[];
}

export async function readAsset(dir: string, entry = 'index.mjs'): Promise<AssetScript[]> {
  const { metafile } = await build({
    entryPoints: [join(dir, entry)],
    absWorkingDir: dir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    write: false,
    outdir: join(dir, 'reread'),
    metafile: true,
    logLevel: 'silent',
  });
  const scripts = new Map<string, AssetScript>();
  for (const [path, input] of Object.entries(metafile.inputs)) {
    const statics = input.imports.filter((i) => i.kind === 'import-statement');
    const map = join(dir, `${path}.map`);
    scripts.set(path, {
      path,
      initial: false,
      staticImports: statics.filter((i) => !i.external).map((i) => i.path),
      bareImports: statics.filter((i) => i.external).map((i) => i.path),
      sources: existsSync(map) ? (JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] }).sources : [],
    });
  }
  const visit = (path: string) => {
    const script = scripts.get(path);
    if (!script || script.initial) return;
    script.initial = true;
    for (const imported of script.staticImports) visit(imported);
  };
  visit(entry);
  return [...scripts.values()];
}

/** Whether any of the scripts was built from the npm package `name`. */
export const includesPackage = (scripts: AssetScript[], name: string): boolean =>
  scripts.some((script) => script.sources.some((source) => source.includes(`node_modules/${name}/`)));
