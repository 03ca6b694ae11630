/**
 * Checks, at start, that every function's environment (the template's, with the local overrides) is one its
 * configuration accepts (shared/config.ts, what the handler parses on its first invocation): a variable the
 * template forgets is reported before any job runs, naming the function and the variable, instead of failing
 * every invocation after deploy.
 */
import { ConfigError, parseConfig } from '../../../shared/config.js';

export class FunctionEnvironmentError extends Error {}

export function checkFunctionEnvironments(
  functions: ReadonlyArray<{ name: string; env: Record<string, string> }>,
): void {
  const problems: string[] = [];
  for (const { name, env } of functions) {
    try {
      parseConfig(env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(`${name}: ${error.message}`);
    }
  }
  if (problems.length > 0) {
    throw new FunctionEnvironmentError(
      `the template's function environments would fail at their first invocation:\n${problems.join('\n')}`,
    );
  }
}
