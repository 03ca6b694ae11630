/**
 * Vitest setup file for the integration files: the test stacks keep their functions' log lines to themselves
 * (test-stack.ts), and a test that fails prints the lines its stacks' functions wrote while it ran, so a CI log
 * shows the functions' errors of the test that failed, not those that other tests provoke on purpose.
 */
import { afterEach, beforeEach } from 'vitest';
import { runningTestStacks } from './test-stack.js';

/** At most this many lines per stack: the end of a failed test's story. */
const MAX_LINES = 200;

/** Each running stack's count of log lines when the current test began. */
const startedAt = new WeakMap<object, number>();

beforeEach(() => {
  for (const stack of runningTestStacks) startedAt.set(stack, stack.functionLogs.length);
});

afterEach((context) => {
  if (context.task.result?.state !== 'fail') return;
  for (const stack of runningTestStacks) {
    // Not the metric (EMF) lines: they are for the status page.
    const lines = stack.functionLogs.slice(startedAt.get(stack) ?? 0).filter((line) => !line.startsWith('{"_aws"'));
    if (lines.length === 0) continue;
    const shown = lines.slice(-MAX_LINES);
    const skipped = lines.length - shown.length;
    process.stderr.write(
      `--- the functions' log lines while "${context.task.name}" ran${skipped ? ` (last ${MAX_LINES} of ${lines.length})` : ''} ---\n${shown.join('\n')}\n`,
    );
  }
});
