/**
 * The Python package's own unit tests (clients/python/tests, stdlib unittest), run by `npm test` so CI runs them:
 * request building from each config shape, identity derivation, retry planning, error mapping, the flytekit task
 * type against its labelled stand-in. Debian's python3 with python3-botocore, the package on PYTHONPATH.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../../infra/local/run-process.js';
import { PYTHON_BASE_ENV, PYTHON_PACKAGE_DIR, python } from '../support/python.js';

describe('clients/python', () => {
  it('passes its unittest suite', async () => {
    const ran = await runProcess(
      python(),
      ['-m', 'unittest', 'discover', '-s', join(PYTHON_PACKAGE_DIR, 'tests'), '-v'],
      {
        cwd: PYTHON_PACKAGE_DIR,
        env: PYTHON_BASE_ENV,
        timeoutMs: 60_000,
      },
    );
    // unittest reports on stderr: the verbose list, then "Ran N tests" and "OK" or "FAILED (...)".
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toMatch(/\nOK\n?$/);
    const count = Number(/Ran (\d+) tests? in/.exec(ran.stderr)?.[1]);
    // A discovery that silently finds nothing (a renamed folder) must not pass.
    expect(count).toBeGreaterThanOrEqual(50);
  }, 90_000);
});
