/**
 * `npm run chaos [-- --jobs N] [--seed S] [--rate R] [--brownout-seconds B] [--submit-rate P] [--deadline-seconds D]`:
 * the chaos scenario (infra/local/chaos-scenario.ts) on an embedded local stack. Prints progress, then as its last
 * line the summary JSON; exits 0 only if the scenario's guarantees hold (chaosPassed), e.g. a 10-minute brownout:
 * `npm run chaos -- --brownout-seconds 600`.
 */
import { parseArgs } from 'node:util';
import { chaosPassed, runChaosScenario, summaryLine } from './chaos-scenario.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    rate: { type: 'string', default: '0.05' },
    'brownout-seconds': { type: 'string', default: '25' },
    // Jobs POSTed a second. 6: each function runs in Node 22 processes of its own with IAM checked on every AWS call, and
    // at 12 a second the 2-core development machine saturates (the healthy namespace then waits behind the load).
    'submit-rate': { type: 'string', default: '6' },
    'deadline-seconds': { type: 'string' },
  },
});
const print = process.stdout.write.bind(process.stdout);
const result = await runChaosScenario({
  jobs: Number(values.jobs),
  ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
  rate: Number(values.rate),
  // Credentials are cached, so the token endpoint, Kubernetes and STS are called a handful of times per run: at the
  // general rate they would often draw no fault at all. Every dependency must be hit.
  rates: { token: 0.5, kubernetes: 0.5, sts: 0.5 },
  brownoutMs: Number(values['brownout-seconds']) * 1000,
  submitPerSecond: Number(values['submit-rate']),
  ...(values['deadline-seconds'] !== undefined ? { deadlineMs: Number(values['deadline-seconds']) * 1000 } : {}),
  log: (line) => print(`${line}\n`),
});
print(
  `elapsed ${(result.elapsedMs / 1000).toFixed(1)}s; failures by reason: ${JSON.stringify(result.failureReasons)}\n`,
);
print(
  `healthy jobs, seconds POST to terminal: ${JSON.stringify(result.healthyLagsS)}; ` +
    `sweeper STALE_AFTER_SECONDS ${result.staleAfterSeconds}\n`,
);
print(
  `workspace requests: ${JSON.stringify(result.requestsByWorkspace)}, busiest second ` +
    `${JSON.stringify(result.peakRpsByWorkspace)}; Lambda timeouts ${JSON.stringify(result.lambdaTimeoutsByFunction)}\n`,
);
if (result.failedWithoutReason > 0) print(`${result.failedWithoutReason} failed job(s) without a reason\n`);
print(`${summaryLine(result)}\n`);
process.exit(chaosPassed(result) ? 0 : 1);
