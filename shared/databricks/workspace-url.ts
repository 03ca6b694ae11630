/**
 * Turns a workspace host as users write it (`dbc-1.cloud.databricks.com`, `https://dbc-1.cloud.databricks.com/`)
 * into the origin every call uses; a pasted path or query (`/?o=123`) is dropped, as the Databricks SDKs do.
 * Tokens only ever travel over https: plain http is accepted for a loopback address alone, and only when the
 * local stack allows it, because that is where the workspace emulator listens.
 */
import { InvalidJobSpecError } from '../errors.js';

const FIELD = 'task.databricksInstance';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function normalizeWorkspaceUrl(host: string, allowInsecureLoopback = false): string {
  const trimmed = host.trim().replace(/\/+$/, '');
  if (trimmed.length === 0) throw new InvalidJobSpecError('Databricks instance is empty', FIELD);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidJobSpecError(`Databricks instance '${host}' is not a valid host`, FIELD);
  }
  if (url.username || url.password) {
    throw new InvalidJobSpecError('Databricks instance must not contain credentials', FIELD);
  }
  if (url.protocol === 'http:' && !(allowInsecureLoopback && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new InvalidJobSpecError(`Databricks instance '${url.origin}' uses http://; only https is allowed`, FIELD);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidJobSpecError(`Databricks instance '${host}' must use https://`, FIELD);
  }
  return url.origin;
}
