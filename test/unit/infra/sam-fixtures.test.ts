/**
 * The sample events and the env-vars file that infra/README.md hands to `sam local invoke`: they must be what the
 * handlers accept and what the synthesized template declares (SAM only overrides variables a function declares).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEvent, SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config.js';
import { cancelMessageSchema, pollMessageSchema, submitMessageSchemaFor } from '../../../shared/jobs/messages.js';
import { submitRequestSchema } from '../../../shared/jobs/submit-request.js';
import { synthStack } from './synth-stack.js';

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8')) as T;

const FUNCTIONS = ['ApiFunction', 'SubmitFunction', 'PollFunction', 'CancelFunction', 'SweepFunction'];

describe('Fixtures: sam local events', () => {
  it('api-post-job.json is a signed REST proxy POST /v1/jobs whose body the API accepts', () => {
    // Prepare
    const event = fixture<APIGatewayProxyEvent>('events/api-post-job.json');

    // Assess
    expect(event).toMatchObject({ httpMethod: 'POST', path: '/v1/jobs', resource: '/v1/jobs', isBase64Encoded: false });
    expect(event.requestContext.identity.userArn).toMatch(/^arn:aws:sts::\d{12}:assumed-role\//);
    expect(event.headers.Authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    expect(submitRequestSchema.safeParse(JSON.parse(event.body ?? '')).success).toBe(true);
  });

  it.each([
    ['sqs-submit.json', (body: unknown) => submitMessageSchemaFor(body)],
    ['sqs-poll.json', () => pollMessageSchema],
    ['sqs-cancel.json', () => cancelMessageSchema],
  ])('%s holds one valid message with a matching MD5', (name, schemaFor) => {
    // Prepare
    const event = fixture<SQSEvent>(`events/${name}`);
    const [record] = event.Records;
    const body: unknown = JSON.parse(record?.body ?? '');

    // Assess
    expect(event.Records).toHaveLength(1);
    expect(record?.eventSource).toBe('aws:sqs');
    expect(record?.md5OfBody).toBe(
      createHash('md5')
        .update(record?.body ?? '')
        .digest('hex'),
    );
    expect(schemaFor(body).safeParse(body).success).toBe(true);
    expect(body).toMatchObject({ jobId: expect.stringMatching(/^fdl-[0-9a-f]{40}$/) });
  });
});

describe('Fixtures: sam-env.json', () => {
  let variablesByFunction: Record<string, string[]>;

  beforeAll(() => {
    // As the README synthesizes for sam local: with the LocalStack endpoint declared.
    const { template } = synthStack({ localAwsEndpointUrl: 'http://localstack:4566' });
    const resources = template.toJSON().Resources;
    variablesByFunction = Object.fromEntries(
      FUNCTIONS.map((id) => [id, Object.keys(resources[id].Properties.Environment.Variables)]),
    );
  }, 60_000);

  it('overrides only variables every function declares, so none is silently ignored', () => {
    // Prepare
    const env = fixture<{ Parameters: Record<string, string> }>('sam-env.json');

    // Assess
    expect(Object.keys(env.Parameters).length).toBeGreaterThan(0);
    for (const id of FUNCTIONS)
      expect(variablesByFunction[id]).toEqual(expect.arrayContaining(Object.keys(env.Parameters)));
  });

  it('is a configuration the handlers accept', () => {
    // Prepare
    const env = fixture<{ Parameters: Record<string, string> }>('sam-env.json');

    // Act
    const config = parseConfig(env.Parameters);

    // Assess
    expect(config.SUBMIT_QUEUE_URL).toMatch(/^http:\/\/.*SubmitQueue/);
    expect(env.Parameters).not.toHaveProperty('FLYTE_DATABRICKS_ACCESS_TOKEN');
  });
});
