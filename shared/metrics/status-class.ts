/**
 * The `StatusClass` of one Jobs API attempt: the class of the HTTP answer, 429 apart from the other 4xx (throttling is
 * what the workspace budget is about), `network` when no answer came at all (fetch threw: reset, DNS, timeout).
 */
import type { StatusClass } from './metric-catalog.js';

export function statusClassOf(response: Pick<Response, 'status' | 'type'> | undefined): StatusClass {
  if (response === undefined) return 'network';
  // fetch with `redirect: 'manual'` may hide a redirect as an opaque answer of status 0.
  if (response.type === 'opaqueredirect') return '3xx';
  const { status } = response;
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  if (status >= 200) return '2xx';
  return 'network';
}
