/**
 * The document and the code must give the same answers: a body the zod schema accepts is one the document's JSON
 * Schema accepts and vice versa, and every job view the API can write is one the document's Job schema allows.
 * The JSON Schema side runs on ajv's draft 2020-12 engine, the one @seriousme/openapi-schema-validator uses.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../shared/api/openapi-document.js';
import { jobListSchema, jobViewSchema, listJobsQuerySchema } from '../../../shared/api/schemas.js';
import type { AuthContext } from '../../../shared/auth/auth-context.js';
import { type Job, toJobView } from '../../../shared/jobs/job.js';
import { jobIdFor } from '../../../shared/jobs/job-id.js';
import { PHASES } from '../../../shared/jobs/phase.js';
import { submitRequestSchema } from '../../../shared/jobs/submit-request.js';

// Both are CommonJS; their constructor and plugin are the `default` export.
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

type Check = (value: unknown) => boolean;

/** The value at a path of keys in the resolved document. */
function at(value: unknown, ...keys: string[]): unknown {
  return keys.reduce<unknown>((node, key) => {
    if (typeof node !== 'object' || node === null || !(key in node)) throw new Error(`no ${keys.join('.')}`);
    return (node as Record<string, unknown>)[key];
  }, value);
}
const JSON_BODY = ['content', 'application/json', 'schema'];

/** The document with every $ref resolved, as the validator package resolves it. */
let resolved: unknown;
let validBody: Check;
let validJob: Check;
let validJobList: Check;

beforeAll(async () => {
  const validator = new Validator();
  const { valid } = await validator.validate(openApiDocument() as unknown as Record<string, unknown>);
  expect(valid).toBe(true);
  resolved = validator.resolveRefs();
  const ajv = new Ajv2020({ allErrors: true });
  addFormats(ajv);
  const compile = (schema: unknown): Check => {
    const check = ajv.compile(schema as object);
    return (value) => check(value);
  };
  validBody = compile(at(resolved, 'paths', '/v1/jobs', 'post', 'requestBody', ...JSON_BODY));
  validJob = compile(at(resolved, 'paths', '/v1/jobs/{id}', 'get', 'responses', '200', ...JSON_BODY));
  validJobList = compile(at(resolved, 'paths', '/v1/jobs', 'get', 'responses', '200', ...JSON_BODY));
});

const valid = {
  namespace: 'flytesnacks-development',
  executionId: 'f1a2b3-n0-0',
  task: {
    databricksConf: { run_name: 'r', new_cluster: { spark_version: '13.3.x-scala2.12', num_workers: 1 } },
    databricksInstance: 'dbc-123.cloud.databricks.com',
    databricksTokenSecret: 'team-token',
    databricksAuthType: 'pat',
    sparkConf: { 'spark.speculation': 'true' },
  },
  container: { image: 'ghcr.io/flyteorg/flytekit:py3.11', args: ['pyflyte-execute'], env: { A: '1' } },
};
const withTask = (task: Record<string, unknown>) => ({ ...valid, task: { ...valid.task, ...task } });
const withContainer = (container: Record<string, unknown>) => ({
  ...valid,
  container: { ...valid.container, ...container },
});
const { namespace: _namespace, ...withoutNamespace } = valid;
const { container: _container, ...withoutContainer } = valid;

const bodies: Array<[string, unknown, boolean]> = [
  ['a full request', valid, true],
  ['a request without container (defaulted)', withoutContainer, true],
  ['the least a request needs', { namespace: 'a', executionId: 'x', task: { databricksConf: {} } }, true],
  ['a task key from a newer flytekit', withTask({ sparkType: 'PYTHON', somethingNew: { nested: [1] } }), true],
  ['a container with only an image', { ...valid, container: { image: 'i' } }, true],
  ['a 63-character namespace', { ...valid, namespace: 'a'.repeat(63) }, true],
  ['an https workspace URL with a port', withTask({ databricksInstance: 'https://dbc-1.example.com:8443/' }), true],
  ['no namespace', withoutNamespace, false],
  ['an upper-case namespace', { ...valid, namespace: 'Bad_Namespace' }, false],
  ['a namespace ending with a dash', { ...valid, namespace: 'team-' }, false],
  ['a 64-character namespace', { ...valid, namespace: 'a'.repeat(64) }, false],
  ['an unknown top-level key', { ...valid, extra: true }, false],
  ['an executionId with a space', { ...valid, executionId: 'has space' }, false],
  ['an empty executionId', { ...valid, executionId: '' }, false],
  ['no task', { ...valid, task: undefined }, false],
  ['a task without databricksConf', { ...valid, task: { databricksInstance: 'dbc-1.example.com' } }, false],
  ['databricksConf as a string', withTask({ databricksConf: 'x' }), false],
  ['databricksConf as an array', withTask({ databricksConf: [] }), false],
  ['databricksConf as null', withTask({ databricksConf: null }), false],
  ['an unknown databricksAuthType', withTask({ databricksAuthType: 'basic' }), false],
  ['a workspace host with a path', withTask({ databricksInstance: 'https://x.com/path?q' }), false],
  ['a secret name with a slash', withTask({ databricksTokenSecret: '../x' }), false],
  ['a sparkConf value that is a number', withTask({ sparkConf: { 'spark.x': 1 } }), false],
  ['container.env with a number', withContainer({ env: { A: 1 } }), false],
  ['container.env with null', withContainer({ env: { A: null } }), false],
  ['container.args with a number', withContainer({ args: ['a', 2] }), false],
  ['an unknown container key', withContainer({ command: ['x'] }), false],
  ['container as null', { ...valid, container: null }, false],
  ['an array body', [valid], false],
  ['a string body', 'namespace', false],
  ['a null body', null, false],
];

describe('Drift: POST /v1/jobs body, zod vs the document', () => {
  it.each(bodies)('gives the same verdict for %s', (_name, body, expected) => {
    // Act
    const zodVerdict = submitRequestSchema.safeParse(body).success;
    const documentVerdict = validBody(body);

    // Assess
    expect(zodVerdict).toBe(expected);
    expect(documentVerdict).toBe(zodVerdict);
  });
});

describe('Drift: GET /v1/jobs query, zod vs the document', () => {
  /** API Gateway hands query values over as strings; OpenAPI reads an integer parameter as its number. */
  function documentVerdict(query: Record<string, string>): boolean {
    const parameters = at(resolved, 'paths', '/v1/jobs', 'get', 'parameters') as Array<{
      name: string;
      required: boolean;
      schema: { type?: string };
    }>;
    return parameters.every(({ name, required, schema }) => {
      const raw = query[name];
      if (raw === undefined) return !required;
      const value = schema.type === 'integer' && /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
      return new Ajv2020().validate(schema, value);
    });
  }

  it.each([
    [{ namespace: 'flytesnacks-development' }, true],
    [{ namespace: 'flytesnacks-development', limit: '1', nextToken: 'abc' }, true],
    [{ namespace: 'flytesnacks-development', limit: '100' }, true],
    [{}, false],
    [{ namespace: 'Bad_Namespace' }, false],
    [{ namespace: 'ns', limit: '0' }, false],
    [{ namespace: 'ns', limit: '101' }, false],
    [{ namespace: 'ns', limit: '2.5' }, false],
    [{ namespace: 'ns', limit: 'ten' }, false],
    [{ namespace: 'ns', nextToken: '' }, false],
  ])('gives the same verdict for %j', (query, expected) => {
    const zodVerdict = listJobsQuerySchema.safeParse(query).success;

    expect(zodVerdict).toBe(expected);
    expect(documentVerdict(query)).toBe(zodVerdict);
  });
});

describe('Drift: toJobView() output vs the response schemas', () => {
  const createdAt = '2025-03-01T12:00:00.000Z';
  const baseJob: Job = {
    jobId: jobIdFor('flytesnacks-development', 'e-1'),
    namespace: 'flytesnacks-development',
    executionId: 'e-1',
    requestHash: 'a'.repeat(64),
    task: { databricksConf: { run_name: 'r' } },
    container: { args: [], env: {} },
    databricksHost: 'https://dbc-1.cloud.databricks.com',
    phase: 'QUEUED',
    message: 'Accepted; waiting to be submitted to Databricks',
    cancelRequested: false,
    pollGeneration: 0,
    version: 1,
    createdAt,
    updatedAt: createdAt,
    expiresAt: 1_740_830_400,
  };
  const auths: Array<AuthContext | undefined> = [
    undefined,
    { authType: 'pat', namespace: 'flytesnacks-development' }, // stored before modes existed
    { authType: 'pat', mode: 'pat', namespace: 'n', reason: 'task databricksAuthType=pat', tokenSecretName: 't' },
    { authType: 'oauth_m2m', mode: 'oauth_m2m', namespace: 'n', reason: 'auto-detect', clientId: 'c' },
    { authType: 'oidc_federation', mode: 'oidc_model1_sts', namespace: 'n', reason: 'r', oidcAudience: 'a' },
    { authType: 'oidc_federation', mode: 'oidc_model2', namespace: 'n', reason: 'r', serviceAccount: 'sa' },
    { authType: 'oidc_federation', namespace: 'n' },
  ];
  const jobs: Job[] = PHASES.flatMap((phase) =>
    auths.map((auth, index) => ({
      ...baseJob,
      phase,
      ...(auth ? { auth } : {}),
      ...(index % 2 === 1
        ? {
            runId: 1234 + index,
            runPageUrl: 'https://dbc-1.cloud.databricks.com/?o=1#job/9/run/1234',
            lifeCycleState: 'RUNNING',
            resultState: 'SUCCESS',
            submittedAt: '2025-03-01T12:00:01.000Z',
            finishedAt: '2025-03-01T12:30:00.123Z',
            cancelRequested: true,
          }
        : {}),
    })),
  );

  it.each(jobs.map((job) => [job.phase, job.auth?.mode ?? job.auth?.authType ?? 'no auth', job] as const))(
    'a %s job (%s) is a valid Job for zod and for the document',
    (_phase, _auth, job) => {
      const view = toJobView(job);

      expect(jobViewSchema.parse(view)).toEqual(view);
      expect(validJob(JSON.parse(JSON.stringify(view)))).toBe(true);
    },
  );

  it('a list of them, with and without a next page, is a valid JobList', () => {
    for (const nextToken of [null, 'eyJrIjoiYSJ9']) {
      const list = { jobs: jobs.map(toJobView), nextToken };

      expect(jobListSchema.safeParse(list).success).toBe(true);
      expect(validJobList(JSON.parse(JSON.stringify(list)))).toBe(true);
    }
  });

  it.each([
    ['an extra key', { message: 'm', extra: 1 }],
    ['a timestamp that is not one', { createdAt: 'yesterday' }],
    ['an unknown phase', { phase: 'PAUSED' }],
    ['a missing nullable field', { runId: undefined }],
  ])('both reject a view with %s', (_name, change) => {
    const view = JSON.parse(JSON.stringify({ ...toJobView(baseJob), ...change }));

    expect(jobViewSchema.safeParse(view).success).toBe(false);
    expect(validJob(view)).toBe(false);
  });
});
