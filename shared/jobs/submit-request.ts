/**
 * The job request: the body of POST /v1/jobs and of a submit message a producer drops straight on the queue.
 * `task` is the DatabricksV2 task custom exactly as flytekit serializes it (camelCase keys); unknown task keys
 * from newer flytekit versions are kept, unknown top-level keys are rejected so typos surface.
 */
import * as z from 'zod';
import { AUTH_TYPES } from '../auth/auth-strategy.js';

/** A Kubernetes namespace name (RFC 1123 label): Flyte's `<project>-<domain>`. */
export const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const NAMESPACE_MAX_LENGTH = 63;

const namespace = z
  .string()
  .min(1)
  .max(NAMESPACE_MAX_LENGTH)
  .regex(NAMESPACE_PATTERN, 'must be a Kubernetes namespace name (lower-case RFC 1123 label)');

/** Printable, no control characters: it is hashed into the job id and echoed in logs. */
const executionId = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** A Kubernetes Secret name (RFC 1123 subdomain), which is also what the Secrets Manager name template takes. */
const secretName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a Kubernetes Secret name');

/** A workspace host as flytekit users write it: `dbc-123.cloud.databricks.com`, optionally with https://. */
const databricksInstance = z
  .string()
  .min(1)
  .max(255)
  .regex(
    /^(https?:\/\/)?[A-Za-z0-9.-]+(:\d{1,5})?\/?$/,
    'must be a workspace host such as dbc-123.cloud.databricks.com',
  );

const stringMap = z.record(z.string().max(256), z.string().max(32_768));

export const taskSchema = z.looseObject({
  databricksConf: z.record(z.string(), z.unknown()),
  databricksInstance: databricksInstance.optional(),
  databricksTokenSecret: secretName.optional(),
  databricksServiceCredentialProvider: z.string().min(1).max(256).optional(),
  notebookPath: z.string().min(1).max(4096).optional(),
  notebookBaseParameters: stringMap.optional(),
  sparkConf: stringMap.optional(),
  databricksAuthType: z.enum(AUTH_TYPES).optional(),
  databricksClientId: z.string().min(1).max(256).optional(),
  databricksOauthSecret: secretName.optional(),
  databricksOidcTokenFile: z.string().min(1).max(4096).optional(),
  databricksOidcAudience: z.string().min(1).max(1000).optional(),
});

export const containerSchema = z.strictObject({
  image: z.string().min(1).max(1024).optional(),
  args: z.array(z.string().max(32_768)).max(1000).default([]),
  env: stringMap.default({}),
});

export const submitRequestSchema = z.strictObject({
  namespace,
  executionId,
  task: taskSchema,
  container: containerSchema.default({ args: [], env: {} }),
});

export type SubmitRequest = z.infer<typeof submitRequestSchema>;
export type TaskSpec = SubmitRequest['task'];
