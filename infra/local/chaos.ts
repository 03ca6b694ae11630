/**
 * `npm run chaos [-- --jobs N] [--seed S] [--rate R] [--deadline-seconds D]`: the chaos scenario
 * (infra/local/chaos-scenario.ts) on an embedded local stack. Prints progress, then as its last line the summary
 * JSON; exits 0 only if no job was lost, none ran twice, no secret leaked and every failed job says why.
 */
import { parseArgs } from 'node:util';
import { chaosPassed, runChaosScenario, summaryLine } from './chaos-scenario.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    rate: { type: 'string', default: '0.05' },
    'deadline-seconds': { type: 'string', default: '170' },
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
  deadlineMs: Number(values['deadline-seconds']) * 1000,
  log: (line) => print(`${line}\n`),
});
print(
  `elapsed ${(result.elapsedMs / 1000).toFixed(1)}s; failures by reason: ${JSON.stringify(result.failureReasons)}\n`,
);
if (result.failedWithoutReason > 0) print(`${result.failedWithoutReason} failed job(s) without a reason\n`);
print(`${summaryLine(result)}\n`);
process.exit(chaosPassed(result) ? 0 : 1);
