/**
 * The chaos scenario as a function, so `npm run chaos` and a test run the very same thing. Four workspaces: the
 * local stack's own, where a tenant per auth mode runs and a seeded fault plan fails every dependency (errors, slow
 * and hung answers, killed invocations); one whose namespaces submit throughout and which browns out (its requests
 * hang) for a window in the middle of the run; a steady one that shares the load; and a healthy one whose
 * namespace's jobs are timed, POST to terminal, in a baseline phase before any fault or load and again during the
 * brownout. N jobs in all, the load paced (some POSTed twice, some sent twice as a whole request straight to the
 * submit queue), then the guarantees: every job ends, failed jobs say why, no job has two Databricks runs, no secret
 * reaches the table, the logs or a DLQ, no message is left in a DLQ, no invocation reaches its timeout, IAM denies
 * no request (each function's unused grants are listed), every job caught in the brownout ends as it should, the
 * healthy namespace is not slowed by the brownout, and no workspace gets more calls a second than its budget.
 */
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { isApiError, JobsApiClient } from '../../shared/client/jobs-api-client.js';
import { DEFAULT_WORKSPACE_HEALTH, type WorkspaceHealthSettings } from '../../shared/databricks/workspace-health.js';
import { DEADLINE_SAFETY_MARGIN_MS } from '../../shared/invocation-deadline.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { isTerminalPhase, type Phase } from '../../shared/jobs/phase.js';
import { median, peakPerSecond, rescuedJobs } from './chaos-measures.js';
import { namespaceWorkspaces, type SideWorkspace, seedSideTenants, startSideWorkspace } from './chaos-workspaces.js';
import { stackSummary } from './demo-scenario.js';
import type { DatabricksWorkspace, OutageMode } from './emulators/databricks-workspace.js';
import { type Dependency, FaultPlan } from './faults/fault-plan.js';
import { type LocalStack, startLocalStack } from './local-stack.js';
import { callerMayUseOnly, seedTenants, type Tenant, tenantNamespaces } from './tenants.js';

/** The backoffs of the functions' workspace circuit breaker, as they take them (shared/databricks/workspace-health.ts). */
type WorkspaceBackoffs = Pick<WorkspaceHealthSettings, 'firstBackoffMs' | 'maxBackoffMs'>;

export interface ChaosOptions {
  /** Jobs in all: the load plus the healthy namespace's (a warm-up, then `healthySamples` per phase). Default 1000. */
  jobs?: number;
  seed?: number;
  /** Fault probability per dependency call (and per invocation, for handler kills). Default 0.05. */
  rate?: number;
  /**
   * Per-dependency rates overriding `rate` (e.g. higher for rarely called ones in a small run). Slow and hung
   * Databricks answers default to LATENCY_RATE and HANG_RATE, not to `rate`.
   */
  rates?: Partial<Record<Dependency, number>>;
  /**
   * Load jobs POSTed per second, in turn to the three loaded workspaces: paced, so the stack is loaded, not flooded,
   * and each workspace's calls (about 2.5 a job) stay well within its budget on average. Default 12.
   */
  submitPerSecond?: number;
  /** Load submissions in flight at once, at most. Default 24. */
  concurrency?: number;
  /** How long the brownout lasts. Default 25000. */
  brownoutMs?: number;
  /** What it does meanwhile. Default 'hang': requests are held, never answered, as in issue #12's measurement. */
  brownoutMode?: OutageMode;
  /** Healthy jobs timed per phase (baseline, brownout). Default 10. */
  healthySamples?: number;
  /** WORKSPACE_API_BUDGET_RPS the functions run with. Default 20. */
  workspaceBudgetRps?: number;
  /**
   * How long the functions leave a failing workspace alone, first and at most (WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS
   * and _MAX_). Default: the functions' own (shared/databricks/workspace-health.ts).
   */
  workspaceBackoff?: WorkspaceBackoffs;
  /** Give up waiting for terminal phases this long after the start. Default: 90 s after the load, longer after a long brownout. */
  deadlineMs?: number;
  /** Progress lines; defaults to none. */
  log?: (line: string) => void;
}

export interface ChaosResult {
  jobs: number;
  succeeded: number;
  failedWithReason: number;
  lost: number;
  duplicateRuns: number;
  secretsFound: number;
  faultsInjected: Record<string, number>;
  /** Messages left at the end in the submit, poll and cancel DLQs together. */
  dlqMessages: number;
  /** Jobs the sweeper found stale and rescued (or gave up on). */
  rescues: number;
  /** Invocations the local Lambda runtime ended at their function timeout (chaos kills are faults, not counted). */
  lambdaTimeouts: number;
  /** Median seconds from POST to terminal of the healthy namespace's jobs POSTed during the brownout. */
  healthyLagP50S: number;
  /** The same before the brownout and before any fault: the baseline. */
  healthyBaselineP50S: number;
  /** Jobs of the browned-out workspace live during its window (POSTed before it ended, not ended before it began). */
  brownoutJobs: number;
  /** Of those, the ones that did not end SUCCEEDED (every run in the scenario succeeds) or did not end at all. */
  brownoutLost: number;
  /** Requests arriving at a workspace in its busiest aligned second, the busiest workspace's. */
  peakWorkspaceRps: number;
  workspaceBudgetRps: number;
  seed: number;
  /** Requests IAM denied, any principal's (least privilege, measured): a denied call fails the run. */
  deniedCalls: number;
  /** Per function (principals named `…Function`), the grants of its role no request used. */
  unusedGrants: Record<string, string[]>;
  /** Not in the summary line: details for a failing run. */
  failedWithoutReason: number;
  failureReasons: Record<string, number>;
  lambdaTimeoutsByFunction: Record<string, number>;
  peakRpsByWorkspace: Record<string, number>;
  requestsByWorkspace: Record<string, number>;
  /** Each healthy job's seconds from POST to terminal, by phase. */
  healthyLagsS: { baseline: number[]; brownout: number[] };
  /** STALE_AFTER_SECONDS the sweeper ran with. */
  staleAfterSeconds: number;
  elapsedMs: number;
}

/** Slow Jobs API answers (headers or body late by up to 2 s), per call. */
export const LATENCY_RATE = 0.01;
/**
 * Hung Jobs API answers, per call. Rare on purpose: a call that gets no answer in time makes the functions leave the
 * whole workspace alone for a while (shared/databricks/workspace-health.ts), so each hang parks all its tenants.
 */
export const HANG_RATE = 0.001;

const SECRET_PATTERNS = [/dapi[0-9a-f]{32}/, /dose[0-9a-f]{48}/, /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\./];

/** The function timeout here; the deadline (less a 5 s margin) leaves calls 3 s, so a hung call ends well before. */
const FUNCTION_TIMEOUT_SECONDS = 8;
/** As Lambda requires, at least the function timeout: a batch held by a slow call is not received again meanwhile. */
const VISIBILITY_TIMEOUT_SECONDS = 10;
/** The poll chain's longest wait, and how often a quiet job's heartbeat is refreshed: short, as in a busy hour. */
const POLL_INTERVAL_MAX_SECONDS = 1;
const HEARTBEAT_SECONDS = 2;
/** Where in the load (a fraction of its length) the brownout begins. */
const BROWNOUT_AT = 0.3;
/** Time between the baseline's healthy jobs. */
const BASELINE_SPACING_MS = 250;

/**
 * The result is a pass: nothing lost (the brownout's jobs included), no duplicate run, no secret anywhere, every
 * failure with a reason, no DLQ message, no Lambda timeout, the healthy namespace not slowed by the brownout beyond
 * 1.5x its baseline plus 2 s, no workspace called more often a second than its budget, and no request denied by IAM.
 */
export function chaosPassed(result: ChaosResult): boolean {
  return (
    result.lost === 0 &&
    result.duplicateRuns === 0 &&
    result.secretsFound === 0 &&
    result.failedWithoutReason === 0 &&
    result.dlqMessages === 0 &&
    result.brownoutLost === 0 &&
    result.lambdaTimeouts === 0 &&
    result.deniedCalls === 0 &&
    result.healthyLagP50S <= 1.5 * result.healthyBaselineP50S + 2 &&
    result.peakWorkspaceRps <= result.workspaceBudgetRps
  );
}

export function summaryLine(result: ChaosResult): string {
  const { jobs, succeeded, failedWithReason, lost, duplicateRuns, secretsFound, faultsInjected } = result;
  const { dlqMessages, rescues, lambdaTimeouts, healthyLagP50S, healthyBaselineP50S, brownoutJobs } = result;
  const { brownoutLost, peakWorkspaceRps, workspaceBudgetRps, seed, deniedCalls, unusedGrants } = result;
  return JSON.stringify({
    jobs,
    succeeded,
    failedWithReason,
    lost,
    duplicateRuns,
    secretsFound,
    faultsInjected,
    dlqMessages,
    rescues,
    lambdaTimeouts,
    healthyLagP50S,
    healthyBaselineP50S,
    brownoutJobs,
    brownoutLost,
    peakWorkspaceRps,
    workspaceBudgetRps,
    seed,
    deniedCalls,
    unusedGrants,
  });
}

interface Planned {
  tenant: Tenant;
  executionId: string;
  jobId: string;
  how: 'post' | 'post-twice' | 'queue-twice';
  /** When its first POST (or send) began, epoch ms. */
  postedAt?: number;
}

export async function runChaosScenario(options: ChaosOptions = {}): Promise<ChaosResult> {
  const started = Date.now();
  const total = options.jobs ?? 1000;
  const samples = options.healthySamples ?? 10;
  // The healthy namespace's jobs: one to warm the functions up, then `samples` timed in each phase.
  const loadJobs = total - 1 - 2 * samples;
  if (loadJobs < 2) throw new Error(`chaos: ${total} jobs leave no load beside 1 + 2 x ${samples} healthy ones`);
  const submitPerSecond = options.submitPerSecond ?? 12;
  const brownoutMs = options.brownoutMs ?? 25_000;
  const budgetRps = options.workspaceBudgetRps ?? 20;
  const staleAfterSeconds = staleAfterSecondsFor(brownoutMs, options.workspaceBackoff ?? DEFAULT_WORKSPACE_HEALTH);
  const plan = new FaultPlan({
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    defaultRate: options.rate ?? 0.05,
    rates: { 'databricks-latency': LATENCY_RATE, 'databricks-hang': HANG_RATE, ...options.rates },
  });
  const log = options.log ?? (() => undefined);
  log(
    `chaos: ${total} jobs, fault rate ${options.rate ?? 0.05} per dependency call, brownout ${brownoutMs / 1000}s, ` +
      `seed ${plan.seed}`,
  );

  // Everything the process writes while the scenario runs, and every function log line, is kept for the secret scan.
  const output: string[] = [];
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const capture = ((chunk: unknown) => {
    output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  let stack: LocalStack | undefined;
  const sides: SideWorkspace[] = [];
  try {
    // Quick runs; short-lived Databricks tokens, so the token endpoint, STS and Kubernetes TokenRequest are called
    // again every few seconds, as over hours of real polling, and their faults are met too.
    const workspaceOptions = { timing: { pendingMs: 50, runningMs: 200, terminatingMs: 20 }, oauthTokenTtlSeconds: 6 };
    const brownout = await startSideWorkspace(
      { pat: 'team-brownout', oauth_m2m: 'team-brownout-m2m' },
      workspaceOptions,
    );
    sides.push(brownout);
    const steady = await startSideWorkspace({ pat: 'team-steady', oauth_m2m: 'team-steady-m2m' }, workspaceOptions);
    sides.push(steady);
    const healthy = await startSideWorkspace({ pat: 'team-healthy' }, workspaceOptions);
    sides.push(healthy);
    stack = await startLocalStack({
      databricks: workspaceOptions,
      functionTimeoutSeconds: FUNCTION_TIMEOUT_SECONDS,
      visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
      maxReceiveCount: 5,
      pollIntervalSeconds: { min: 0, max: POLL_INTERVAL_MAX_SECONDS },
      sweepIntervalMs: 1000,
      extraAllowedHosts: sides.map((side) => side.host),
      env: {
        STALE_AFTER_SECONDS: String(staleAfterSeconds),
        HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
        SWEEP_MAX_JOBS: '1000',
        NAMESPACE_WORKSPACES: JSON.stringify(namespaceWorkspaces(sides)),
        WORKSPACE_API_BUDGET_RPS: String(budgetRps),
        ...(options.workspaceBackoff
          ? {
              WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: String(options.workspaceBackoff.firstBackoffMs / 1000),
              WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: String(options.workspaceBackoff.maxBackoffMs / 1000),
            }
          : {}),
      },
      // Four batches per queue at once: each is an execution environment of its own (a Node 22 process); with eight,
      // 1,000 jobs overloaded this 2-core machine (3 jobs unfinished, 4 Lambda timeouts; with four, none).
      eventSourceConcurrency: 4,
      // No batching window (the template's poll mapping waits up to 5 s to fill a batch): the run's clock, the stale
      // threshold above included, assumes a poll is invoked as soon as it is due.
      eventSourceBatchingWindowSeconds: 0,
      faultPlan: plan,
      // The functions' log lines (their worker processes print them) go straight to the secret scan and the rescue
      // count, every one of them (stack.functionLogs keeps only the latest), and are not printed.
      onFunctionLog: (line) => output.push(`${line}\n`),
      callerNamespaces: callerMayUseOnly([
        ...Object.values(tenantNamespaces()),
        ...Object.keys(namespaceWorkspaces(sides)),
      ]),
    });
    const live = stack;
    const workspaces: Record<string, DatabricksWorkspace> = {
      main: live.databricks,
      brownout: brownout.workspace,
      steady: steady.workspace,
      healthy: healthy.workspace,
    };
    // The load takes turns: the stack's own workspace (a tenant per auth mode), the one that browns out, and a steady
    // one, so that no workspace needs more than about half its budget.
    const pools = [
      Object.values(await seedTenants(live)) as Tenant[],
      seedSideTenants(live, brownout),
      seedSideTenants(live, steady),
    ];
    const [healthyTenant] = seedSideTenants(live, healthy) as [Tenant];
    const api = new JobsApiClient(live.frontDoorUrl, { region: live.region, credentials: live.callerCredentials });
    const load: Planned[] = Array.from({ length: loadJobs }, (_, i) => {
      const pool = pools[i % pools.length] as Tenant[];
      const turn = Math.floor(i / pools.length);
      const tenant = pool[turn % pool.length] as Tenant;
      const executionId = `chaos-${plan.seed}-${i}`;
      const how = turn % 10 === 3 ? 'post-twice' : turn % 10 === 7 ? 'queue-twice' : 'post';
      return { tenant, executionId, jobId: jobIdFor(tenant.namespace, executionId), how };
    });
    const healthyJobs = (phase: string, count: number): Planned[] =>
      Array.from({ length: count }, (_, i) => {
        const executionId = `chaos-${plan.seed}-healthy-${phase}-${i}`;
        return {
          tenant: healthyTenant,
          executionId,
          jobId: jobIdFor(healthyTenant.namespace, executionId),
          how: 'post',
        };
      });
    const [warmUp] = healthyJobs('warm-up', 1) as [Planned];
    const baselineJobs = healthyJobs('baseline', samples);
    const brownoutPhaseJobs = healthyJobs('brownout', samples);
    const everyJob = [...load, warmUp, ...baselineJobs, ...brownoutPhaseJobs];
    const wanted = new Set(everyJob.map((job) => job.jobId));

    const submitErrors: string[] = [];
    const submitOne = (job: Planned) => submitJob(live, api, job, submitErrors);

    // Baseline: the healthy namespace alone, no load and the plan paused, once a first job has loaded the functions'
    // code (that warm-up job may still meet a fault the emulators queued when the stack started).
    plan.disable();
    await submitOne(warmUp);
    await waitForTerminal(live, new Set([warmUp.jobId]), 30_000);
    await Promise.all(baselineJobs.map((job, i) => later(i * BASELINE_SPACING_MS, () => submitOne(job))));
    await waitForTerminal(live, new Set(baselineJobs.map((job) => job.jobId)), 30_000);
    plan.enable();
    log(`baseline: ${samples} healthy jobs done at ${seconds(Date.now() - started)}s; load and faults begin`);

    // The load, paced, and the brownout in its middle, during which the healthy namespace is timed again.
    const loadStart = Date.now();
    const loadMs = (loadJobs / submitPerSecond) * 1000;
    const window = { fromMs: loadStart + BROWNOUT_AT * loadMs, toMs: loadStart + BROWNOUT_AT * loadMs + brownoutMs };
    brownout.workspace.outage({ ...window, mode: options.brownoutMode ?? 'hang' });
    const deadline =
      started +
      (options.deadlineMs ?? defaultDeadlineMs(loadStart + loadMs - started, window.toMs - started, brownoutMs));
    const healthyDuringBrownout = Promise.all(
      brownoutPhaseJobs.map((job, i) =>
        later(window.fromMs - Date.now() + ((i + 0.5) * brownoutMs) / samples, () => submitOne(job)),
      ),
    );
    let submitted = 0;
    const inFlight = new Set<Promise<void>>();
    const progress = setInterval(
      () =>
        void progressLine(live, wanted, plan, window, started).then(
          (line) => log(`${line}; submitted ${submitted}/${loadJobs}`),
          () => undefined,
        ),
      2000,
    );
    try {
      for (const [i, job] of load.entries()) {
        const due = loadStart + (i * 1000) / submitPerSecond;
        if (due > Date.now()) await sleep(due - Date.now());
        while (inFlight.size >= (options.concurrency ?? 24)) await Promise.race(inFlight);
        const sending = submitOne(job).finally(() => {
          inFlight.delete(sending);
          submitted += 1;
        });
        inFlight.add(sending);
      }
      await Promise.all(inFlight);
      log(`submitted ${submitted} jobs in ${seconds(Date.now() - loadStart)}s (${submitErrors.length} errors)`);
      await healthyDuringBrownout;
      await waitForTerminal(live, wanted, deadline - Date.now());
    } finally {
      clearInterval(progress);
    }
    plan.disable();

    const jobs = await scanJobs(live, wanted);
    let succeeded = 0;
    let failedWithReason = 0;
    let failedWithoutReason = 0;
    let lost = 0;
    const failureReasons: Record<string, number> = {};
    for (const id of wanted) {
      const job = jobs.get(id);
      if (!job || !isTerminalPhase(job.phase)) lost += 1;
      else if (job.phase === 'SUCCEEDED') succeeded += 1;
      else if (job.message.trim() !== '') {
        failedWithReason += 1;
        const reason = `${job.phase}: ${job.message.replace(/fdl-[0-9a-f]{40}|\d{4}-\d\d-\d\dT[\d:.]+Z|\d+/g, '#').slice(0, 120)}`;
        failureReasons[reason] = (failureReasons[reason] ?? 0) + 1;
      } else failedWithoutReason += 1;
    }
    const runsPerJob = new Map<string, number>();
    for (const workspace of Object.values(workspaces)) {
      for (const run of workspace.runs()) {
        if (run.idempotencyToken) runsPerJob.set(run.idempotencyToken, (runsPerJob.get(run.idempotencyToken) ?? 0) + 1);
      }
    }
    const duplicateRuns = [...wanted].filter((id) => (runsPerJob.get(id) ?? 0) > 1).length;

    // Jobs POST to terminal, by the job's own finishedAt; a job that never ended has no time (it counts as lost).
    const lagsS = (phase: Planned[]) =>
      phase.flatMap((job) => {
        const finishedAt = jobs.get(job.jobId)?.finishedAt;
        return finishedAt && job.postedAt !== undefined ? [(Date.parse(finishedAt) - job.postedAt) / 1000] : [];
      });
    const exposed = load.filter((job) => {
      if (job.tenant.task.databricksInstance !== brownout.workspace.url || job.postedAt === undefined) return false;
      const finishedAt = jobs.get(job.jobId)?.finishedAt;
      return job.postedAt < window.toMs && (finishedAt === undefined || Date.parse(finishedAt) > window.fromMs);
    });
    const brownoutLost = exposed.filter((job) => jobs.get(job.jobId)?.phase !== 'SUCCEEDED').length;
    const peakRpsByWorkspace = Object.fromEntries(
      Object.entries(workspaces).map(([name, workspace]) => [
        name,
        peakPerSecond(workspace.requests.map((request) => request.at)),
      ]),
    );
    const lambdaTimeoutsByFunction = live.lambdaTimeouts();
    const { deniedCalls, unusedGrants } = stackSummary(live);

    const table = await scanJobs(live, undefined);
    const dlqBodies = await Promise.all(
      [live.queues.submitDlq, live.queues.pollDlq, live.queues.cancelDlq].map((url) => peekAll(live, url)),
    );
    const logs = output.join('');
    let secretsFound = 0;
    const issuedTokens = Object.values(workspaces).flatMap((workspace) => workspace.issuedAccessTokens);
    for (const haystack of [JSON.stringify([...table.values()]), JSON.stringify(dlqBodies), logs]) {
      for (const pattern of SECRET_PATTERNS) secretsFound += (haystack.match(new RegExp(pattern, 'g')) ?? []).length;
      for (const token of issuedTokens) if (haystack.includes(token)) secretsFound += 1;
    }
    return {
      jobs: total,
      succeeded,
      failedWithReason,
      lost,
      duplicateRuns,
      secretsFound,
      faultsInjected: plan.injected(),
      dlqMessages: dlqBodies.reduce((sum, bodies) => sum + bodies.length, 0),
      rescues: rescuedJobs(table.values(), logs).size,
      lambdaTimeouts: Object.values(lambdaTimeoutsByFunction).reduce((sum, count) => sum + count, 0),
      healthyLagP50S: round(median(lagsS(brownoutPhaseJobs))),
      healthyBaselineP50S: round(median(lagsS(baselineJobs))),
      brownoutJobs: exposed.length,
      brownoutLost,
      peakWorkspaceRps: Math.max(...Object.values(peakRpsByWorkspace)),
      workspaceBudgetRps: Number(live.env.WORKSPACE_API_BUDGET_RPS),
      seed: plan.seed,
      deniedCalls,
      unusedGrants,
      failedWithoutReason,
      failureReasons,
      lambdaTimeoutsByFunction,
      peakRpsByWorkspace,
      requestsByWorkspace: Object.fromEntries(
        Object.entries(workspaces).map(([name, workspace]) => [name, workspace.requests.length]),
      ),
      healthyLagsS: { baseline: lagsS(baselineJobs).map(round), brownout: lagsS(brownoutPhaseJobs).map(round) },
      staleAfterSeconds,
      elapsedMs: Date.now() - started,
    };
  } finally {
    plan.disable();
    await stack?.stop();
    await Promise.all(sides.map((side) => side.workspace.close()));
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
  }
}

/**
 * STALE_AFTER_SECONDS for the run: short, so that lost messages are rescued by the sweeper within the run, yet longer
 * than any job goes quiet by design (the rule the README gives for production). A job of a workspace the functions
 * leave alone is deferred, without a heartbeat, for up to that workspace's backoff plus 20 % jitter
 * (shared/databricks/workspace-health.ts); through a brownout the backoff doubles with every probe that finds it
 * still down, a hung probe waiting out the call's deadline.
 */
function staleAfterSecondsFor(brownoutMs: number, { firstBackoffMs, maxBackoffMs }: WorkspaceBackoffs): number {
  const hungCallMs = FUNCTION_TIMEOUT_SECONDS * 1000 - DEADLINE_SAFETY_MARGIN_MS;
  // One hung call (a hang fault, or the brownout's first) leaves the workspace alone for the first backoff.
  let longestBackoffMs = firstBackoffMs;
  let backoff = firstBackoffMs;
  // Found down at `at` (a hung call ends), left alone for `backoff`, then probed again (another hung call).
  for (let at = hungCallMs; at < brownoutMs; at += longestBackoffMs + hungCallMs) {
    longestBackoffMs = backoff;
    backoff = Math.min(maxBackoffMs, backoff * 2);
  }
  return Math.ceil((longestBackoffMs * 1.2) / 1000) + POLL_INTERVAL_MAX_SECONDS + HEARTBEAT_SECONDS + 5;
}

/**
 * Long enough for every job to end (times from the start of the run): 90 s after the load; after a long brownout, the
 * longest the functions leave a failing workspace alone (5 minutes, plus jitter) on top of the brownout.
 */
function defaultDeadlineMs(loadEndMs: number, brownoutEndMs: number, brownoutMs: number): number {
  const settleAfterBrownoutMs = Math.min(brownoutMs, 300_000) * 1.2 + 60_000;
  return Math.max(loadEndMs + 90_000, brownoutEndMs + settleAfterBrownoutMs);
}

/** POSTs the job through the signed API (retrying what any client would), or sends it twice to the submit queue. */
async function submitJob(stack: LocalStack, api: JobsApiClient, job: Planned, errors: string[]): Promise<void> {
  job.postedAt = Date.now();
  const request = {
    namespace: job.tenant.namespace,
    executionId: job.executionId,
    task: {
      databricksConf: {
        run_name: job.executionId,
        new_cluster: { spark_version: '15.4.x-scala2.12', num_workers: 1 },
      },
      ...job.tenant.task,
    },
    container: { image: 'ghcr.io/flyteorg/flytekit:py3.11-latest', args: ['pyflyte-execute', '--inputs', 'x'] },
  };
  if (job.how === 'queue-twice') {
    // Sent as the caller, a producer CALLER_NAMESPACES binds to the tenants' namespaces (its SenderId is checked).
    const producer = stack.sqsAs(stack.callerCredentials);
    for (let copy = 0; copy < 2; copy += 1) {
      await producer.send(
        new SendMessageCommand({ QueueUrl: stack.queues.submit, MessageBody: JSON.stringify(request) }),
      );
    }
    return;
  }
  // A caller retries a failed POST (5xx, reset) as any client of the API would: the same request is idempotent.
  for (let post = 0; post < (job.how === 'post-twice' ? 2 : 1); post += 1) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const answer = await api.submit(request);
        if (answer.status < 500 && !(isApiError(answer.body) && answer.status === 429)) {
          if (isApiError(answer.body)) errors.push(`${answer.status} ${answer.body.error.message}`);
          break;
        }
      } catch {
        // network error: retry
      }
      if (attempt >= 8) {
        errors.push(`${job.jobId}: POST kept failing`);
        break;
      }
      await sleep(50 * attempt);
    }
  }
}

/** Waits until every wanted job is terminal, or `timeoutMs` has passed. */
async function waitForTerminal(stack: LocalStack, wanted: Set<string>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const jobs = await scanJobs(stack, wanted);
    const terminal = [...jobs.values()].filter((job) => isTerminalPhase(job.phase)).length;
    if (terminal === wanted.size || Date.now() >= deadline) return;
    await sleep(500);
  }
}

async function progressLine(
  stack: LocalStack,
  wanted: Set<string>,
  plan: FaultPlan,
  window: { fromMs: number; toMs: number },
  started: number,
): Promise<string> {
  const jobs = await scanJobs(stack, wanted);
  const phases: Record<string, number> = {};
  for (const job of jobs.values()) phases[job.phase] = (phases[job.phase] ?? 0) + 1;
  const terminal = [...jobs.values()].filter((job) => isTerminalPhase(job.phase)).length;
  const now = Date.now();
  const brownout = now < window.fromMs ? 'before' : now < window.toMs ? 'ON' : 'over';
  return (
    `${seconds(now - started)}s: ${terminal}/${wanted.size} terminal ${JSON.stringify(phases)} brownout ${brownout} ` +
    `faults ${JSON.stringify(plan.injected())}`
  );
}

interface JobRow {
  jobId: string;
  phase: Phase;
  message: string;
  finishedAt?: string;
  rescues?: number;
}

/** Every job item in the table (consistent reads, all pages), by id; only `wanted` ones when given. */
async function scanJobs(stack: LocalStack, wanted: Set<string> | undefined): Promise<Map<string, JobRow>> {
  const doc = DynamoDBDocumentClient.from(stack.dynamodb);
  const jobs = new Map<string, JobRow>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: stack.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) {
      const id = typeof item.jobId === 'string' ? item.jobId : undefined;
      if (id && (!wanted || wanted.has(id))) jobs.set(id, item as JobRow);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return jobs;
}

/** Reads every message of a queue (a DLQ) without deleting it. */
async function peekAll(stack: LocalStack, queueUrl: string): Promise<string[]> {
  const bodies = new Map<string, string>();
  for (let round = 0; round < 50; round += 1) {
    const { Messages = [] } = await stack.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
        WaitTimeSeconds: 0,
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) bodies.set(message.MessageId ?? '', message.Body ?? '');
  }
  return [...bodies.values()];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Runs `action` after `ms` (at once when `ms` is not positive). */
async function later(ms: number, action: () => Promise<void>): Promise<void> {
  await sleep(ms);
  await action();
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
/** Seconds to two decimals, as the summary shows them (NaN, when nothing could be timed, becomes null in JSON). */
const round = (value: number) => Math.round(value * 100) / 100;
