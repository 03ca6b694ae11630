/**
 * describeBundle() on a tiny build: what a cold start loads (the entry and the chunks it imports statically) versus
 * what only an import() reaches, with sizes that are the files' own.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction, type FunctionBundle } from '../../../infra/bundling/function-bundle.js';

let outdir: string;
let bundle: FunctionBundle;

const sizeOf = (path: string) => statSync(join(outdir, path)).size;
const scripts = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((path) => path.endsWith('.mjs'));

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'function-bundle-'));
  bundle = await bundleFunction('test/fixtures/bundle/handler.ts', outdir);
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('Function: describeBundle()', () => {
  it('lists every script written, with its size on disk, and none of the source maps', () => {
    // Assess
    expect(bundle.files.map((f) => f.path).sort()).toEqual(scripts(outdir).sort());
    for (const file of bundle.files) expect(file.bytes, file.path).toBe(sizeOf(file.path));
    expect(bundle.entryFile).toBe(join(outdir, 'index.mjs'));
  });

  it('counts the entry and the chunk it imports statically as initial, the dynamically imported chunk as lazy', () => {
    // Prepare
    const [shared, ...otherInitial] = bundle.initialFiles.filter((path) => path !== 'index.mjs');
    const lazy = bundle.files.map((f) => f.path).filter((path) => !bundle.initialFiles.includes(path));

    // Assess
    expect(bundle.initialFiles).toContain('index.mjs');
    expect(shared).toMatch(/^chunks\/chunk-\w+\.mjs$/);
    expect(otherInitial).toEqual([]);
    expect(lazy).toEqual([expect.stringMatching(/^chunks\/lazy-\w+\.mjs$/)]);
    expect(bundle.initialBytes).toBe(sizeOf('index.mjs') + sizeOf(shared ?? ''));
    expect(bundle.lazyBytes).toBe(sizeOf(lazy[0] ?? ''));
  });

  it('builds a bundle that runs, lazy chunk included', async () => {
    // Act
    const { handler } = (await import(pathToFileURL(bundle.entryFile).href)) as {
      handler: (name: string) => Promise<string>;
    };

    // Assess
    await expect(handler('lambda')).resolves.toBe('HELLO LAMBDA! (hello again)');
  });
});
