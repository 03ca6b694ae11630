/**
 * GET /v1/jobs?namespace=<ns>&limit=<1..100>&nextToken=<token>: a namespace's jobs, newest first, a page at a time,
 * from the table's namespace index (no call to Databricks). Anything wrong in the query string is a 400 naming the
 * parameter, like a bad body field; unknown parameters too, so a typo never silently lists something else.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { type JobList, listJobsQuerySchema } from '../../shared/api/schemas.js';
import { toJobView } from '../../shared/jobs/job.js';
import { InvalidPageTokenError, type JobStore } from '../../shared/jobs/job-store.js';
import { assertCallerMayUse, type CallerEvent, type CallerNamespacesConfig } from './caller-namespaces.js';
import { HttpError, jsonResponse } from './http-error.js';

export const DEFAULT_LIST_LIMIT = 20;

export interface ListQuery {
  namespace: string;
  limit: number;
  nextToken?: string;
}

/** Validates the query string against the documented schema; throws a 400 HttpError naming the bad parameter. */
export function parseListQuery(query: Record<string, string | undefined> | null): ListQuery {
  const params = query ?? {};
  const parsed = listJobsQuerySchema.safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : (issue?.path ?? []);
    const field = path.join('.') || 'namespace';
    const detail =
      issue?.code === 'unrecognized_keys'
        ? 'unknown query parameter (namespace, limit and nextToken are)'
        : params[field] === undefined
          ? 'the query parameter is required'
          : (issue?.message ?? 'invalid');
    throw new HttpError(400, 'ValidationError', `${field}: ${detail}`, field);
  }
  const { namespace, limit, nextToken } = parsed.data;
  return { namespace, limit: limit ?? DEFAULT_LIST_LIMIT, ...(nextToken !== undefined ? { nextToken } : {}) };
}

/**
 * With CALLER_NAMESPACES set, a caller may list only a namespace it may use (403 naming `namespace` otherwise), as
 * for POST: the namespace is the caller's own choice here, so refusing it reveals nothing.
 */
export async function listJobs(
  query: Record<string, string | undefined> | null,
  ports: { store: Pick<JobStore, 'listByNamespace'>; config: CallerNamespacesConfig },
  caller: CallerEvent,
): Promise<APIGatewayProxyResult> {
  const { namespace, limit, nextToken } = parseListQuery(query);
  assertCallerMayUse(caller, namespace, ports.config);
  try {
    const page = await ports.store.listByNamespace(namespace, { limit, nextToken });
    const body: JobList = { jobs: page.jobs.map(toJobView), nextToken: page.nextToken };
    return jsonResponse(200, body);
  } catch (error) {
    if (error instanceof InvalidPageTokenError) throw new HttpError(400, 'ValidationError', error.message, 'nextToken');
    throw error;
  }
}
