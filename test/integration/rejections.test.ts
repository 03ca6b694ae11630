/**
 * What must be refused, and what a refusal leaves behind: bad bodies get a 400 naming the field and store
 * nothing; a job whose PAT is missing ends FAILED saying which secret and namespace were looked at, and no
 * secret value reaches the table, the API or the logs.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
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
let output: string[] = [];
const writes = vi.fn((chunk: unknown) => {
  output.push(String(chunk));
  return true;
});

beforeAll(async () => {
  // Every log line, debug included, is captured: a secret must not appear even there.
  // A short visibility timeout so a bad message spends its receives (and reaches the DLQ) within the test.
  t = await startTestStack({ env: { POWERTOOLS_LOG_LEVEL: 'DEBUG' }, visibilityTimeoutSeconds: 1 });
  vi.spyOn(process.stdout, 'write').mockImplementation(writes as never);
  vi.spyOn(process.stderr, 'write').mockImplementation(writes as never);
});
afterAll(async () => {
  vi.restoreAllMocks();
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
    expect(output.join('')).not.toMatch(/dapi[0-9a-f]{8,}/);
  });
});

describe('bad SQS messages', () => {
  it('a submit message that is not JSON fails each receive, then lands in the DLQ, its reason logged', async () => {
    await t.stack.sqs.send(new SendMessageCommand({ QueueUrl: t.stack.queues.submit, MessageBody: 'not json {' }));
    const dlq = await waitFor(
      () => peekQueue(t.stack, t.stack.queues.submitDlq),
      (bodies) => bodies.includes('not json {'),
    );
    expect(dlq).toContain('not json {');
    const logs = output.join('');
    expect(logs).toMatch(/is not JSON/);
    expect(logs).toMatch(/last receive; it goes to the DLQ/);
  });

  it('a poll message for a job that does not exist is dropped with a warning, not retried', async () => {
    const jobId = jobIdFor('ghost-namespace', 'ghost');
    await t.stack.sqs.send(
      new SendMessageCommand({ QueueUrl: t.stack.queues.poll, MessageBody: JSON.stringify({ jobId, generation: 1 }) }),
    );
    await t.stack.drain();
    expect(output.join('')).toMatch(/Poll message names no job; dropping it/);
    expect(await peekQueue(t.stack, t.stack.queues.pollDlq)).toEqual([]);
  });
});
