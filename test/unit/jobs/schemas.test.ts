import { describe, expect, it } from 'vitest';
import { jobIdFor } from '../../../shared/jobs/job-id.js';
import { cancelMessageSchema, pollMessageSchema, submitMessageSchemaFor } from '../../../shared/jobs/messages.js';
import { submitRequestSchema } from '../../../shared/jobs/submit-request.js';

const validRequest = {
  namespace: 'flytesnacks-development',
  executionId: 'f1a2b3-n0-0',
  task: {
    databricksConf: { run_name: 'r', new_cluster: { spark_version: '13.3.x-scala2.12', num_workers: 1 } },
    databricksInstance: 'dbc-123.cloud.databricks.com',
    databricksTokenSecret: 'team-token',
    sparkType: 'PYTHON',
  },
  container: { image: 'ghcr.io/flyteorg/flytekit:py3.11', args: ['pyflyte-execute'], env: { A: '1' } },
};

describe('Schema: submitRequestSchema', () => {
  it('accepts a flytekit DatabricksV2 request and keeps unknown task keys from newer flytekit', () => {
    const parsed = submitRequestSchema.parse(validRequest);
    expect(parsed.task.sparkType).toBe('PYTHON');
    expect(parsed.container.args).toEqual(['pyflyte-execute']);
  });

  it('defaults the container when it is omitted', () => {
    const { container: _omitted, ...withoutContainer } = validRequest;
    expect(submitRequestSchema.parse(withoutContainer).container).toEqual({ args: [], env: {} });
  });

  it.each([
    [{ ...validRequest, namespace: 'Bad_Namespace' }, 'namespace'],
    [{ ...validRequest, executionId: 'has space' }, 'executionId'],
    [{ ...validRequest, executionId: '' }, 'executionId'],
    [{ ...validRequest, task: { ...validRequest.task, databricksConf: 'x' } }, 'task.databricksConf'],
    [{ ...validRequest, task: { ...validRequest.task, databricksAuthType: 'basic' } }, 'task.databricksAuthType'],
    [
      { ...validRequest, task: { ...validRequest.task, databricksInstance: 'https://x.com/path?q' } },
      'task.databricksInstance',
    ],
    [{ ...validRequest, task: { ...validRequest.task, databricksTokenSecret: '../x' } }, 'task.databricksTokenSecret'],
    [{ ...validRequest, container: { ...validRequest.container, env: { A: 1 } } }, 'container.env.A'],
  ])('rejects a bad field and names it (%#)', (body, field) => {
    const result = submitRequestSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(field);
  });

  it('rejects unknown top-level keys', () => {
    const result = submitRequestSchema.safeParse({ ...validRequest, extra: true });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.code).toBe('unrecognized_keys');
  });
});

describe('Schema: SQS messages', () => {
  const jobId = jobIdFor('ns', 'e');

  it('reads a submit message that names a job', () => {
    const value = { jobId };
    expect(submitMessageSchemaFor(value).parse(value)).toEqual({ jobId });
  });

  it('reads a submit message that is a whole job request, as POST takes it', () => {
    expect(submitMessageSchemaFor(validRequest).parse(validRequest)).toMatchObject({
      namespace: validRequest.namespace,
    });
  });

  it('reports errors against the shape the producer meant', () => {
    const byId = { jobId: 'nope' };
    expect(submitMessageSchemaFor(byId).safeParse(byId).error?.issues[0]?.path).toEqual(['jobId']);
    const byRequest = { ...validRequest, namespace: undefined };
    expect(submitMessageSchemaFor(byRequest).safeParse(byRequest).error?.issues[0]?.path).toEqual(['namespace']);
  });

  it('reads poll messages, defaulting the attempt, and rejects bad generations', () => {
    expect(pollMessageSchema.parse({ jobId, generation: 2 })).toEqual({ jobId, generation: 2, attempt: 0 });
    expect(pollMessageSchema.safeParse({ jobId, generation: 0 }).success).toBe(false);
    expect(pollMessageSchema.safeParse({ jobId, generation: 1.5 }).success).toBe(false);
  });

  it('reads cancel messages and rejects extra keys', () => {
    expect(cancelMessageSchema.parse({ jobId })).toEqual({ jobId });
    expect(cancelMessageSchema.safeParse({ jobId, force: true }).success).toBe(false);
  });
});
