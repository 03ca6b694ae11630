/**
 * The local IAM gateway evaluates policies with @cloud-copilot/iam-simulate (AGPL-3.0), a devDependency that must
 * never reach a function: each function is bundled exactly as its CDK asset is (infra/bundling/function-bundle.ts's
 * options, esbuild's metafile), and no input of any bundle may come from an AGPL package or from infra/local.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleOptions, FUNCTION_ENTRIES, PROJECT_ROOT } from '../../../infra/bundling/function-bundle.js';

const outdir = mkdtempSync(join(tmpdir(), 'fdl-agpl-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The package an input path belongs to (`node_modules/<name>` or `node_modules/@scope/name`), nearest last. */
function packageOf(input: string): string | undefined {
  const match = /^(?:.*\/)?node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input.replace(/\\/g, '/'));
  return match?.[1];
}

function packageDir(input: string): string {
  const normalized = input.replace(/\\/g, '/');
  const name = packageOf(normalized) ?? '';
  return join(PROJECT_ROOT, normalized.slice(0, normalized.lastIndexOf(`node_modules/${name}/`)), 'node_modules', name);
}

function licenseOf(dir: string): string {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return 'unknown';
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as { license?: unknown; licenses?: unknown };
  return JSON.stringify(pkg.license ?? pkg.licenses ?? 'unknown');
}

describe('function bundles', () => {
  it('hold no AGPL code and nothing from infra/local', async () => {
    const offending: string[] = [];
    let packages = 0;
    // The inputs are those of the deployed bundle; minifying and source maps (most of esbuild's time) change none.
    const built = await Promise.all(
      Object.entries(FUNCTION_ENTRIES).map(async ([name, entry]) => {
        const options = { ...bundleOptions(entry, join(outdir, name)), minify: false, sourcemap: false };
        return [name, await build({ ...options, write: false, metafile: true })] as const;
      }),
    );
    for (const [name, result] of built) {
      const inputs = Object.keys((result.metafile as Metafile).inputs);
      expect(inputs.length).toBeGreaterThan(0);
      const dirs = new Set(inputs.filter((input) => packageOf(input)).map(packageDir));
      packages += dirs.size;
      for (const input of inputs) {
        if (/(^|\/)infra\/local\//.test(input) || input.includes('@cloud-copilot/'))
          offending.push(`${name}: ${input}`);
      }
      for (const dir of dirs) {
        if (/AGPL/i.test(licenseOf(dir))) offending.push(`${name}: ${dirname(dir)} (${licenseOf(dir)})`);
      }
    }
    expect(packages).toBeGreaterThan(0);
    expect(offending).toEqual([]);
  }, 120_000);

  it('would notice the simulator if a function imported it', () => {
    const dir = packageDir('node_modules/@cloud-copilot/iam-simulate/dist/esm/index.js');
    expect(licenseOf(dir)).toMatch(/AGPL/);
  });
});
