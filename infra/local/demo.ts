/**
 * `npm run demo`: proves the walking skeleton end to end on the local stack. Submits a PAT job and lets it
 * succeed; submits a second one and cancels it once it runs. Prints progress as phases change and, as its last
 * line, one JSON summary. Exits 0 only if the first job SUCCEEDED and the second ended ABORTED, each with
 * exactly one Databricks run.
 */

import { isApiError, JobsApiClient } from '../../shared/client/jobs-api-client.js';
import type { JobView } from '../../shared/jobs/job.js';
import { isTerminalPhase } from '../../shared/jobs/phase.js';
import { DEMO_NAMESPACE, seedDemoNamespace } from './demo-namespace.js';
import { startLocalStack } from './local-stack.js';

const DEADLINE_MS = 90_000;

interface DemoJob {
  name: string;
  mode: 'pat';
  cancel: boolean;
  expect: 'SUCCEEDED' | 'ABORTED';
  jobId?: string;
  view?: JobView;
  error?: string;
}

process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
const stack = await startLocalStack({
  databricks: { timing: { pendingMs: 500, runningMs: 3000, terminatingMs: 300 } },
});
seedDemoNamespace(stack);
const api = new JobsApiClient(stack.frontDoorUrl);
const stamp = Date.now();
const jobs: DemoJob[] = [
  { name: 'pat-succeeds', mode: 'pat', cancel: false, expect: 'SUCCEEDED' },
  { name: 'pat-cancelled', mode: 'pat', cancel: true, expect: 'ABORTED' },
];

try {
  await Promise.all(jobs.map((job) => follow(job)));
} finally {
  await stack.stop();
}

const summary = jobs.map((job) => ({
  name: job.name,
  mode: job.mode,
  jobId: job.jobId ?? null,
  phase: job.view?.phase ?? 'UNKNOWN',
  expected: job.expect,
  runId: job.view?.runId ?? null,
  message: job.error ?? job.view?.message ?? '',
  databricksRuns: stack.databricks.runs().filter((run) => run.idempotencyToken === job.jobId).length,
}));
const ok = summary.every((job) => job.phase === job.expected && job.databricksRuns === 1);
console.log(JSON.stringify({ ok, jobs: summary }));
process.exit(ok ? 0 : 1);

async function follow(job: DemoJob): Promise<void> {
  const submitted = await api.submit({
    namespace: DEMO_NAMESPACE,
    executionId: `demo-${stamp}-${job.name}`,
    task: {
      databricksConf: { run_name: job.name, new_cluster: { spark_version: '15.4.x-scala2.12', num_workers: 1 } },
    },
    container: { image: 'ghcr.io/flyteorg/flytekit:py3.11-latest', args: ['pyflyte-execute', '--inputs', 'x'] },
  });
  if (isApiError(submitted.body)) {
    job.error = `POST /v1/jobs answered ${submitted.status}: ${submitted.body.error.message}`;
    return;
  }
  job.jobId = submitted.body.jobId;
  log(job, submitted.body, `submitted (HTTP ${submitted.status})`);
  const started = Date.now();
  let cancelled = false;
  let last = '';
  while (Date.now() - started < DEADLINE_MS) {
    const { body } = await api.get(job.jobId);
    if (isApiError(body)) {
      job.error = body.error.message;
      return;
    }
    job.view = body;
    const line = `${body.phase} ${body.databricks.lifeCycleState ?? ''} ${body.message}`;
    if (line !== last) log(job, body, line);
    last = line;
    if (isTerminalPhase(body.phase)) return;
    if (job.cancel && !cancelled && body.phase === 'RUNNING') {
      const answer = await api.cancel(job.jobId);
      cancelled = true;
      log(job, body, `DELETE answered ${answer.status}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  job.error = `no terminal phase within ${DEADLINE_MS / 1000}s`;
}

function log(job: DemoJob, view: JobView, what: string): void {
  const run = view.runId ? ` run ${view.runId}` : '';
  console.log(`[${job.name}] ${view.jobId}${run}: ${what}`);
}
