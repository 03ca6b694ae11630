/**
 * `npm run demo`: the product end to end on the local stack, one job per auth mode (pat, oauth_m2m,
 * oidc_model1_file, oidc_model1_sts, oidc_model2), a long job whose tokens expire while it runs, and a PAT job
 * cancelled while it runs. Prints progress as phases change and, as its last line, one JSON summary, with the
 * template the stack ran, its runtime and its IAM usage (denied calls, each function's unused grants); exits 0
 * only if every job ended as expected with exactly one Databricks run, run by the expected principal, and IAM
 * denied no request.
 */
import { demoStackOptions, runDemoScenario } from './demo-scenario.js';
import { startLocalStack } from './local-stack.js';
import { startStackStatusPage } from './status-page/stack-status-page.js';

// The functions log at WARN unless asked otherwise (their template level is INFO): the progress lines stay readable.
const stack = await startLocalStack({ ...demoStackOptions, logLevel: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN' });
// The jobs' progress, live, as the dashboard's main widgets (the demo's own stack; `npm start` serves one too).
const statusPage = await startStackStatusPage(stack);
console.log(`Status page: ${statusPage.url} (live while the demo runs)`);
let result: Awaited<ReturnType<typeof runDemoScenario>>;
try {
  result = await runDemoScenario(stack, (line) => console.log(line));
} finally {
  await statusPage.close();
  await stack.stop();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
