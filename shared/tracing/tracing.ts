/**
 * X-Ray tracing with Powertools Tracer, on Lambda unless POWERTOOLS_TRACE_ENABLED=false (the stack's `tracing`
 * switch). Switched off, or off Lambda (tests, scripts), nothing here does anything and the X-Ray SDK is not even
 * loaded: importing it starts an async hook (cls-hooked) that every promise of the function would pay for, tracing or
 * not. So xray-tracer.ts is imported only when tracing is on, from a chunk of its own, and these helpers stand in for it.
 *
 * With no X-Ray daemon (the local stack) nothing fails: segments go out as UDP datagrams nobody reads, and only for
 * sampled traces.
 */
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type middy from '@middy/core';

/** Powertools' own rule: on in a Lambda execution environment unless POWERTOOLS_TRACE_ENABLED is `false`. */
export function isTracingEnabled(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.AWS_EXECUTION_ENV) && (env.POWERTOOLS_TRACE_ENABLED ?? '').trim().toLowerCase() !== 'false';
}

const xray = isTracingEnabled(process.env) ? await import('./xray-tracer.js') : undefined;

/** The Tracer when tracing is on. */
export const tracer = xray?.tracer;

/**
 * The handler's segment (first in every middy chain, functions/lambda-handler.ts). Responses are not recorded: they
 * hold tenants' data (namespaces, job messages) a trace does not need.
 */
export function traceHandler(): middy.MiddlewareObj[] {
  return xray ? [captureLambdaHandler(xray.tracer, { captureResponse: false })] : [];
}

/** The AWS SDK client, its calls traced as subsegments when tracing is on. */
export function traceAwsClient<C>(client: C): C {
  return xray ? xray.tracer.captureAWSv3Client(client) : client;
}

/** Annotates the current subsegment with the job's id and Databricks host (JobId, DatabricksHost). */
export function annotateJob(job: { jobId: string; databricksHost?: string | undefined }): void {
  xray?.annotateJob(job);
}

/** Runs `work` in a subsegment of its own when tracing is on (one per SQS record, per swept job). */
export function inSubsegment<T>(name: string, work: () => Promise<T>): Promise<T> {
  return xray ? xray.inSubsegment(name, work) : work();
}
