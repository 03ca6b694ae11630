/**
 * A small typed client for the front door, used by the local scripts and tests (and the seed of the CLI's client).
 * Errors come back as the API's own `{error: {code, message, field}}` shape.
 */
import type { JobView } from '../jobs/job.js';

export interface ApiResponse<T> {
  status: number;
  body: T;
}

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

export class JobsApiClient {
  private readonly baseUrl: string;

  /** `baseUrl` is the API's invoke URL, stage included (https://abc.execute-api.us-east-1.amazonaws.com/prod). */
  constructor(
    baseUrl: string,
    private readonly fetchFn: typeof fetch = fetch,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  submit(request: unknown): Promise<ApiResponse<JobView | ApiErrorBody>> {
    return this.call('POST', '/v1/jobs', JSON.stringify(request));
  }

  get(jobId: string): Promise<ApiResponse<JobView | ApiErrorBody>> {
    return this.call('GET', `/v1/jobs/${encodeURIComponent(jobId)}`);
  }

  cancel(jobId: string): Promise<ApiResponse<JobView | ApiErrorBody>> {
    return this.call('DELETE', `/v1/jobs/${encodeURIComponent(jobId)}`);
  }

  /** Raw call for bodies that are not JSON objects (tests of malformed input). */
  async call<T>(method: string, path: string, body?: string): Promise<ApiResponse<T>> {
    const response = await this.fetchFn(`${this.baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Leave non-JSON bodies (an HTML error page from a proxy, say) as text.
    }
    return { status: response.status, body: parsed as T };
  }
}

export function isApiError(body: unknown): body is ApiErrorBody {
  return typeof body === 'object' && body !== null && 'error' in body;
}
