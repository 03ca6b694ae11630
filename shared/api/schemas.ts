/**
 * The API's response bodies as zod schemas: the job (GET, POST and DELETE answer with it), the job list, and the
 * one error shape. The OpenAPI document is generated from these and from the request schema the handler parses
 * with (shared/jobs/submit-request.ts), and `JobView` is inferred from `jobViewSchema`, so the code, the types and
 * the document cannot drift apart.
 */
import * as z from 'zod';
import { AUTH_MODES, type AuthMode } from '../auth/auth-context.js';
import { AUTH_TYPES, type AuthType } from '../auth/auth-strategy.js';
import { PHASES } from '../jobs/phase.js';
import { submitRequestSchema } from '../jobs/submit-request.js';

/** A job's auth mode; a job stored before modes existed shows its authType instead. */
const jobAuthModes: ReadonlyArray<AuthMode | AuthType> = [...new Set([...AUTH_MODES, ...AUTH_TYPES])];

const timestamp = z.iso.datetime().describe('ISO 8601 UTC timestamp');

export const jobViewSchema = z.strictObject({
  jobId: z.string().describe('Derived from (namespace, executionId); also the Databricks idempotency_token'),
  namespace: z.string(),
  executionId: z.string(),
  phase: z.enum(PHASES).describe('Flyte task phase; SUCCEEDED, FAILED, RETRYABLE_FAILED and ABORTED are terminal'),
  message: z.string().describe('Where the job is, in words'),
  runId: z.number().int().nullable().describe('The Databricks run id, once the run is submitted'),
  runPageUrl: z.string().nullable(),
  logLinks: z.array(z.strictObject({ name: z.string(), uri: z.string() })),
  databricks: z.strictObject({
    host: z.string().describe('The workspace base URL'),
    lifeCycleState: z.string().nullable().describe("The run's last seen life_cycle_state"),
    resultState: z.string().nullable().describe("The run's result_state, once it has one"),
  }),
  auth: z
    .strictObject({
      authType: z.enum(AUTH_TYPES),
      mode: z
        .enum(jobAuthModes)
        .describe('The concrete auth mode; jobs stored before modes existed show their authType'),
      reason: z.string().nullable().describe('Why this auth was chosen'),
    })
    .nullable()
    .describe('How the job authenticates to Databricks; null until the submit handler has chosen'),
  cancelRequested: z.boolean(),
  createdAt: timestamp,
  updatedAt: timestamp,
  submittedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
});

export const jobListSchema = z.strictObject({
  jobs: z.array(jobViewSchema).describe("The namespace's jobs, most recent first"),
  nextToken: z.string().nullable().describe('Pass as `nextToken` for the next page; null on the last page'),
});

/** The query of GET /v1/jobs. */
export const listJobsQuerySchema = z.strictObject({
  namespace: submitRequestSchema.shape.namespace,
  limit: z.coerce.number().int().min(1).max(100).optional().describe('Page size; the default is 20'),
  nextToken: z.string().min(1).optional().describe('The `nextToken` of the previous page'),
});

/** Every error the function answers with (functions/api/http-error.ts). */
export const errorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.string().describe('Machine-readable: ValidationError, InvalidJson, NotFound, Conflict, ...'),
    message: z.string(),
    field: z.string().optional().describe('The offending field, dot-separated (task.databricksConf)'),
  }),
});

/** API Gateway's own default error body (no gateway response mapping), e.g. a request without a valid signature. */
export const gatewayErrorSchema = z.strictObject({ message: z.string() });

export type JobList = z.infer<typeof jobListSchema>;
export type ListJobsQuery = z.infer<typeof listJobsQuerySchema>;
export type ErrorBody = z.infer<typeof errorBodySchema>;
