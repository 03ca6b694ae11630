/**
 * Token files, read for real in a temporary directory: only regular files of at most 16 KiB are read; a task's path
 * must resolve inside OIDC_TOKEN_FILE_DIRS, and every refusal of a task's path reads the same.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_TOKEN_FILE_MAX_BYTES,
  readTokenFile,
  resolveTaskTokenFile,
  TokenFileError,
  taskTokenFileProblem,
} from '../../../shared/auth/token-file.js';
import { AuthConfigError } from '../../../shared/errors.js';

const UNIFORM =
  'task databricksOidcTokenFile is not a token file this connector may read: it must name a regular file of at ' +
  'most 16384 bytes inside one of OIDC_TOKEN_FILE_DIRS';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

// realpath: the expected resolved paths must not depend on whether tmpdir() is itself a symlink.
const root = realpathSync(mkdtempSync(join(tmpdir(), 'token-file-')));
const allowed = join(root, 'allowed');
const outside = join(root, 'outside');
const sibling = join(root, 'allowed-evil');
const dirs = [allowed];
let socketServer: Server;

beforeAll(async () => {
  for (const dir of [allowed, outside, sibling, join(allowed, 'nested')]) mkdirSync(dir);
  writeFileSync(join(allowed, 'token'), TOKEN);
  writeFileSync(join(allowed, 'nested', 'token'), TOKEN);
  writeFileSync(join(outside, 'token'), TOKEN);
  writeFileSync(join(sibling, 'token'), TOKEN);
  writeFileSync(join(allowed, 'big'), 'x'.repeat(17 * 1024));
  writeFileSync(join(allowed, 'exact'), 'x'.repeat(DEFAULT_TOKEN_FILE_MAX_BYTES));
  symlinkSync(join(outside, 'token'), join(allowed, 'escape'));
  symlinkSync(join(allowed, 'nested', 'token'), join(allowed, 'inner-link'));
  symlinkSync('/dev/zero', join(allowed, 'zero'));
  execFileSync('mkfifo', [join(allowed, 'fifo')]);
  mkdirSync(join(allowed, 'a-directory'));
  // The kubelet's projected token: token -> ..data/token.
  mkdirSync(join(outside, '..data'));
  writeFileSync(join(outside, '..data', 'token'), TOKEN);
  symlinkSync('..data/token', join(outside, 'projected'));
  symlinkSync(allowed, join(root, 'allowed-link'));
  socketServer = createServer();
  await new Promise<void>((resolve) => socketServer.listen(join(allowed, 'socket'), resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => socketServer.close(() => resolve()));
  rmSync(root, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal');
}

describe('Function: readTokenFile()', () => {
  it('reads a regular file', async () => {
    await expect(readTokenFile(join(allowed, 'token'))).resolves.toBe(TOKEN);
  });

  it('reads a file of exactly the limit', async () => {
    await expect(readTokenFile(join(allowed, 'exact'))).resolves.toHaveLength(DEFAULT_TOKEN_FILE_MAX_BYTES);
  });

  it("follows an operator path's symlinks (the kubelet's ..data/token)", async () => {
    await expect(readTokenFile(join(outside, 'projected'))).resolves.toBe(TOKEN);
  });

  it('refuses /dev/zero without reading it into memory', async () => {
    const before = process.memoryUsage().rss;
    const error = await refusal(readTokenFile('/dev/zero'));
    const grownBytes = process.memoryUsage().rss - before;
    expect(error).toBeInstanceOf(TokenFileError);
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error.message).toBe("Token file '/dev/zero' is not a regular file");
    expect(grownBytes).toBeLessThan(32 * 1024 * 1024);
  });

  it.each([
    ['a FIFO (without waiting for a writer)', 'fifo', 'is not a regular file'],
    ['a directory', 'a-directory', 'is not a regular file'],
    ['a socket', 'socket', 'is not a regular file'],
    ['a file over 16 KiB', 'big', 'is larger than 16384 bytes'],
    ['a missing file', 'missing', 'does not exist'],
  ])('refuses %s and names the reason', async (_label, name, reason) => {
    const path = join(allowed, name);
    const error = await refusal(readTokenFile(path));
    expect(error).toBeInstanceOf(TokenFileError);
    expect(error).toMatchObject({ path, reason, permanent: true });
    expect(error.message).toBe(`Token file '${path}' ${reason}`);
  });

  it('honours a smaller maxBytes', async () => {
    const error = await refusal(readTokenFile(join(allowed, 'token'), { maxBytes: 8 }));
    expect(error.message).toMatch(/is larger than 8 bytes$/);
  });
});

describe('Function: resolveTaskTokenFile()', () => {
  it('returns the real path of a regular file inside an allowed directory', async () => {
    await expect(resolveTaskTokenFile(join(allowed, 'token'), dirs)).resolves.toBe(join(allowed, 'token'));
  });

  it('allows a symlink that stays inside, and returns where it points', async () => {
    await expect(resolveTaskTokenFile(join(allowed, 'inner-link'), dirs)).resolves.toBe(
      join(allowed, 'nested', 'token'),
    );
  });

  it('allows a file under an allowed directory that is itself configured through a symlink', async () => {
    const linked = join(root, 'allowed-link');
    await expect(resolveTaskTokenFile(join(linked, 'token'), [linked])).resolves.toBe(join(allowed, 'token'));
  });

  it('refuses /dev/zero behind a link inside the directory, with memory bounded', async () => {
    const before = process.memoryUsage().rss;
    const error = await refusal(resolveTaskTokenFile(join(allowed, 'zero'), dirs));
    expect(process.memoryUsage().rss - before).toBeLessThan(32 * 1024 * 1024);
    expect(error.message).toBe(UNIFORM);
  });

  const refused: [string, string][] = [
    ['a missing file', join(allowed, 'missing')],
    ['a symlink inside that points outside', join(allowed, 'escape')],
    ['a file outside', join(outside, 'token')],
    ['a file in a sibling whose name starts like the directory', join(sibling, 'token')],
    ['a path that climbs out with ..', `${allowed}/../outside/token`],
    ['the directory itself', allowed],
    ['a directory inside', join(allowed, 'a-directory')],
    ['a FIFO', join(allowed, 'fifo')],
    ['a socket', join(allowed, 'socket')],
    ['a 17 KiB file', join(allowed, 'big')],
    ['/dev/zero behind a link', join(allowed, 'zero')],
    ['a relative path', 'allowed/token'],
    ['an empty path', ''],
    ['a path with a NUL byte', `${allowed}/token\u0000x`],
  ];

  it.each(refused)('refuses %s with the uniform message', async (_label, path) => {
    const error = await refusal(resolveTaskTokenFile(path, dirs));
    expect(error).toBeInstanceOf(AuthConfigError);
    expect(error).not.toBeInstanceOf(TokenFileError);
    expect(error.message).toBe(UNIFORM);
    expect(error.cause).toBeUndefined();
  });

  it('says the same, byte for byte, whatever the reason', async () => {
    const messages = await Promise.all(
      refused.map(async ([, path]) => (await refusal(resolveTaskTokenFile(path, dirs))).message),
    );
    expect(new Set(messages)).toEqual(new Set([UNIFORM]));
  });

  it('refuses everything when no directory is configured, and says so', async () => {
    for (const path of [join(allowed, 'token'), join(allowed, 'missing')]) {
      const error = await refusal(resolveTaskTokenFile(path, []));
      expect(error.message).toBe(`${UNIFORM} (none configured)`);
    }
  });
});

describe('Function: taskTokenFileProblem()', () => {
  it('accepts an absolute, normalized path inside an allowed directory without touching the file system', () => {
    expect(taskTokenFileProblem(join(allowed, 'token'), dirs)).toBeUndefined();
    expect(taskTokenFileProblem(join(allowed, 'not', 'there', 'yet'), dirs)).toBeUndefined();
    expect(taskTokenFileProblem('/var/run/tokens/t', ['/var/run/tokens/'])).toBeUndefined();
  });

  it.each([
    ['no directories', join(allowed, 'token'), [], /OIDC_TOKEN_FILE_DIRS .*\(none configured\)/],
    ['a relative path', 'allowed/token', dirs, /must be an absolute path/],
    ['a control character', `${allowed}/to\nken`, dirs, /without control characters/],
    ['a .. segment', `${allowed}/../outside/token`, dirs, /must be a normalized file path/],
    ['a repeated /', `${allowed}//token`, dirs, /must be a normalized file path/],
    ['a trailing /', `${allowed}/nested/`, dirs, /must be a normalized file path/],
    ['a sibling directory', join(sibling, 'token'), dirs, /must name a file inside one of OIDC_TOKEN_FILE_DIRS/],
    ['the directory itself', allowed, dirs, /must name a file inside one of OIDC_TOKEN_FILE_DIRS/],
  ])('names task.databricksOidcTokenFile for %s', (_label, path, allowedDirs, message) => {
    const problem = taskTokenFileProblem(path, allowedDirs);
    expect(problem).toMatch(/^task\.databricksOidcTokenFile /);
    expect(problem).toMatch(message);
  });
});
