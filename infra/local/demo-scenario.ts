/**
 * The demo as a function, so `npm run demo` and a test run the very same thing: one job per auth mode, each in
 * its tenant's namespace, plus a long job whose Databricks tokens expire several times while it runs, plus a
 * PAT job cancelled once it runs. It reports, per job, the phase, the Databricks runs made for it, the token
 * endpoint calls its principal made, and who Databricks saw run it.
 */
import type { AuthMode } from '../../shared/auth/auth-context.js';
import { isApiError, JobsApiClient } from '../../shared/client/jobs-api-client.js';
import type { JobView } from '../../shared/jobs/job.js';
import { isTerminalPhase } from '../../shared/jobs/phase.js';
import { METRICS, METRICS_NAMESPACE, type MetricName } from '../../shared/metrics/metric-catalog.js';
import type { RunOutcome } from './emulators/databricks-workspace.js';
import type { LocalStack, LocalStackOptions } from './local-stack.js';
import { callerMayUseOnly, seedOAuthM2M, seedTenants, type Tenant, tenantNamespaces } from './tenants.js';

/** Databricks tokens live this long in the demo, so the long job sees them expire several times. */
export const DEMO_TOKEN_TTL_SECONDS = 4;
const LONG_RUN_NAME = 'long-running';
/**
 * The long run lasts 7.5 token lifetimes, so the poll function (a batch every 7-8 s: a 1-2 s poll delay, then the
 * template's 5 s batching window; up to 12 s on a busy machine) polls it at least three times, each time with its
 * previous token expired.
 */
const LONG_RUN_MS = 30_000;
/**
 * Token endpoint calls the long job must at least make: each execution environment caches its own tokens, so the
 * submit function's first token, the poll function's first token, then two refreshes as the poll function's expire.
 */
const LONG_JOB_MIN_TOKEN_REQUESTS = 4;
/** The job the demo cancels runs long enough that the cancellation always finds it running. */
const CANCELLED_RUN_NAME = 'cancelled-while-running';
const CANCELLED_RUN_MS = 60_000;
const DEADLINE_MS = 90_000;

/** The stack settings the scenario expects: quick runs, one long one, short-lived OAuth tokens. */
/** The long job's tenant, beside one tenant per mode. */
const LONG_JOB_NAMESPACE = 'team-m2m-long';

export const demoStackOptions: LocalStackOptions = {
  // The demo's caller may use its tenants' namespaces and no other, as an operator would bind it.
  callerNamespaces: callerMayUseOnly([...Object.values(tenantNamespaces()), LONG_JOB_NAMESPACE]),
  // Polls 1-2 s apart rather than the template's 10-180 s, so the demo's jobs end in seconds (a listed difference).
  pollIntervalSeconds: { min: 1, max: 2 },
  databricks: {
    timing: { pendingMs: 500, runningMs: 3000, terminatingMs: 300 },
    oauthTokenTtlSeconds: DEMO_TOKEN_TTL_SECONDS,
    outcome: (body): RunOutcome =>
      body.run_name === LONG_RUN_NAME
        ? { resultState: 'SUCCESS', timing: { runningMs: LONG_RUN_MS } }
        : body.run_name === CANCELLED_RUN_NAME
          ? { resultState: 'SUCCESS', timing: { runningMs: CANCELLED_RUN_MS } }
          : { resultState: 'SUCCESS' },
  },
};

export interface DemoJobResult {
  name: string;
  mode: AuthMode;
  namespace: string;
  jobId: string | null;
  phase: string;
  expected: 'SUCCEEDED' | 'ABORTED';
  runId: number | null;
  message: string;
  databricksRuns: number;
  tokenRequests: number;
  principal: string | null;
}

/** Least privilege, measured: what the stack ran and how its IAM grants were used. */
export interface StackSummary {
  /** The template the stack ran, in its cdk.out. */
  template: string;
  /** The functions' runtime, from the template. */
  runtime: string;
  /** Requests IAM denied, any principal's. */
  deniedCalls: number;
  /** Per function (principals named `…Function`), the grants of its role no request used (shortGrant labels). */
  unusedGrants: Record<string, string[]>;
}

/** What the functions' metric lines (EMF, collected by the stack) counted during the demo. */
export interface MetricsSummary {
  jobsAccepted: number;
  /** JobsEnded by its Phase dimension. */
  jobsEnded: Record<string, number>;
  databricksCalls: number;
}

export interface DemoResult {
  /** Every job as expected, counted once in the metrics, and no request denied. */
  ok: boolean;
  jobs: DemoJobResult[];
  stack: StackSummary;
  metrics: MetricsSummary;
}

/** A grant as the report labels it, its resource's ARN without `arn:aws:<service>:<region>:<account>:` (shorter). */
export function shortGrant(label: string): string {
  return label.replace(/ on arn:aws[\w-]*:[\w-]+:[\w-]*:\d{12}:/, ' on ');
}

/** The stack's template, runtime and IAM usage so far: denied calls, and each function's unused grants. */
export function stackSummary(stack: LocalStack): StackSummary {
  const report = stack.iamReport();
  const unusedGrants = Object.fromEntries(
    Object.entries(report.principals)
      .filter(([principal]) => principal.endsWith('Function'))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([principal, usage]) => [principal, usage.unused.map(shortGrant)]),
  );
  return {
    template: stack.describe.template,
    runtime: stack.describe.runtime,
    deniedCalls: report.deniedCalls.reduce((sum, call) => sum + call.count, 0),
    unusedGrants,
  };
}

/** The totals of the catalog's metrics the demo checks, from the stack's collector. */
export function metricsSummary(stack: LocalStack): MetricsSummary {
  const series = (name: MetricName) =>
    stack.metrics.query({ namespace: METRICS_NAMESPACE, name, dimensions: METRICS[name].dimensions });
  const sum = (name: MetricName) => series(name).reduce((total, s) => total + s.total.sum, 0);
  const jobsEnded: Record<string, number> = {};
  for (const s of series('JobsEnded')) {
    const phase = s.dimensions.Phase ?? '';
    jobsEnded[phase] = (jobsEnded[phase] ?? 0) + s.total.sum;
  }
  return { jobsAccepted: sum('JobsAccepted'), jobsEnded, databricksCalls: sum('DatabricksCalls') };
}

/** Whether the metrics counted each job once: accepted, and ended in the phase it ended in. */
function metricsMatch(metrics: MetricsSummary, phases: string[]): boolean {
  const expected: Record<string, number> = {};
  for (const phase of phases) expected[phase] = (expected[phase] ?? 0) + 1;
  const ended = Object.entries(metrics.jobsEnded).filter(([, n]) => n > 0);
  return (
    metrics.jobsAccepted === phases.length &&
    metrics.databricksCalls > 0 &&
    ended.length === Object.keys(expected).length &&
    ended.every(([phase, n]) => expected[phase] === n)
  );
}

/**
 * The metrics once they count every job: a function prints its metric line when its invocation ends, just after the
 * job's terminal write the demo saw; a few seconds at most.
 */
async function settledMetrics(stack: LocalStack, phases: string[], waitMs = 10_000): Promise<MetricsSummary> {
  const deadline = Date.now() + waitMs;
  let metrics = metricsSummary(stack);
  while (!metricsMatch(metrics, phases) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    metrics = metricsSummary(stack);
  }
  return metrics;
}

interface DemoJob {
  name: string;
  tenant: Tenant;
  expected: 'SUCCEEDED' | 'ABORTED';
  cancel?: boolean;
  runName?: string;
  /** Token endpoint calls the job must at least have made (the long job: LONG_JOB_MIN_TOKEN_REQUESTS). */
  minTokenRequests?: number;
}

export interface DemoScenarioOptions {
  /** How long each job is followed before it counts as not ended (default 90 s). */
  deadlineMs?: number;
}

export async function runDemoScenario(
  stack: LocalStack,
  log: (line: string) => void,
  options: DemoScenarioOptions = {},
): Promise<DemoResult> {
  const deadlineMs = options.deadlineMs ?? DEADLINE_MS;
  const tenants = await seedTenants(stack);
  const jobs: DemoJob[] = [
    ...(Object.values(tenants) as Tenant[]).map((tenant) => ({
      name: tenant.mode,
      tenant,
      expected: 'SUCCEEDED' as const,
    })),
    {
      name: 'oauth_m2m-long',
      tenant: seedOAuthM2M(stack, LONG_JOB_NAMESPACE),
      expected: 'SUCCEEDED',
      runName: LONG_RUN_NAME,
      minTokenRequests: LONG_JOB_MIN_TOKEN_REQUESTS,
    },
    { name: 'pat-cancelled', tenant: tenants.pat, expected: 'ABORTED', cancel: true, runName: CANCELLED_RUN_NAME },
  ];
  // Signed like any caller of the deployed API, with the key pair the stack generated for callers.
  const api = new JobsApiClient(stack.frontDoorUrl, { region: stack.region, credentials: stack.callerCredentials });
  const stamp = Date.now();
  const results = await Promise.all(jobs.map((job) => follow(api, job, `demo-${stamp}-${job.name}`, log, deadlineMs)));
  const report = results.map((result, i) => summarize(stack, jobs[i] as DemoJob, result));
  const jobsOk = report.every((r, i) => {
    const job = jobs[i] as DemoJob;
    return (
      r.phase === r.expected &&
      r.databricksRuns === 1 &&
      r.principal === job.tenant.principal &&
      r.tokenRequests >= (job.minTokenRequests ?? 0)
    );
  });
  const summary = stackSummary(stack);
  const phases = report.map((r) => r.phase);
  const metrics = await settledMetrics(stack, phases);
  // A denied request is a grant the template lacks (or a call the code should not make): the run fails. So does a
  // job the metrics missed or counted twice.
  return {
    ok: jobsOk && summary.deniedCalls === 0 && metricsMatch(metrics, phases),
    jobs: report,
    stack: summary,
    metrics,
  };
}

interface Followed {
  jobId: string | null;
  view?: JobView;
  error?: string;
}

async function follow(
  api: JobsApiClient,
  job: DemoJob,
  executionId: string,
  log: (line: string) => void,
  deadlineMs: number,
) {
  const request = {
    namespace: job.tenant.namespace,
    executionId,
    task: {
      databricksConf: {
        run_name: job.runName ?? job.name,
        new_cluster: { spark_version: '15.4.x-scala2.12', num_workers: 1 },
      },
      ...job.tenant.task,
    },
    container: { image: 'ghcr.io/flyteorg/flytekit:py3.11-latest', args: ['pyflyte-execute', '--inputs', 'x'] },
  };
  const submitted = await api.submit(request);
  if (isApiError(submitted.body)) {
    return { jobId: null, error: `POST /v1/jobs answered ${submitted.status}: ${submitted.body.error.message}` };
  }
  const result: Followed = { jobId: submitted.body.jobId };
  const jobId = submitted.body.jobId;
  const say = (view: JobView, what: string) =>
    log(`[${job.name}] ${view.namespace} ${jobId}${view.runId ? ` run ${view.runId}` : ''}: ${what}`);
  say(submitted.body, `submitted (HTTP ${submitted.status})`);
  const started = Date.now();
  let cancelled = false;
  let last = '';
  while (Date.now() - started < deadlineMs) {
    const { body } = await api.get(jobId);
    if (isApiError(body)) return { ...result, error: body.error.message };
    result.view = body;
    const line = `${body.phase} ${body.databricks.lifeCycleState ?? ''} ${body.auth?.mode ?? ''} ${body.message}`;
    if (line !== last) say(body, line);
    last = line;
    if (isTerminalPhase(body.phase)) return result;
    if (job.cancel && !cancelled && body.phase === 'RUNNING') {
      cancelled = true;
      say(body, `DELETE answered ${(await api.cancel(jobId)).status}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { ...result, error: `no terminal phase within ${deadlineMs / 1000}s` };
}

function summarize(stack: LocalStack, job: DemoJob, followed: Followed): DemoJobResult {
  const runs = stack.databricks
    .runs()
    .filter((run) => followed.jobId !== null && run.idempotencyToken === followed.jobId);
  const principal = runs[0]?.principal ?? null;
  return {
    name: job.name,
    mode: job.tenant.mode,
    namespace: job.tenant.namespace,
    jobId: followed.jobId,
    phase: followed.view?.phase ?? 'UNKNOWN',
    expected: job.expected,
    runId: followed.view?.runId ?? null,
    message: followed.error ?? followed.view?.message ?? '',
    databricksRuns: runs.length,
    // Each tenant has its own service principal, so its token calls are this job's (PAT: none).
    tokenRequests: stack.databricks.tokenRequests.filter((r) => r.clientId !== undefined && r.clientId === principal)
      .length,
    principal,
  };
}
