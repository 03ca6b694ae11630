/**
 * Reading an OIDC subject token from a file without trusting the file. A token is a few KiB, so a read is bounded
 * (a `/dev/zero` must not fill the container's memory) and only regular files are read (a FIFO would block, a device
 * may have side effects on open, a directory is a mistake). Two kinds of path:
 *
 * - `readTokenFile`: a path the OPERATOR configured (FLYTE_DATABRICKS_OIDC_TOKEN_FILE, AWS_WEB_IDENTITY_TOKEN_FILE,
 *   /var/run/secrets/databricks/token). Errors say what is wrong, since the operator owns the file.
 * - `resolveTaskTokenFile` / `taskTokenFileProblem`: a path a TASK names (task.databricksOidcTokenFile). It must lie
 *   inside OIDC_TOKEN_FILE_DIRS, and every refusal reads the same, so a tenant cannot learn which files exist.
 */
import { constants } from 'node:fs';
import { type FileHandle, lstat, open, realpath } from 'node:fs/promises';
import { isAbsolute, normalize, posix, resolve, sep } from 'node:path';
import { AuthConfigError } from '../errors.js';

/** A projected service-account JWT is 1-2 KiB; 16 KiB leaves room without letting a file flood memory. */
export const DEFAULT_TOKEN_FILE_MAX_BYTES = 16_384;
/** The setting that lists the directories a task's token file may be in (comma-separated absolute paths). */
export const TOKEN_FILE_DIRS_SETTING = 'OIDC_TOKEN_FILE_DIRS';

const TASK_FIELD = 'task.databricksOidcTokenFile';
/** Longest path a task may name (Linux PATH_MAX). */
const MAX_PATH_CHARS = 4096;
// O_NONBLOCK: opening a FIFO never waits for a writer. O_NOFOLLOW: a final symlink swapped in after realpath fails.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** A refused operator token file; `reason` ("does not exist", "is not a regular file", ...) completes a sentence. */
export class TokenFileError extends AuthConfigError {
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(`Token file '${path}' ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}

/**
 * The content of an operator-configured token file (not trimmed). Symlinks are resolved first, because the
 * kubelet's projected token is one (`token -> ..data/token`); the real path is then opened without following links.
 */
export async function readTokenFile(path: string, options: { maxBytes?: number } = {}): Promise<string> {
  const maxBytes = checkedMaxBytes(options.maxBytes);
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    throw new TokenFileError(path, reasonOf(error));
  }
  return (await readRegularFile(real, path, maxBytes)).toString('utf8');
}

/**
 * The real path of the token file a task names, once it is known to be a regular, readable file of at most
 * DEFAULT_TOKEN_FILE_MAX_BYTES inside one of `allowedDirs` (after resolving every symlink, the file's and the
 * directories'). The caller keeps the returned path and reads it with readTokenFile. Every refusal throws the same
 * message, whatever the reason, so that it never tells whether a path exists.
 */
export async function resolveTaskTokenFile(path: string, allowedDirs: readonly string[]): Promise<string> {
  const refusal = () => new AuthConfigError(taskRefusalMessage(allowedDirs));
  if (taskTokenFileProblem(path, allowedDirs) !== undefined) throw refusal();
  try {
    const real = await realpath(path);
    const realDirs = await Promise.all(usableDirs(allowedDirs).map((dir) => realpath(dir).catch(() => undefined)));
    if (!realDirs.some((dir) => dir !== undefined && isInside(real, dir))) throw refusal();
    await readRegularFile(real, real, DEFAULT_TOKEN_FILE_MAX_BYTES);
    return real;
  } catch {
    // No cause: an ENOENT or EACCES attached to the error would tell what the message does not.
    throw refusal();
  }
}

/**
 * What is wrong with a task's token file path, judged from the configuration alone (absolute, normalized, lexically
 * inside one of `allowedDirs`), or undefined. Touches no file, so the API can answer 400 at POST.
 */
export function taskTokenFileProblem(path: string, allowedDirs: readonly string[]): string | undefined {
  const dirs = usableDirs(allowedDirs);
  if (dirs.length === 0) {
    return `${TASK_FIELD} cannot be used: ${TOKEN_FILE_DIRS_SETTING} names no directory for token files (none configured)`;
  }
  if (typeof path !== 'string' || !isAbsolute(path)) return `${TASK_FIELD} must be an absolute path`;
  if (path.length > MAX_PATH_CHARS || CONTROL_CHARS.test(path)) {
    return `${TASK_FIELD} must be at most ${MAX_PATH_CHARS} characters, without control characters`;
  }
  if (normalize(path) !== path || path.endsWith(sep)) {
    return `${TASK_FIELD} must be a normalized file path (no '.' or '..' segments, repeated or trailing '/')`;
  }
  if (!dirs.some((dir) => isInside(path, resolve(dir)))) {
    return `${TASK_FIELD} must name a file inside one of ${TOKEN_FILE_DIRS_SETTING}`;
  }
  return undefined;
}

/** The one refusal text for a task's token file; it depends on the configuration only, never on the file. */
function taskRefusalMessage(allowedDirs: readonly string[]): string {
  const none = usableDirs(allowedDirs).length === 0 ? ' (none configured)' : '';
  return (
    `task databricksOidcTokenFile is not a token file this connector may read: it must name a regular file of at ` +
    `most ${DEFAULT_TOKEN_FILE_MAX_BYTES} bytes inside one of ${TOKEN_FILE_DIRS_SETTING}${none}`
  );
}

/** Only absolute directories count: a relative one would depend on the working directory. */
/**
 * One entry of OIDC_TOKEN_FILE_DIRS (context oidcTokenFileDirs) as the operator wrote it: the canonical directory
 * (a trailing `/` dropped), or what is wrong with it (without the value: the functions' config errors never quote
 * one). The functions and the stack apply this one rule.
 */
export function parseTokenFileDir(text: string): { dir: string } | { problem: string } {
  const dir = text.length > 1 ? text.replace(/\/+$/, '') : text;
  if (!dir.startsWith('/')) return { problem: 'must list absolute directories' };
  if (dir.split('/').some((segment) => segment === '..' || segment === '.') || posix.normalize(dir) !== dir) {
    return { problem: 'must list directories without ., .. or // segments' };
  }
  if (dir === '/') return { problem: 'must not list / (it would let a task read any file); name the token directory' };
  // A comma would split the list; a control character has no place in a path an operator writes.
  if (/[,]/.test(dir) || CONTROL_CHARS.test(dir)) {
    return { problem: 'must list directories without commas or control characters' };
  }
  return { dir };
}

function usableDirs(allowedDirs: readonly string[]): string[] {
  return allowedDirs.filter((dir) => typeof dir === 'string' && isAbsolute(dir));
}

/** Containment by path segments: `/a/bc` is not inside `/a/b`, and a directory is not inside itself. */
function isInside(child: string, dir: string): boolean {
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  return child.length > prefix.length && child.startsWith(prefix);
}

/**
 * At most `maxBytes` of the regular file at `real` (a path with no symlinks). `shown` is the path errors name.
 * The lstat refuses a device or FIFO before it is opened; the fstat on the handle is the check that counts.
 */
async function readRegularFile(real: string, shown: string, maxBytes: number): Promise<Buffer> {
  let handle: FileHandle;
  try {
    if (!(await lstat(real)).isFile()) throw new TokenFileError(shown, 'is not a regular file');
    handle = await open(real, OPEN_FLAGS);
  } catch (error) {
    throw error instanceof TokenFileError ? error : new TokenFileError(shown, reasonOf(error));
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new TokenFileError(shown, 'is not a regular file');
    const tooLarge = () => new TokenFileError(shown, `is larger than ${maxBytes} bytes`);
    if (info.size > maxBytes) throw tooLarge();
    // One byte more than allowed tells a file that grew (or reports no size) from one that fits.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw tooLarge();
    return buffer.subarray(0, length);
  } catch (error) {
    throw error instanceof TokenFileError ? error : new TokenFileError(shown, reasonOf(error));
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'does not exist';
  // A symlink loop, or O_NOFOLLOW met a link swapped in between realpath and open.
  if (code === 'ELOOP') return 'is a symbolic link that cannot be followed';
  return `cannot be read (${typeof code === 'string' ? code : 'error'})`;
}

function checkedMaxBytes(maxBytes: number | undefined): number {
  const value = maxBytes ?? DEFAULT_TOKEN_FILE_MAX_BYTES;
  if (!Number.isInteger(value) || value < 1) throw new RangeError('readTokenFile maxBytes must be a positive integer');
  return value;
}
