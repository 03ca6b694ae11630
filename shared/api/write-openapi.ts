/**
 * Regenerates the committed openapi.json at the repository root from the zod schemas:
 *
 *   npx tsx shared/api/write-openapi.ts
 *
 * The file is formatted by the project's Biome, so `npm run lint` accepts it as written.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from './openapi-document.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const OPENAPI_JSON_PATH = fileURLToPath(new URL('../../openapi.json', import.meta.url));

/** The document without `servers`, as Biome formats it. */
export function renderOpenApiJson(): string {
  const biome = fileURLToPath(new URL('../../node_modules/@biomejs/biome/bin/biome', import.meta.url));
  return execFileSync(process.execPath, [biome, 'format', '--stdin-file-path=openapi.json'], {
    cwd: root,
    input: `${JSON.stringify(openApiDocument(), null, 2)}\n`,
    encoding: 'utf8',
  });
}

export function writeOpenApi(path: string = OPENAPI_JSON_PATH): void {
  writeFileSync(path, renderOpenApiJson());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeOpenApi();
  console.log(`Wrote ${OPENAPI_JSON_PATH}`);
}
