/**
 * The chaos scenario as a function, so `npm run chaos` and a test run the very same thing: a local stack with quick
 * runs and a seeded fault plan on every dependency, N jobs spread over the auth modes (some POSTed twice, some sent
 * twice as a whole request straight to the submit queue), then the guarantees: every job ends, failed jobs say why,
 * no job has two Databricks runs, and no secret reaches the table, the logs or a DLQ.
 */
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { isApiError, JobsApiClient } from '../../shared/client/jobs-api-client.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { isTerminalPhase, type Phase } from '../../shared/jobs/phase.js';
import { type Dependency, FaultPlan } from './faults/fault-plan.js';
import { type LocalStack, startLocalStack } from './local-stack.js';
import { callerMayUseOnly, seedTenants, type Tenant, tenantNamespaces } from './tenants.js';

export interface ChaosOptions {
  jobs?: number;
  seed?: number;
  /** Fault probability per dependency call (and per invocation, for handler kills). Default 0.05. */
  rate?: number;
  /** Per-dependency rates overriding `rate` (e.g. higher for rarely called ones in a small run). */
  rates?: Partial<Record<Dependency, number>>;
  /** Submissions in flight at once. Default 24. */
  concurrency?: number;
  /** Give up waiting for terminal phases after this long. Default 150000. */
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
  seed: number;
  /** Not in the summary line: details for a failing run. */
  failedWithoutReason: number;
  failureReasons: Record<string, number>;
  elapsedMs: number;
}

const SECRET_PATTERNS = [/dapi[0-9a-f]{32}/, /dose[0-9a-f]{48}/, /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\./];

/** The result is a pass: nothing lost, no duplicate run, no secret anywhere, every failure with a reason. */
export function chaosPassed(result: ChaosResult): boolean {
  return (
    result.lost === 0 && result.duplicateRuns === 0 && result.secretsFound === 0 && result.failedWithoutReason === 0
  );
}

export function summaryLine(result: ChaosResult): string {
  const { jobs, succeeded, failedWithReason, lost, duplicateRuns, secretsFound, faultsInjected, seed } = result;
  return JSON.stringify({ jobs, succeeded, failedWithReason, lost, duplicateRuns, secretsFound, faultsInjected, seed });
}

interface Planned {
  tenant: Tenant;
  executionId: string;
  jobId: string;
  how: 'post' | 'post-twice' | 'queue-twice';
}

export async function runChaosScenario(options: ChaosOptions = {}): Promise<ChaosResult> {
  const started = Date.now();
  const total = options.jobs ?? 1000;
  const plan = new FaultPlan({
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    defaultRate: options.rate ?? 0.05,
    ...(options.rates ? { rates: options.rates } : {}),
  });
  const log = options.log ?? (() => undefined);
  log(`chaos: ${total} jobs, fault rate ${options.rate ?? 0.05} per dependency call, seed ${plan.seed}`);

  // Everything the process writes while the scenario runs (handler logs included) is kept for the secret scan.
  const output: string[] = [];
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const capture = ((chunk: unknown) => {
    output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({
      // Short-lived Databricks tokens: the token endpoint, STS and Kubernetes TokenRequest are called again every few
      // seconds, as over hours of real polling, so their faults are met too.
      databricks: { timing: { pendingMs: 50, runningMs: 200, terminatingMs: 20 }, oauthTokenTtlSeconds: 6 },
      visibilityTimeoutSeconds: 2,
      maxReceiveCount: 5,
      pollIntervalSeconds: { min: 0, max: 1 },
      sweepIntervalMs: 1000,
      env: { STALE_AFTER_SECONDS: '12', HEARTBEAT_SECONDS: '2', SWEEP_MAX_JOBS: '1000' },
      eventSourceConcurrency: 8,
      faultPlan: plan,
      callerNamespaces: callerMayUseOnly(Object.values(tenantNamespaces())),
    });
    const tenants = Object.values(await seedTenants(stack)) as Tenant[];
    const api = new JobsApiClient(stack.frontDoorUrl, { region: stack.region, credentials: stack.callerCredentials });
    const planned: Planned[] = Array.from({ length: total }, (_, i) => {
      const tenant = tenants[i % tenants.length] as Tenant;
      const executionId = `chaos-${plan.seed}-${i}`;
      const how = i % 10 === 3 ? 'post-twice' : i % 10 === 7 ? 'queue-twice' : 'post';
      return { tenant, executionId, jobId: jobIdFor(tenant.namespace, executionId), how };
    });

    const submitErrors: string[] = [];
    const submitOne = async (job: Planned) => {
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
        const producer = (stack as LocalStack).sqsAs((stack as LocalStack).callerCredentials);
        for (let copy = 0; copy < 2; copy += 1) {
          await producer.send(
            new SendMessageCommand({
              QueueUrl: (stack as LocalStack).queues.submit,
              MessageBody: JSON.stringify(request),
            }),
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
              if (isApiError(answer.body)) submitErrors.push(`${answer.status} ${answer.body.error.message}`);
              break;
            }
          } catch {
            // network error: retry
          }
          if (attempt >= 8) {
            submitErrors.push(`${job.jobId}: POST kept failing`);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
        }
      }
    };
    let next = 0;
    let submitted = 0;
    await Promise.all(
      Array.from({ length: options.concurrency ?? 24 }, async () => {
        for (let i = next++; i < planned.length; i = next++) {
          await submitOne(planned[i] as Planned);
          submitted += 1;
        }
      }),
    );
    log(
      `submitted ${submitted} jobs in ${((Date.now() - started) / 1000).toFixed(1)}s (${submitErrors.length} errors)`,
    );

    const wanted = new Set(planned.map((job) => job.jobId));
    const deadline = started + (options.deadlineMs ?? 150_000);
    let jobs = await scanJobs(stack, wanted);
    let lastLog = 0;
    for (;;) {
      const terminal = [...jobs.values()].filter((job) => isTerminalPhase(job.phase)).length;
      if (terminal === total || Date.now() >= deadline) break;
      if (Date.now() - lastLog >= 2000) {
        lastLog = Date.now();
        const phases: Record<string, number> = {};
        for (const job of jobs.values()) phases[job.phase] = (phases[job.phase] ?? 0) + 1;
        log(
          `${((Date.now() - started) / 1000).toFixed(1)}s: ${terminal}/${total} terminal ${JSON.stringify(phases)} faults ${JSON.stringify(plan.injected())}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      jobs = await scanJobs(stack, wanted);
    }
    plan.disable();

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
    for (const run of stack.databricks.runs()) {
      if (run.idempotencyToken) runsPerJob.set(run.idempotencyToken, (runsPerJob.get(run.idempotencyToken) ?? 0) + 1);
    }
    const duplicateRuns = [...wanted].filter((id) => (runsPerJob.get(id) ?? 0) > 1).length;

    const table = JSON.stringify(await scanJobs(stack, undefined));
    const dlqs = JSON.stringify(
      await Promise.all(
        [stack.queues.submitDlq, stack.queues.pollDlq, stack.queues.cancelDlq].map((url) =>
          peekAll(stack as LocalStack, url),
        ),
      ),
    );
    const logs = output.join('');
    let secretsFound = 0;
    for (const haystack of [table, dlqs, logs]) {
      for (const pattern of SECRET_PATTERNS) secretsFound += (haystack.match(new RegExp(pattern, 'g')) ?? []).length;
      for (const token of stack.databricks.issuedAccessTokens) if (haystack.includes(token)) secretsFound += 1;
    }
    return {
      jobs: total,
      succeeded,
      failedWithReason,
      lost,
      duplicateRuns,
      secretsFound,
      faultsInjected: plan.injected(),
      seed: plan.seed,
      failedWithoutReason,
      failureReasons,
      elapsedMs: Date.now() - started,
    };
  } finally {
    plan.disable();
    await stack?.stop();
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
  }
}

interface JobRow {
  jobId: string;
  phase: Phase;
  message: string;
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
