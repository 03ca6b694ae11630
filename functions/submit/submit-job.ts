/**
 * Submits a job's Databricks run, exactly once. The job id is the run's idempotency_token, so a redelivered
 * message or a Lambda that died after runs/submit returned gets the same run back from Databricks instead of a
 * second one; saving the run id is conditional, and the poll chain starts only after it is saved.
 */
import { modeOf } from '../../shared/auth/resolve-auth.js';
import { buildSubmitRunBody } from '../../shared/databricks/submit-body.js';
import { ConnectorError } from '../../shared/errors.js';
import { DeferError } from '../../shared/invocation-deadline.js';
import type { Job } from '../../shared/jobs/job.js';
import { mutateJob } from '../../shared/jobs/mutate-job.js';
import { isTerminalPhase } from '../../shared/jobs/phase.js';
import { countJobSubmitted } from '../../shared/metrics/metrics.js';
import { annotateJob } from '../../shared/tracing/tracing.js';
import { settleFailure } from '../job-failure.js';
import type { JobPorts } from '../job-ports.js';
import { startPollChain } from '../poll/start-poll-chain.js';
import type { RecordContext } from '../sqs-batch.js';

export async function submitJob(jobId: string, ports: JobPorts, record: RecordContext): Promise<void> {
  const job = await ports.store.get(jobId);
  if (!job) {
    record.log.warn('Submit message names no job; dropping it');
    return;
  }
  annotateJob(job);
  if (isTerminalPhase(job.phase)) {
    record.log.info('Job already ended; nothing to submit', { phase: job.phase });
    return;
  }
  if (job.runId !== undefined) {
    // Submitted before, but this message came back: the poll chain may never have started. Start a fresh one;
    // the generation bump retires any chain that did start.
    record.log.info('Job already has a run; restarting its poll chain', { runId: job.runId });
    try {
      await startPollChain(ports, jobId);
    } catch (error) {
      // On the message's last receive the job says why its run is no longer followed (e.g. AccessDenied on the
      // poll queue), rather than waiting on a message that went to the DLQ.
      await settleFailure(named(error), {
        store: ports.store,
        jobId,
        step: `Following Databricks run ${job.runId}`,
        isLastAttempt: record.isLastAttempt,
        now: ports.now(),
      });
    }
    return;
  }
  if (job.cancelRequested) {
    await mutateJob(ports.store, jobId, (current) =>
      current.runId === undefined && !isTerminalPhase(current.phase)
        ? {
            phase: 'ABORTED',
            message: 'Cancelled before it was submitted to Databricks',
            finishedAt: ports.now().toISOString(),
          }
        : undefined,
    );
    return;
  }
  try {
    await submitRun(job, ports, record);
  } catch (error) {
    await settleFailure(error, {
      store: ports.store,
      jobId,
      step: 'Submitting the Databricks run',
      isLastAttempt: record.isLastAttempt,
      now: ports.now(),
    });
  }
}

async function submitRun(accepted: Job, ports: JobPorts, record: RecordContext): Promise<void> {
  const job = accepted.auth ? accepted : await chooseAuth(accepted, ports, record);
  const auth = ports.auth(job);
  record.log.info('Submitting Databricks run', { auth: auth.describe(), host: job.databricksHost });
  const body = buildSubmitRunBody({
    task: job.task,
    container: job.container,
    idempotencyToken: job.jobId,
    defaultServiceCredentialProvider: ports.config.FLYTE_DATABRICKS_SERVICE_CREDENTIAL_PROVIDER,
  });
  const client = ports.databricks(job.databricksHost, auth);
  const { run_id: runId } = await client.submitRun(body);
  // Whether this write recorded the run (a redelivered message may find it recorded): decided by the last decision.
  let recorded = false;
  const saved = await mutateJob(
    ports.store,
    job.jobId,
    (current) => {
      recorded = current.runId !== runId;
      return recorded
        ? {
            runId,
            phase: 'INITIALIZING',
            message: `Databricks run ${runId} submitted`,
            submittedAt: ports.now().toISOString(),
          }
        : undefined;
    },
    job,
  );
  if (recorded && job.auth) countJobSubmitted(modeOf(job.auth));
  record.log.info('Databricks run submitted', { runId });
  if (saved.cancelRequested && saved.cancelSentAt === undefined) {
    // A DELETE arrived while the run was being created; the cancel handler saw no run id, so cancel it here.
    await client.cancelRun(runId);
    await mutateJob(ports.store, job.jobId, () => ({ cancelSentAt: ports.now().toISOString() }));
  }
  await startPollChain(ports, job.jobId);
}

/**
 * An AWS SDK error with its name in its message (`AccessDenied: User ... is not authorized ...`), so the job's
 * reason says what kind of failure it was; our own errors and deferrals pass through as they are.
 */
function named(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof ConnectorError || error instanceof DeferError) return error;
  if (error.name === 'Error' || error.message.startsWith(`${error.name}:`)) return error;
  return new Error(`${error.name}: ${error.message}`, { cause: error });
}

/** Settles, once, how the job authenticates, and records it (with the reason) before any credential is used. */
async function chooseAuth(job: Job, ports: JobPorts, record: RecordContext): Promise<Job> {
  const context = await ports.selectAuth(job);
  record.log.info('Auth chosen', { mode: context.mode, reason: context.reason });
  return mutateJob(ports.store, job.jobId, (current) => (current.auth ? undefined : { auth: context }), job);
}
