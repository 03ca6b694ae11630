/**
 * The benchmark's events are what the handlers accept: SQS bodies that pass the handlers' own message schemas, an
 * API Gateway event the api function routes and reads its caller from, an EventBridge scheduled event.
 */
import { describe, expect, it } from 'vitest';
import {
  cancelMessage,
  getJobEvent,
  pollMessage,
  sqsEvent,
  submitMessage,
  sweepEvent,
} from '../../../bench/bench-events.js';
import { benchJobRequest, benchStackOptions } from '../../../bench/bench-jobs.js';
import { callerOf } from '../../../functions/api/caller-namespaces.js';
import { jobIdFor } from '../../../shared/jobs/job-id.js';
import { cancelMessageSchema, pollMessageSchema, submitMessageSchemaFor } from '../../../shared/jobs/messages.js';
import { submitRequestSchema } from '../../../shared/jobs/submit-request.js';

const job = { jobId: jobIdFor('bench-m2m', 'exec-1'), pollGeneration: 3 };
const source = { region: 'eu-west-1' };

describe('Function: sqsEvent()', () => {
  it('makes one Lambda SQS record per message, bodies as JSON, first receive', () => {
    const event = sqsEvent([pollMessage(job), pollMessage(job, 4)], 'flyte-databricks-poll', source, 1_700_000_000_000);
    expect(event.Records).toHaveLength(2);
    const [record] = event.Records;
    expect(record).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:flyte-databricks-poll',
      awsRegion: 'eu-west-1',
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1700000000000' },
    });
    expect(new Set(event.Records.map((r) => r.messageId)).size).toBe(2);
    expect(JSON.parse(event.Records[1]?.body ?? '')).toEqual({ jobId: job.jobId, generation: 3, attempt: 4 });
  });
});

describe('Messages', () => {
  it("a poll names the job's current chain and passes the poll schema", () => {
    expect(pollMessageSchema.parse(pollMessage(job))).toEqual({ jobId: job.jobId, generation: 3, attempt: 0 });
  });

  it('submit and cancel messages pass their schemas', () => {
    const submit = submitMessage(job);
    expect(submitMessageSchemaFor(submit).parse(submit)).toEqual({ jobId: job.jobId });
    expect(cancelMessageSchema.parse(cancelMessage(job))).toEqual({ jobId: job.jobId });
  });
});

describe('Function: getJobEvent()', () => {
  const caller = { accessKey: 'AKIAEXAMPLE', userArn: 'arn:aws:iam::123456789012:user/bench' };

  it('is GET /v1/jobs/{id} with the id as path parameter', () => {
    const event = getJobEvent(job.jobId, caller, source);
    expect(event).toMatchObject({
      httpMethod: 'GET',
      resource: '/v1/jobs/{id}',
      path: `/v1/jobs/${job.jobId}`,
      pathParameters: { id: job.jobId },
      body: null,
    });
    expect(event.requestContext.resourcePath).toBe('/v1/jobs/{id}');
  });

  it('carries the IAM caller as API Gateway fills it in', () => {
    expect(callerOf(getJobEvent(job.jobId, caller, source))).toBe(caller.userArn);
  });
});

describe('Function: sweepEvent()', () => {
  it('is what an EventBridge schedule rule sends', () => {
    const event = sweepEvent('sweep-schedule', source, new Date('2026-01-02T03:04:05.678Z'));
    expect(event).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2026-01-02T03:04:05Z',
      resources: ['arn:aws:events:eu-west-1:123456789012:rule/sweep-schedule'],
    });
  });
});

describe('Bench jobs', () => {
  it('a bench job request is a valid POST /v1/jobs body', () => {
    expect(submitRequestSchema.safeParse(benchJobRequest('exec-1')).success).toBe(true);
  });

  it('benchStackOptions configures connector OAuth M2M with the service principal the emulator knows', () => {
    const options = benchStackOptions();
    expect(options.env.FLYTE_DATABRICKS_AUTH_TYPE).toBe('oauth_m2m');
    expect(options.databricks.servicePrincipals).toEqual([
      expect.objectContaining({
        applicationId: options.env.DATABRICKS_CLIENT_ID,
        secrets: [options.env.DATABRICKS_CLIENT_SECRET],
      }),
    ]);
  });
});
