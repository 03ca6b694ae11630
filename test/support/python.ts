/**
 * The Python the tests run clients/python with: Debian's /usr/bin/python3 with python3-botocore (which .ci/run
 * installs), else python3 on PATH, whichever is 3.9+ and imports botocore. Without one the tests that need it fail,
 * saying what to install; they are never skipped.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const PYTHON_PACKAGE_DIR = join(import.meta.dirname, '../../clients/python');

/** No AWS configuration but what each run passes: no config files, no instance metadata, no .pyc files. */
export const PYTHON_BASE_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  LANG: 'C.UTF-8',
  PYTHONDONTWRITEBYTECODE: '1',
  PYTHONPATH: PYTHON_PACKAGE_DIR,
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_EC2_METADATA_DISABLED: 'true',
};

const PROBE = 'import sys; assert sys.version_info >= (3, 9), sys.version; import botocore; print(sys.executable)';

let found: string | undefined;
const tried: string[] = [];

/** The interpreter's path; throws (naming what was tried) when there is none that imports botocore. */
export function python(): string {
  if (found) return found;
  for (const candidate of tried.length === 0 ? ['/usr/bin/python3', 'python3'] : []) {
    // HOME only for the probe: a version manager's python3 shim (pyenv) finds its root there.
    const probe = spawnSync(candidate, ['-c', PROBE], {
      env: { ...PYTHON_BASE_ENV, HOME: process.env.HOME ?? '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    const executable = probe.stdout?.trim();
    if (probe.status === 0 && executable) {
      found = executable;
      return found;
    }
    tried.push(
      `${candidate}: ${probe.error?.message ?? (probe.stderr?.trim().split('\n').at(-1) || `exit ${probe.status}`)}`,
    );
  }
  throw new Error(
    "No Python 3.9+ that can import botocore, which clients/python needs. Install Debian's python3-botocore " +
      `(apt-get install -y --no-install-recommends python3-botocore, as .ci/run does). Tried: ${tried.join('; ')}`,
  );
}
