/**
 * No lost job: on the local stack, with the sweeper running every second and a job stale after 10 s without a
 * heartbeat, a job whose poll chain is lost, and a job whose submit message was never sent,
 * both still end SUCCEEDED, with one Databricks run each, rescued once by the sweeper.
 *
 * The two jobs are lost side by side (concurrent tests): each waits out the stale window, which is most of its time,
 * and neither's assertions read the other's job (the poll queue found drained is usually checked before the unsent job
 * is found stale; a poll of that job, were one queued, is waited out, as the check waits for an empty queue).
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config.js';
import { acceptJob } from '../../shared/jobs/accept-job.js';
import type { Job } from '../../shared/jobs/job.js';
import { DynamoDbJobStore } from '../../shared/jobs/job-store.js';
import { mutateJob } from '../../shared/jobs/mutate-job.js';
import { submitRequestSchema } from '../../shared/jobs/submit-request.js';
import { jobRequest, runsFor, useTestStack, waitFor, waitForTerminal } from './support/test-stack.js';

const POLL_INTERVAL_SECONDS = 2;
/**
 * A live job's polls come every POLL_INTERVAL_SECONDS plus the invocation itself (the test stack's event sources
 * have no batching window), 2-4 s apart on this loaded machine, each writing the heartbeat (older than 1 s). 10 s
 * without one is stale: well past a healthy job's gap, so the sweeper rescues only the jobs this file loses, and
 * exactly once.
 */
const HEARTBEAT_SECONDS = 1;
const STALE_AFTER_SECONDS = 10;
/** The workspace's clock runs this far ahead of the real one: moving it on ends a long run when the test wants. */
let clockSkewMs = 0;
const t = useTestStack({
  pollIntervalSeconds: { min: POLL_INTERVAL_SECONDS, max: POLL_INTERVAL_SECONDS },
  env: { HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS), STALE_AFTER_SECONDS: String(STALE_AFTER_SECONDS) },
  // The template's schedule is every 5 minutes: a sweep a second here.
  sweepIntervalMs: 1000,
  databricks: {
    timing: { pendingMs: 150, runningMs: 400, terminatingMs: 50 },
    clock: () => Date.now() + clockSkewMs,
    // A run that lasts until the test moves the clock on: its poll chain is lost and restarted while it runs.
    outcome: (body) =>
      String(body.run_name).startsWith('long-')
        ? { resultState: 'SUCCESS', timing: { runningMs: 600_000 } }
        : { resultState: 'SUCCESS' },
  },
});

const store = () => new DynamoDbJobStore(t.stack.dynamodb, t.stack.tableName);
const storedJob = async (jobId: string) => (await store().get(jobId)) as Job;

async function queueCounts(QueueUrl: string): Promise<{ visible: number; inFlight: number; delayed: number }> {
  const { Attributes = {} } = await t.stack.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

describe('the sweeper', () => {
  it("runs with this file's liveness settings, in every function", () => {
    for (const fn of ['SweepFunction', 'PollFunction', 'SubmitFunction']) {
      expect(t.stack.describe.differences[fn], fn).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^HEARTBEAT_SECONDS: .*the scenario's setting/),
          expect.stringMatching(/^STALE_AFTER_SECONDS: .*the scenario's setting/),
        ]),
      );
    }
    expect(t.stack.env).toMatchObject({
      HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
      STALE_AFTER_SECONDS: String(STALE_AFTER_SECONDS),
    });
  });

  it.concurrent("restarts a running job's lost poll chain: the job still SUCCEEDS, with one run", async ({
    expect,
  }) => {
    // Prepare: a long run, polled.
    const { body } = await t.api.submit(jobRequest('long-lost-poll'));
    const jobId = (body as { jobId: string }).jobId;
    const polled = await waitFor(
      () => storedJob(jobId),
      (job) => job.phase === 'RUNNING',
    );
    expect(polled.phase).toBe('RUNNING');
    // Act: lose the chain. Retiring its generation in the table is what a lost message amounts to: the chain's
    // next message is dropped as stale and nothing schedules another poll. (Racing the event source to delete the
    // message itself would make the test depend on timing.)
    const lost = await mutateJob(store(), jobId, (live) => ({ pollGeneration: live.pollGeneration + 1 }));
    const drained = await waitFor(
      () => queueCounts(t.stack.queues.poll),
      (c) => c.visible + c.inFlight + c.delayed === 0,
    );
    // The chain is gone: no message left, and the job did not move.
    expect(drained).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(lost.phase).toBe('RUNNING');

    // Assess: the sweeper notices and restarts the chain with a new generation, which follows the run to its end.
    const rescued = await waitFor(
      () => storedJob(jobId),
      // The rescue is claimed (rescues + 1) before the new chain starts (generation + 1): wait for both.
      (job) => job.rescues === (lost.rescues ?? 0) + 1 && job.pollGeneration > lost.pollGeneration,
      (STALE_AFTER_SECONDS + 15) * 1000,
    );
    expect(rescued).toMatchObject({ phase: 'RUNNING', pollGeneration: lost.pollGeneration + 1 });
    clockSkewMs += 600_000;
    const done = await waitForTerminal(t.api, jobId, 20_000);
    expect(done.phase).toBe('SUCCEEDED');
    expect(await storedJob(jobId)).toMatchObject({ rescues: rescued.rescues, pollGeneration: rescued.pollGeneration });
    expect(await storedJob(jobId)).not.toHaveProperty('liveShard');
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
  }, 75_000);

  it.concurrent('submits a job whose submit message was never sent: it SUCCEEDS, with one run', async ({ expect }) => {
    // Prepare: the job stored as the API stores it, but the SendMessage that should have followed never happened.
    const request = submitRequestSchema.parse(jobRequest('lost-submit'));
    const { job } = await acceptJob(request, {
      store: store(),
      config: parseConfig(t.stack.env),
      now: new Date(),
    });
    expect(job.phase).toBe('QUEUED');

    // Assess
    // Stale after STALE_AFTER_SECONDS, then a sweep, the submit and a poll.
    const done = await waitForTerminal(t.api, job.jobId, (STALE_AFTER_SECONDS + 25) * 1000);
    expect(done.phase).toBe('SUCCEEDED');
    expect(await storedJob(job.jobId)).toMatchObject({ rescues: 1 });
    expect(runsFor(t.stack, job.jobId)).toHaveLength(1);
  }, 60_000);
});
