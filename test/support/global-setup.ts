/**
 * Once per test run, before the test workers start: synthesizes the app with the local context and installs the Node
 * its functions run on (infra/local/prepare-local-stack.ts; both cached on the machine), so the workers' local
 * stacks and the table fixtures all read the same template instead of each preparing it.
 */
import { prepareLocalStack } from '../../infra/local/prepare-local-stack.js';

export default async function setup(): Promise<void> {
  await prepareLocalStack((line) => console.log(`[global-setup] ${line}`));
}
