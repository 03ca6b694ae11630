import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { routes } from '../../../functions/api/handler.js';
import { errorResponse, HttpError } from '../../../functions/api/http-error.js';
import { DEFAULT_LIST_LIMIT } from '../../../functions/api/list-jobs.js';
import { MAX_BODY_BYTES } from '../../../functions/api/parse-body.js';
import {
  queuedJobExample,
  runningJobExample,
  submitRequestExample,
  validationErrorExample,
} from '../../../shared/api/examples.js';
import { type OpenApiDocument, openApiDocument } from '../../../shared/api/openapi-document.js';
import { errorBodySchema, jobListSchema, jobViewSchema } from '../../../shared/api/schemas.js';
import { JSON_LIMITS } from '../../../shared/jobs/json-limits.js';
import { submitRequestSchema } from '../../../shared/jobs/submit-request.js';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const COMMITTED = new URL('../../../openapi.json', import.meta.url);

interface Operation {
  operationId: string;
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
  parameters?: Array<{ name: string; in: string; required: boolean; description?: string; schema: unknown }>;
}

function operations(doc: OpenApiDocument): Array<{ key: string; operation: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, operation: operation as Operation })),
  );
}

function operation(doc: OpenApiDocument, path: string, method: string): Operation {
  const found = doc.paths[path]?.[method];
  if (!found) throw new Error(`no ${method} ${path} in the document`);
  return found as Operation;
}

/** The response object, following a #/components/responses/ reference. */
function response(doc: OpenApiDocument, op: Operation, status: string) {
  const entry = op.responses[status];
  const name = entry?.$ref?.replace('#/components/responses/', '');
  return (name ? doc.components.responses[name] : entry) as
    | { description: string; content?: Record<string, { schema: unknown }> }
    | undefined;
}

describe('Function: openApiDocument()', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    // Prepare
    const validator = new Validator();

    // Act
    const result = await validator.validate(openApiDocument() as unknown as Record<string, unknown>);

    // Assess
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('is still valid with servers, and puts the server URL there', async () => {
    const doc = openApiDocument({ serverUrl: 'https://abc.execute-api.us-east-1.amazonaws.com/prod' });

    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);

    expect(result.valid).toBe(true);
    expect(doc.servers).toEqual([{ url: 'https://abc.execute-api.us-east-1.amazonaws.com/prod' }]);
    expect(openApiDocument()).not.toHaveProperty('servers');
  });

  it('gives each caller a document of its own: resolving the refs of one (in place) leaves the next unchanged', async () => {
    const before = JSON.stringify(openApiDocument());
    const validator = new Validator();

    await validator.validate(openApiDocument() as unknown as Record<string, unknown>);
    validator.resolveRefs();

    expect(JSON.stringify(openApiDocument())).toBe(before);
  });

  it('matches the committed openapi.json', () => {
    const committed: unknown = JSON.parse(readFileSync(COMMITTED, 'utf8'));
    const generated: unknown = JSON.parse(JSON.stringify(openApiDocument()));

    expect(committed, 'openapi.json is stale: run `npx tsx shared/api/write-openapi.ts`').toEqual(generated);
  });

  it('documents exactly the routes the handler serves', () => {
    const served = routes.map(({ method, path }) => `${method} ${path}`).sort();
    const documented = operations(openApiDocument())
      .map(({ key }) => key)
      .sort();

    expect(documented).toEqual(served);
    expect(documented).toContain('GET /v1/openapi.json');
  });

  it('gives every operation a unique operationId', () => {
    const ids = operations(openApiDocument()).map(({ operation }) => operation.operationId);

    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['submitJob', 'listJobs', 'getJob', 'cancelJob', 'getOpenApi']));
  });

  it.each([
    ['/v1/jobs', 'post', ['200', '202', '400', '403', '409', '413', '429', '500']],
    ['/v1/jobs', 'get', ['200', '400', '403', '429', '500']],
    ['/v1/jobs/{id}', 'get', ['200', '403', '404', '429', '500']],
    ['/v1/jobs/{id}', 'delete', ['200', '202', '403', '404', '429', '500']],
    ['/v1/openapi.json', 'get', ['200', '403', '429', '500']],
  ])('%s %s answers with the documented statuses', (path, method, statuses) => {
    const op = operation(openApiDocument(), path, method);

    expect(Object.keys(op.responses).sort()).toEqual(statuses);
  });

  it('describes every function error with the one Error schema, and gateway refusals as Error or GatewayError', () => {
    const doc = openApiDocument();
    const seen = new Set<string>();

    for (const { key, operation: op } of operations(doc)) {
      for (const status of Object.keys(op.responses).filter((code) => Number(code) >= 400)) {
        const schema = response(doc, op, status)?.content?.['application/json']?.schema;
        seen.add(status);
        if (status === '403' || status === '429') {
          expect(schema, `${key} ${status}`).toEqual({
            oneOf: [{ $ref: '#/components/schemas/Error' }, { $ref: '#/components/schemas/GatewayError' }],
          });
        } else {
          expect(schema, `${key} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
        }
      }
    }
    expect([...seen].sort()).toEqual(['400', '403', '404', '409', '413', '429', '500']);
    expect(doc.components.schemas.GatewayError).toMatchObject({ required: ['message'] });
  });

  it('applies the SigV4 security scheme to every method', () => {
    const doc = openApiDocument();

    expect(doc.security).toEqual([{ sigv4: [] }]);
    expect(doc.components.securitySchemes.sigv4).toMatchObject({
      type: 'apiKey',
      name: 'Authorization',
      in: 'header',
      'x-amazon-apigateway-authtype': 'awsSigv4',
    });
    // No operation opts out with its own `security`.
    for (const { key, operation: op } of operations(doc)) expect(op, key).not.toHaveProperty('security');
  });

  it('takes the request body schema from zod as callers may send it: defaulted fields are optional', () => {
    const schema = openApiDocument().components.schemas.SubmitRequest as {
      required: string[];
      additionalProperties: unknown;
      properties: { task: { additionalProperties: unknown }; container: { default: unknown; required?: string[] } };
    };

    expect(schema).not.toHaveProperty('$schema');
    expect(schema.required).toEqual(['namespace', 'executionId', 'task']);
    // strictObject: unknown top-level keys are rejected; looseObject (task): newer flytekit keys are kept.
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.task.additionalProperties).toEqual({});
    expect(schema.properties.container.default).toEqual({ args: [], env: {} });
    expect(schema.properties.container.required).toBeUndefined();
  });

  it('derives the GET /v1/jobs query parameters from the schema list-jobs parses with', () => {
    const { parameters = [] } = operation(openApiDocument(), '/v1/jobs', 'get');

    expect(parameters.map(({ name, in: where, required }) => ({ name, in: where, required }))).toEqual([
      { name: 'namespace', in: 'query', required: true },
      { name: 'limit', in: 'query', required: false },
      { name: 'nextToken', in: 'query', required: false },
    ]);
    const limit = parameters.find(({ name }) => name === 'limit');
    expect(limit?.schema).toEqual({ type: 'integer', minimum: 1, maximum: 100 });
    expect(limit?.description).toContain(`default is ${DEFAULT_LIST_LIMIT}`);
    expect(parameters[0]?.schema).toMatchObject({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 });
  });

  it('states the body limits the function enforces', () => {
    const doc = openApiDocument();
    const post = operation(doc, '/v1/jobs', 'post');

    expect(response(doc, post, '413')?.description).toContain(`exceeds ${MAX_BODY_BYTES} bytes`);
    expect(response(doc, post, '400')?.description).toContain(
      `task.databricksConf over ${JSON_LIMITS.subtrees[0]?.maxBytes} bytes`,
    );
    expect(response(doc, post, '400')?.description).toContain(`nesting deeper than ${JSON_LIMITS.maxDepth} levels`);
  });

  it('has examples the schemas accept', () => {
    expect(submitRequestSchema.safeParse(submitRequestExample).success).toBe(true);
    expect(jobViewSchema.safeParse(queuedJobExample).success).toBe(true);
    expect(jobViewSchema.safeParse(runningJobExample).success).toBe(true);
    expect(jobListSchema.safeParse({ jobs: [runningJobExample], nextToken: null }).success).toBe(true);
    expect(errorBodySchema.safeParse(validationErrorExample).success).toBe(true);
  });
});

describe('Schema: errorBodySchema', () => {
  it.each([
    new HttpError(400, 'ValidationError', 'namespace: bad', 'namespace'),
    new HttpError(404, 'NotFound', "No job with id 'x'", 'id'),
    new HttpError(500, 'InternalError', 'Internal error; see the function logs'),
  ])('accepts what errorResponse() writes (%#)', (error) => {
    const body: unknown = JSON.parse(errorResponse(error).body);

    expect(errorBodySchema.parse(body)).toEqual(body);
  });

  it('rejects other shapes', () => {
    expect(errorBodySchema.safeParse({ message: 'Forbidden' }).success).toBe(false);
    expect(errorBodySchema.safeParse({ error: { code: 'X', message: 'm', extra: 1 } }).success).toBe(false);
  });
});
