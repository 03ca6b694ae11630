/**
 * The examples in the OpenAPI document. They are typed against the schemas (and a test parses them), so an
 * example cannot show a field the API does not have.
 */
import type { z } from 'zod';
import type { JobView } from '../jobs/job.js';
import { jobIdFor } from '../jobs/job-id.js';
import type { submitRequestSchema } from '../jobs/submit-request.js';

const namespace = 'flytesnacks-development';
const executionId = 'example-pat-0001';
const host = 'https://dbc-1234567890123456.cloud.databricks.com';
const runPageUrl = `${host}/?o=1234567890123456#job/987654321/run/1234`;

export const submitRequestExample = {
  namespace,
  executionId,
  task: {
    databricksConf: {
      run_name: 'flyte-example',
      new_cluster: { spark_version: '15.4.x-scala2.12', node_type_id: 'm6i.large', num_workers: 1 },
      timeout_seconds: 3600,
    },
    databricksInstance: 'dbc-1234567890123456.cloud.databricks.com',
    databricksTokenSecret: 'databricks-token',
    databricksAuthType: 'pat',
  },
  container: {
    image: 'ghcr.io/flyteorg/flytekit:py3.11-latest',
    args: ['pyflyte-execute', '--inputs', 's3://bucket/inputs.pb', '--output-prefix', 's3://bucket/outputs'],
    env: { FLYTE_INTERNAL_EXECUTION_ID: executionId },
  },
} satisfies z.input<typeof submitRequestSchema>;

export const queuedJobExample = {
  jobId: jobIdFor(namespace, executionId),
  namespace,
  executionId,
  phase: 'QUEUED',
  message: 'Accepted; waiting to be submitted to Databricks',
  runId: null,
  runPageUrl: null,
  logLinks: [],
  databricks: { host, lifeCycleState: null, resultState: null },
  auth: null,
  cancelRequested: false,
  createdAt: '2025-03-01T12:00:00.000Z',
  updatedAt: '2025-03-01T12:00:00.000Z',
  submittedAt: null,
  finishedAt: null,
} satisfies JobView;

export const runningJobExample = {
  ...queuedJobExample,
  phase: 'RUNNING',
  message: 'In run',
  runId: 1234,
  runPageUrl,
  logLinks: [{ name: 'Databricks Console', uri: runPageUrl }],
  databricks: { host, lifeCycleState: 'RUNNING', resultState: null },
  auth: { authType: 'pat', mode: 'pat', reason: 'task databricksAuthType=pat' },
  updatedAt: '2025-03-01T12:01:30.000Z',
  submittedAt: '2025-03-01T12:00:01.000Z',
} satisfies JobView;

export const validationErrorExample = {
  error: {
    code: 'ValidationError',
    message: 'namespace: must be a Kubernetes namespace name (lower-case RFC 1123 label)',
    field: 'namespace',
  },
};
