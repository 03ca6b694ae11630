/**
 * The API's OpenAPI 3.1 document, generated from the zod schemas the code itself uses: the request body from the
 * schema POST /v1/jobs parses with (shared/jobs/submit-request.ts), the responses from shared/api/schemas.ts, of
 * which `JobView` is the inferred type. Served at GET /v1/openapi.json and committed as openapi.json (regenerate
 * with `npx tsx shared/api/write-openapi.ts`; a unit test fails when it is stale).
 *
 * OpenAPI 3.1 Schema Objects are JSON Schema draft 2020-12, so zod's `draft-2020-12` output goes in unchanged,
 * except for the `$schema` (and `$id`) zod puts on each root schema.
 */
import * as z from 'zod';
import { MAX_NEW_JOB_ITEM_BYTES } from '../jobs/item-size.js';
import { FORBIDDEN_KEYS, JSON_LIMITS, MAX_BODY_BYTES } from '../jobs/json-limits.js';
import { submitRequestSchema } from '../jobs/submit-request.js';
import { queuedJobExample, runningJobExample, submitRequestExample, validationErrorExample } from './examples.js';
import { errorBodySchema, gatewayErrorSchema, jobListSchema, jobViewSchema, listJobsQuerySchema } from './schemas.js';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  servers?: Array<{ url: string; description?: string }>;
  security: Array<Record<string, string[]>>;
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, Record<string, unknown>>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters: Record<string, unknown>;
    responses: Record<string, unknown>;
    securitySchemes: Record<string, unknown>;
  };
}

export const OPENAPI_VERSION = '3.1.0';
/** The version of the v1 contract this document describes; bump it with any change to the document. */
export const API_VERSION = '1.0.0';

const ref = (kind: 'schemas' | 'parameters' | 'responses', name: string) => ({ $ref: `#/components/${kind}/${name}` });
const json = (schema: unknown, extra: Record<string, unknown> = {}) => ({
  content: { 'application/json': { schema, ...extra } },
});

/** A root schema without the keywords zod adds for a standalone document. */
function embeddable(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/** Request schemas as a caller may send them (`io: 'input'`): fields with a default are optional. */
function requestSchema(schema: z.ZodType): JsonSchema {
  return embeddable(z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }));
}

/**
 * Response schemas as the API writes them (`io: 'output'`), each a component, referring to each other by $ref.
 * Timestamps keep `format: date-time` without the long regex zod adds beside it.
 */
function responseSchemas(schemas: Record<string, z.ZodType>): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'output',
    uri: (id) => `#/components/schemas/${id}`,
    override: ({ jsonSchema }) => {
      if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
    },
  });
  return Object.fromEntries(
    Object.entries(generated.schemas).map(([id, schema]) => [id, embeddable(schema as JsonSchema)]),
  );
}

/** Query parameters from a zod object schema: one per property, required unless optional. */
function queryParameters(schema: z.ZodObject): unknown[] {
  const generated = requestSchema(schema);
  const properties = (generated.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((generated.required ?? []) as string[]);
  return Object.entries(properties).map(([name, { description, ...propertySchema }]) => ({
    name,
    in: 'query',
    required: required.has(name),
    ...(description === undefined ? {} : { description }),
    schema: propertySchema,
  }));
}

/** The hostile-JSON limits parse-body applies before the schema (shared/jobs/json-limits.ts), in words. */
function jsonLimits(): string {
  const subtrees = JSON_LIMITS.subtrees.map(
    ({ path, maxBytes, maxDepth }) => `${path.join('.')} over ${maxBytes} bytes or ${maxDepth} levels`,
  );
  return [
    `nesting deeper than ${JSON_LIMITS.maxDepth} levels`,
    `a string over ${JSON_LIMITS.maxStringLength} characters`,
    `a key over ${JSON_LIMITS.maxKeyLength} characters`,
    `more than ${JSON_LIMITS.maxKeys} keys`,
    ...subtrees,
    `a number beyond ±${Number.MAX_SAFE_INTEGER}`,
    `the keys ${[...FORBIDDEN_KEYS].join(', ')}`,
  ].join('; ');
}

function components(): OpenApiDocument['components'] {
  const gatewayOrApiError = {
    oneOf: [ref('schemas', 'Error'), ref('schemas', 'GatewayError')],
  };
  return {
    schemas: {
      SubmitRequest: requestSchema(submitRequestSchema),
      ...responseSchemas({
        Job: jobViewSchema,
        JobList: jobListSchema,
        Error: errorBodySchema,
        GatewayError: gatewayErrorSchema,
      }),
    },
    parameters: {
      JobId: {
        name: 'id',
        in: 'path',
        required: true,
        description: 'The jobId returned by POST /v1/jobs; an id that cannot be a job id is answered 404',
        schema: { type: 'string' },
        example: queuedJobExample.jobId,
      },
    },
    responses: {
      BadRequest: {
        description:
          'The request is invalid: `error.field` names the first offending field or query parameter ' +
          '(ValidationError), or the body is missing (InvalidRequest) or not JSON (InvalidJson). Nothing is ' +
          `stored. Besides its schema, a body is refused (ValidationError naming the JSON path) for ${jsonLimits()}.`,
        ...json(ref('schemas', 'Error'), { example: validationErrorExample }),
      },
      Forbidden: {
        description:
          'Refused. By API Gateway before the function runs: no or an invalid SigV4 signature, a principal the ' +
          'resource policy does not allow, or a path and method the API does not have. The deployed stack maps ' +
          "API Gateway's errors into the Error shape (`error.code` is the gateway response type, e.g. " +
          "ACCESS_DENIED, MISSING_AUTHENTICATION_TOKEN); API Gateway's default body, GatewayError, is what a " +
          'gateway without that mapping (such as the local front door) answers. By the function when ' +
          'CALLER_NAMESPACES restricts callers (Error, `error.code` Forbidden): a caller API Gateway did not ' +
          'identify, or a namespace the caller may not use (`error.field` namespace); a job in such a namespace ' +
          'is answered 404 instead.',
        ...json(gatewayOrApiError),
      },
      NotFound: {
        description: 'No job with this id (`error.code` NotFound, `error.field` id)',
        ...json(ref('schemas', 'Error')),
      },
      Conflict: {
        description:
          'The executionId was used before in this namespace with a different request (`error.field` executionId)',
        ...json(ref('schemas', 'Error')),
      },
      PayloadTooLarge: {
        description:
          `The request body exceeds ${MAX_BODY_BYTES} bytes, or the job would be stored as more than ` +
          `${MAX_NEW_JOB_ITEM_BYTES} bytes as DynamoDB counts them (PayloadTooLarge; field \`task\`)`,
        ...json(ref('schemas', 'Error')),
      },
      TooManyRequests: {
        description: "API Gateway's stage throttling refused the request; retry with backoff",
        ...json(gatewayOrApiError),
      },
      InternalError: {
        description: 'An unexpected failure (InternalError); the details are in the function logs, never in the body',
        ...json(ref('schemas', 'Error')),
      },
    },
    securitySchemes: {
      sigv4: {
        type: 'apiKey',
        name: 'Authorization',
        in: 'header',
        description:
          'AWS Signature Version 4 (service execute-api) with the credentials of an IAM principal allowed to invoke ' +
          'the API',
        'x-amazon-apigateway-authtype': 'awsSigv4',
      },
    },
  };
}

/** The responses every operation can give besides its own: gateway refusals and unexpected failures. */
const commonResponses = {
  '403': ref('responses', 'Forbidden'),
  '429': ref('responses', 'TooManyRequests'),
  '500': ref('responses', 'InternalError'),
};

const jobLocation = {
  Location: { description: 'The path of the job: /v1/jobs/{jobId}', schema: { type: 'string' } },
};

function paths(): OpenApiDocument['paths'] {
  return {
    '/v1/jobs': {
      post: {
        operationId: 'submitJob',
        tags: ['jobs'],
        summary: 'Run a Databricks job',
        description:
          'Accepts the job and queues its submission. The job id is derived from (namespace, executionId) and sent ' +
          'to Databricks as the run idempotency_token, so repeating the same request is safe: it answers the job ' +
          'it created the first time. The same body may be sent straight to the submit queue instead.',
        requestBody: {
          required: true,
          ...json(ref('schemas', 'SubmitRequest'), { example: submitRequestExample }),
        },
        responses: {
          '202': {
            description: 'A new job, QUEUED',
            headers: jobLocation,
            ...json(ref('schemas', 'Job'), { example: queuedJobExample }),
          },
          '200': {
            description: 'The job this same request created before (a retry)',
            headers: jobLocation,
            ...json(ref('schemas', 'Job'), { example: runningJobExample }),
          },
          '400': ref('responses', 'BadRequest'),
          '409': ref('responses', 'Conflict'),
          '413': ref('responses', 'PayloadTooLarge'),
          ...commonResponses,
        },
      },
      get: {
        operationId: 'listJobs',
        tags: ['jobs'],
        summary: "List a namespace's recent jobs",
        description:
          'One page of the jobs of a namespace, most recent first (from the table; no call to Databricks); follow ' +
          '`nextToken` for the next page. A query parameter other than these is a 400, so a typo never lists ' +
          'something else.',
        parameters: queryParameters(listJobsQuerySchema),
        responses: {
          '200': {
            description: 'A page of jobs',
            ...json(ref('schemas', 'JobList'), { example: { jobs: [runningJobExample], nextToken: null } }),
          },
          '400': ref('responses', 'BadRequest'),
          ...commonResponses,
        },
      },
    },
    '/v1/jobs/{id}': {
      parameters: [ref('parameters', 'JobId')],
      get: {
        operationId: 'getJob',
        tags: ['jobs'],
        summary: 'Where the job is',
        description: 'The job as the table holds it; no call to Databricks.',
        responses: {
          '200': { description: 'The job', ...json(ref('schemas', 'Job'), { example: runningJobExample }) },
          '404': ref('responses', 'NotFound'),
          ...commonResponses,
        },
      },
      delete: {
        operationId: 'cancelJob',
        tags: ['jobs'],
        summary: 'Cancel the job',
        description:
          'Records the cancellation and asks Databricks to cancel the run (asynchronously: the job becomes ABORTED ' +
          'when the run ends). A job that has already ended is left as it is.',
        responses: {
          '202': {
            description: 'Cancellation requested (`cancelRequested` is true)',
            ...json(ref('schemas', 'Job')),
          },
          '200': {
            description: 'The job had already ended; nothing was changed and `message` says so',
            ...json(ref('schemas', 'Job')),
          },
          '404': ref('responses', 'NotFound'),
          ...commonResponses,
        },
      },
    },
    '/v1/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        tags: ['meta'],
        summary: 'This document',
        description: 'The OpenAPI document of this API, with `servers` set to the URL it was fetched from.',
        responses: {
          '200': {
            description: 'The OpenAPI 3.1 document',
            headers: {
              'Cache-Control': { description: 'max-age=300', schema: { type: 'string' } },
            },
            ...json({ type: 'object', description: 'An OpenAPI 3.1 document' }),
          },
          ...commonResponses,
        },
      },
    },
  };
}

/**
 * The document. `serverUrl` (the stage's base URL, e.g. https://abc.execute-api.us-east-1.amazonaws.com/prod) is
 * set when it is served; the committed openapi.json has no `servers`, since each deployment has its own URL.
 * Each call returns a document of its own (a deep copy): the parts several operations share are module constants, and
 * a caller that edits its document (a validator resolving `$ref`s in place does) must not change the next one.
 */
export function openApiDocument(options: { serverUrl?: string } = {}): OpenApiDocument {
  return structuredClone({
    openapi: OPENAPI_VERSION,
    info: {
      title: 'flyte-databricks-lambda',
      version: API_VERSION,
      description:
        'Run Databricks jobs from Flyte (or any API caller) on AWS Lambda. Every method takes IAM (SigV4) ' +
        'authorization, service execute-api. Every error the function answers has one shape: ' +
        '`{"error": {"code", "message", "field"?}}`.',
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    security: [{ sigv4: [] }],
    tags: [
      { name: 'jobs', description: 'Submit, watch and cancel Databricks runs' },
      { name: 'meta', description: 'About the API itself' },
    ],
    paths: paths(),
    components: components(),
  });
}
