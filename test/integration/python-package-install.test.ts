/**
 * `pip install ./clients/python` with Debian's python3, as the package README says: into a fresh venv (Debian's
 * python3 refuses installs outside one, PEP 668) that sees the system's botocore and setuptools, offline (no index,
 * no build isolation), then the installed package imports and reports its version, from outside the source tree.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runProcess } from '../../infra/local/run-process.js';
import { PYTHON_BASE_ENV, PYTHON_PACKAGE_DIR, python } from '../support/python.js';

const scratch = mkdtempSync(join(tmpdir(), 'fdl-pip-'));
// Not the source tree on the path: what is imported must be what pip installed.
const ENV = { ...PYTHON_BASE_ENV, PYTHONPATH: '', PIP_NO_CACHE_DIR: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' };
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('pip install ./clients/python', () => {
  it('installs into a venv with Debian’s python3 and imports from outside the source tree', async () => {
    const venv = join(scratch, 'venv');
    const made = await runProcess(python(), ['-m', 'venv', '--system-site-packages', venv], {
      cwd: scratch,
      env: ENV,
      timeoutMs: 60_000,
    });
    expect(made.code, made.stderr).toBe(0);
    const installed = await runProcess(
      join(venv, 'bin', 'python'),
      ['-m', 'pip', 'install', '--no-index', '--no-build-isolation', '--no-deps', '--quiet', PYTHON_PACKAGE_DIR],
      { cwd: scratch, env: ENV, timeoutMs: 120_000 },
    );
    expect(installed.code, installed.stderr).toBe(0);
    const imported = await runProcess(
      join(venv, 'bin', 'python'),
      ['-c', 'import flyte_databricks_lambda as p, botocore; print(p.__file__); print(p.__version__)'],
      { cwd: scratch, env: ENV, timeoutMs: 30_000 },
    );
    expect(imported.code, imported.stderr).toBe(0);
    const [file, version] = imported.stdout.trim().split('\n');
    expect(file).toContain(join(venv, 'lib'));
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
  }, 240_000);
});
