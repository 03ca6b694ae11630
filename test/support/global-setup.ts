/**
 * Once per test run, before the test workers start: synthesizes the app with the local context (cached in the
 * system's temp folder while its sources are unchanged), so the workers' local stacks and the table fixtures all
 * read the same template instead of each synthesizing it, and installs the Node the template's functions run on.
 */
import { ensureNodeRuntime } from '../../infra/local/lambda-runtime/node-runtime.js';
import { readStackTemplate } from '../../infra/local/template/stack-template.js';
import { synthLocalTemplate } from '../../infra/local/template/synth-local-template.js';

export default async function setup(): Promise<void> {
  const { cdkOut, stackName } = synthLocalTemplate();
  // The Node (and runtime interface client) of every runtime the template names, installed from npm once.
  const runtimes = new Set(readStackTemplate(cdkOut, stackName).functions.map((fn) => fn.runtime));
  for (const runtime of runtimes) await ensureNodeRuntime(runtime);
}
