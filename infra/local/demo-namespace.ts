/**
 * The default tenant `npm start` and the tests use: a PAT in the namespace's `databricks-token` secret.
 * (Every auth mode has its own tenant in tenants.ts.)
 */
import type { LocalStack } from './local-stack.js';
import { seedPatToken } from './tenants.js';

export const DEMO_NAMESPACE = 'flytesnacks-development';

/** Returns the PAT, for tests that rotate it; callers must not print it. */
export function seedDemoNamespace(stack: LocalStack, namespace = DEMO_NAMESPACE): string {
  return seedPatToken(stack, namespace);
}
