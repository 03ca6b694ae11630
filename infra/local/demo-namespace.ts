/**
 * Seeds the local stack with a demo tenant: the namespace's PAT in Secrets Manager, under the same name the
 * connector looks for (`flyte/<namespace>/databricks-token`, key `token`), and the same PAT accepted by the
 * workspace emulator. The token is random per start and never printed.
 */
import { randomBytes } from 'node:crypto';
import type { LocalStack } from './local-stack.js';

export const DEMO_NAMESPACE = 'flytesnacks-development';

/** Returns the PAT, for tests that rotate it; callers must not print it. */
export function seedDemoNamespace(stack: LocalStack, namespace = DEMO_NAMESPACE): string {
  const token = `dapi${randomBytes(16).toString('hex')}`;
  stack.secrets.putSecret(`flyte/${namespace}/databricks-token`, JSON.stringify({ token }));
  stack.databricks.addToken(token);
  return token;
}
