/** GET /v1/jobs/{id}: the job as the table holds it; no call to Databricks. */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { Job } from '../../shared/jobs/job.js';
import { toJobView } from '../../shared/jobs/job.js';
import { isJobId } from '../../shared/jobs/job-id.js';
import type { Ports } from '../ports.js';
import { HttpError, jsonResponse } from './http-error.js';

export async function loadJob(jobId: string | undefined, ports: Ports): Promise<Job> {
  // A malformed id cannot exist; answering 404 without a read keeps junk ids away from DynamoDB.
  const job = jobId && isJobId(jobId) ? await ports.store.get(jobId) : undefined;
  if (!job) throw new HttpError(404, 'NotFound', `No job with id '${jobId ?? ''}'`, 'id');
  return job;
}

export async function getJob(jobId: string | undefined, ports: Ports): Promise<APIGatewayProxyResult> {
  return jsonResponse(200, toJobView(await loadJob(jobId, ports)));
}
