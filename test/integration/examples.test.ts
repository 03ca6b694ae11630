/**
 * The shipped examples, used exactly as the docs say: examples/jobs/pat.json sent as an SQS message (examples/sqs)
 * becomes the job the docs name, and SUCCEEDS with one run.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { runsFor, useTestStack, waitFor } from './support/test-stack.js';

const t = useTestStack();

describe('examples/sqs: a job triggered by an SQS message', () => {
  it('the sample body, sent to the submit queue, becomes the job whose id the docs derive, and SUCCEEDS', async () => {
    const body = readFileSync('examples/jobs/pat.json', 'utf8');
    const { namespace, executionId } = JSON.parse(body) as { namespace: string; executionId: string };
    await t.stack
      .sqsAs(t.stack.callerCredentials)
      .send(new SendMessageCommand({ QueueUrl: t.stack.queues.submit, MessageBody: body }));
    // The recipe in examples/sqs/README.md.
    const jobId = `fdl-${createHash('sha256').update(`${namespace}\0${executionId}`).digest('hex').slice(0, 40)}`;
    const done = await waitFor(
      () => t.api.get(jobId),
      (r) => r.status === 200 && ['SUCCEEDED', 'FAILED'].includes((r.body as { phase: string }).phase),
    );
    expect(done.body).toMatchObject({ jobId, namespace, phase: 'SUCCEEDED' });
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
  });
});
