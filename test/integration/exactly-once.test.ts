/**
 * Exactly one Databricks run per job, whatever is repeated: the same POST, the same submit message delivered
 * twice or concurrently, a whole request sent straight to the queue, a 5xx burst, a response lost after the run
 * was created.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { jobRequest, NAMESPACE, runsFor, useTestStack, waitFor, waitForTerminal } from './support/test-stack.js';

const t = useTestStack();

const sendSubmit = (body: unknown) =>
  t.stack
    .sqsAs(t.stack.callerCredentials)
    .send(new SendMessageCommand({ QueueUrl: t.stack.queues.submit, MessageBody: JSON.stringify(body) }));

describe('exactly one run per job', () => {
  it('the same POST twice: one job (202 then 200, same id), one run', async () => {
    const request = jobRequest('once-post-twice');
    const first = await t.api.submit(request);
    const second = await t.api.submit(request);
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    const jobId = jobIdFor(NAMESPACE, 'once-post-twice');
    expect(first.body).toMatchObject({ jobId });
    expect(second.body).toMatchObject({ jobId });
    expect((await waitForTerminal(t.api, jobId)).phase).toBe('SUCCEEDED');
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
  });

  it('the same executionId with a different request is a 409 conflict naming executionId', async () => {
    await t.api.submit(jobRequest('once-conflict'));
    const other = jobRequest('once-conflict', { container: { image: 'other:1', args: [] } });
    const { status, body } = await t.api.submit(other);
    expect(status).toBe(409);
    expect(body).toMatchObject({ error: { code: 'Conflict', field: 'executionId' } });
  });

  it('the same submit message delivered twice, and concurrently: one run, job SUCCEEDED', async () => {
    const jobId = jobIdFor(NAMESPACE, 'once-redelivered');
    await t.api.submit(jobRequest('once-redelivered'));
    // Two more deliveries of the very message the API sent, at once.
    await Promise.all([sendSubmit({ jobId }), sendSubmit({ jobId })]);
    expect((await waitForTerminal(t.api, jobId)).phase).toBe('SUCCEEDED');
    // Every delivery has been handled once the submit queue is empty; only then is the count final.
    await t.stack.drain();
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
  });

  it('a whole job request sent straight to the submit queue ends in the same job the API would create', async () => {
    const request = jobRequest('once-via-sqs');
    await sendSubmit(request);
    await sendSubmit(request);
    const jobId = jobIdFor(NAMESPACE, 'once-via-sqs');
    const done = await waitFor(
      () => t.api.get(jobId),
      (r) => r.status === 200 && ['SUCCEEDED', 'FAILED'].includes((r.body as { phase: string }).phase),
    );
    expect(done.body).toMatchObject({ jobId, phase: 'SUCCEEDED' });
    // And the API, asked the same, finds that job rather than making another.
    const again = await t.api.submit(request);
    expect(again.status).toBe(200);
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
  });

  it('a Databricks 5xx burst on submit and get: still one run, and success', async () => {
    const unavailable = { status: 503, body: { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'try later' } };
    t.stack.databricks.injectFaults('submit', [unavailable, { status: 502, body: 'Bad Gateway' }, unavailable]);
    t.stack.databricks.injectFaults('get', [unavailable, { status: 504, body: 'Gateway Timeout' }]);
    const jobId = jobIdFor(NAMESPACE, 'once-5xx');
    await t.api.submit(jobRequest('once-5xx'));
    expect((await waitForTerminal(t.api, jobId)).phase).toBe('SUCCEEDED');
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
  });

  it('a runs/submit response lost after the run was created: the retry gets the same run', async () => {
    t.stack.databricks.injectFaults('submit', ['reset-after']);
    const jobId = jobIdFor(NAMESPACE, 'once-lost-response');
    await t.api.submit(jobRequest('once-lost-response'));
    expect((await waitForTerminal(t.api, jobId)).phase).toBe('SUCCEEDED');
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
    const submits = t.stack.databricks.requests.filter((r) => r.path.endsWith('runs/submit'));
    expect(submits.some((r) => r.status === 0)).toBe(true);
  });
});
