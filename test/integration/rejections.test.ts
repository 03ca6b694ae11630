/**
 * What must be refused, and what a refusal leaves behind: bad bodies get a 400 naming the field and store
 * nothing; a job whose PAT is missing ends FAILED saying which secret and namespace were looked at, and no
 * secret value reaches the table, the API or the logs.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import {
  jobRequest,
  peekQueue,
  scanJobs,
  startTestStack,
  type TestStack,
  waitFor,
  waitForTerminal,
} from './support/test-stack.js';

let t: TestStack;
/** The lines the functions printed (in their own processes, as CloudWatch Logs would hold them) during this test. */
let output: string[] = [];

beforeAll(async () => {
  // Every log line, debug included, is captured: a secret must not appear even there. The test stack's short
  // visibility timeout (3 s; its event sources have no batching window) lets a bad message spend its receives and
  // reach the DLQ within the test, 3 s a receive: 3 receives (the template's 5 would take 15 s) still show every
  // receive failing before the last one sends it to the DLQ. A message that is handled is never near that count: it
  // would take three receives in a row that each outlast the visibility timeout.
  t = await startTestStack({
    logLevel: 'DEBUG',
    onFunctionLog: (line) => output.push(line),
    maxReceiveCount: 3,
  });
});
afterAll(async () => {
  await t?.stack.stop();
});
afterEach(() => {
  output = [];
});

describe('bad request bodies', () => {
  const valid = jobRequest('reject-valid-shape');
  const cases: Array<[string, string | object, string | undefined]> = [
    ['not JSON', '{"namespace":', undefined],
    ['an array', '[]', undefined],
    ['no namespace', { ...valid, namespace: undefined }, 'namespace'],
    ['a namespace with capitals', { ...valid, namespace: 'Team_A' }, 'namespace'],
    ['an executionId with spaces', { ...valid, executionId: 'a b' }, 'executionId'],
    ['no databricksConf', { ...valid, task: {} }, 'task.databricksConf'],
    [
      'an unknown auth type',
      { ...valid, task: { ...valid.task, databricksAuthType: 'magic' } },
      'task.databricksAuthType',
    ],
    ['an unknown top-level key', { ...valid, priority: 1 }, 'priority'],
    ['no compute configuration', { ...valid, task: { databricksConf: { run_name: 'x' } } }, 'task.databricksConf'],
    [
      'a workspace over plain http',
      { ...valid, task: { ...valid.task, databricksInstance: 'http://evil.example.com' } },
      'task.databricksInstance',
    ],
  ];

  it.each(cases)('%s: 400 naming the field, nothing stored', async (_name, body, field) => {
    const before = (await scanJobs(t.stack)).length;
    const { status, body: answer } = await t.api.call<{ error: { code: string; message: string; field?: string } }>(
      'POST',
      '/v1/jobs',
      typeof body === 'string' ? body : JSON.stringify(body),
    );
    expect(status).toBe(400);
    expect(answer.error.message.length).toBeGreaterThan(0);
    if (field) expect(answer.error.field).toBe(field);
    expect(await scanJobs(t.stack)).toHaveLength(before);
  });

  it('names the missing workspace the way upstream does when no instance is known', async () => {
    // The local stack sets FLYTE_DATABRICKS_INSTANCE; an empty instance is refused on its own terms.
    const { status, body } = await t.api.call<{ error: { field?: string } }>(
      'POST',
      '/v1/jobs',
      JSON.stringify({ ...valid, task: { ...valid.task, databricksInstance: '' } }),
    );
    expect(status).toBe(400);
    expect(body.error.field).toBe('task.databricksInstance');
  });
});

describe('a PAT that is missing everywhere', () => {
  it('ends the job FAILED naming the secret and the namespace, with no secret anywhere', async () => {
    // Prepare: a tenant with no secret of its own; the demo tenant's PAT exists and must never leak.
    const request = { ...jobRequest('reject-no-pat'), namespace: 'team-without-secret' };
    const jobId = jobIdFor('team-without-secret', 'reject-no-pat');
    // Act
    const { status } = await t.api.submit(request);
    const done = await waitForTerminal(t.api, jobId);
    // Assess
    expect(status).toBe(202);
    expect(done.phase).toBe('FAILED');
    expect(done.message).toContain("namespace 'team-without-secret'");
    expect(done.message).toContain("'flyte/team-without-secret/databricks-token'");
    expect(done.message).toContain('FLYTE_DATABRICKS_ACCESS_TOKEN');
    expect(t.stack.databricks.runs().filter((r) => r.idempotencyToken === jobId)).toHaveLength(0);

    const table = JSON.stringify(await scanJobs(t.stack));
    const logs = output.join('');
    expect(logs).toContain(jobId);
    for (const haystack of [table, logs, JSON.stringify(done)]) {
      expect(haystack).not.toMatch(/dapi[0-9a-f]{8,}/);
    }
  });

  it('keeps tokens out of the table and logs for a job that does run', async () => {
    const jobId = jobIdFor('flytesnacks-development', 'reject-token-hygiene');
    await t.api.submit(jobRequest('reject-token-hygiene'));
    expect((await waitForTerminal(t.api, jobId)).phase).toBe('SUCCEEDED');
    const table = JSON.stringify(await scanJobs(t.stack));
    expect(table).not.toMatch(/dapi[0-9a-f]{8,}/);
    expect(table).not.toMatch(/Bearer/i);
    // The capture saw this job's lines (the functions print in their own processes, not to this one's stdout).
    expect(output.some((line) => line.includes(jobId))).toBe(true);
    expect(output.join('')).not.toMatch(/dapi[0-9a-f]{8,}/);
  });
});

describe('bad SQS messages', () => {
  it('a submit message that is not JSON fails each receive, then lands in the DLQ, its reason logged', {
    timeout: 90_000,
  }, async () => {
    // Sent by the local caller, a producer the submit queue's policy names (the operator is not one).
    const { MessageId } = await t.stack
      .sqsAs(t.stack.callerCredentials)
      .send(new SendMessageCommand({ QueueUrl: t.stack.queues.submit, MessageBody: 'not json {' }));
    const dlq = await waitFor(
      () => peekQueue(t.stack, t.stack.queues.submitDlq),
      (bodies) => bodies.includes('not json {'),
      80_000,
    );
    expect(dlq).toContain('not json {');
    const lines = output.filter((line) => line.includes(`"messageId":"${MessageId}"`));
    // Every receive failed with the reason: MAX_RECEIVE_COUNT of them, the last one saying where it goes.
    expect(lines.filter((line) => /is not JSON/.test(line))).toHaveLength(Number(t.stack.env.MAX_RECEIVE_COUNT));
    const logs = lines.join('\n');
    expect(logs).toMatch(/is not JSON/);
    expect(logs).toMatch(/last receive; it goes to the DLQ/);
  });

  it('a poll message for a job that does not exist is dropped with a warning, not retried', async () => {
    const jobId = jobIdFor('ghost-namespace', 'ghost');
    // Sent as the poll function's role, a producer the poll queue's policy names (the operator is not one).
    await t.stack.sqsAs(t.stack.credentialsOf('poll')).send(
      new SendMessageCommand({
        QueueUrl: t.stack.queues.poll,
        MessageBody: JSON.stringify({ jobId, generation: 1 }),
      }),
    );
    // The function's lines come through its process's stdout: wait for them rather than only for the queue.
    const lines = await waitFor(
      async () => output.filter((line) => line.includes(jobId)),
      (found) => found.some((line) => line.includes('Poll message names no job')),
    );
    await t.stack.drain();
    expect(lines.some((line) => line.includes('Poll message names no job; dropping it'))).toBe(true);
    const logs = output.filter((line) => line.includes(jobId));
    // Dropped on its first receive, never failed, so never received again.
    expect(logs.filter((line) => line.includes('Poll message names no job'))).toHaveLength(1);
    expect(logs.join('\n')).not.toMatch(/Record failed/);
    expect(await peekQueue(t.stack, t.stack.queues.pollDlq)).toEqual([]);
  });
});
