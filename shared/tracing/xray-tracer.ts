/**
 * The suite's one Powertools Tracer (X-Ray), and what needs the X-Ray SDK. Imported only when tracing is on
 * (tracing.ts): this module is the only one that loads the SDK.
 *
 * The Tracer traces the AWS SDK clients it is given and every outgoing http(s) and fetch request (the Databricks calls
 * and token requests: host and path, never headers, query or body; Powertools adds an X-Amzn-Trace-Id header to each
 * fetch). Annotations here: JobId and the Databricks host, both searchable in X-Ray; never a token, a secret or a
 * namespace.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { METRICS_SERVICE } from '../metrics/metric-catalog.js';

export const tracer = new Tracer({ serviceName: METRICS_SERVICE });

/**
 * Annotates the current subsegment with the job's id and its workspace's host: the handler's (captureLambdaHandler
 * opens it first thing), or a record's (inSubsegment).
 */
export function annotateJob(job: { jobId: string; databricksHost?: string | undefined }): void {
  tracer.putAnnotation('JobId', job.jobId);
  if (job.databricksHost) tracer.putAnnotation('DatabricksHost', hostOf(job.databricksHost));
}

/**
 * Runs `work` in a subsegment of its own, so that work running side by side (an SQS batch's records) annotates its own
 * subsegment: the X-Ray SDK keeps the current one per async context.
 */
export function inSubsegment<T>(name: string, work: () => Promise<T>): Promise<T> {
  const parent = tracer.isTracingEnabled() ? tracer.provider.getSegment() : undefined;
  if (!parent) return work();
  return tracer.provider.captureAsyncFunc(
    name,
    async (subsegment) => {
      try {
        return await work();
      } catch (error) {
        tracer.addErrorAsMetadata(error as Error);
        throw error;
      } finally {
        subsegment?.close();
      }
    },
    parent,
  ) as Promise<T>;
}

/** `dbc-1.cloud.databricks.com` of `https://dbc-1.cloud.databricks.com`. */
function hostOf(origin: string): string {
  try {
    return new URL(origin).host;
  } catch {
    return origin;
  }
}
