/**
 * What the local stack needs before it can start, done once per machine and reused: the app synthesized with the
 * local context (cached while its sources are unchanged) and the Node of every runtime the template names, with the
 * Lambda runtime interface client (installed from npm; its native part is compiled on first install, which takes
 * minutes). `npm start`, the tests' global setup and CI (in the background, while it type-checks) call it; run
 * directly (`npx tsx infra/local/prepare-local-stack.ts`) it prepares and exits.
 */
import { ensureNodeRuntime } from './lambda-runtime/node-runtime.js';
import { readStackTemplate } from './template/stack-template.js';
import { synthLocalTemplate } from './template/synth-local-template.js';

export async function prepareLocalStack(log: (line: string) => void = () => undefined): Promise<void> {
  const { cdkOut, stackName, synthesized } = await synthLocalTemplate();
  if (synthesized) log(`synthesized the app with the local context into ${cdkOut}`);
  const runtimes = new Set(readStackTemplate(cdkOut, stackName).functions.map((fn) => fn.runtime));
  for (const runtime of runtimes) {
    const started = Date.now();
    const install = await ensureNodeRuntime(runtime);
    if (Date.now() - started > 2000) log(`installed Node ${install.nodeVersion} and aws-lambda-ric for ${runtime}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await prepareLocalStack((line) => console.log(`[prepare] ${line}`));
}
