/**
 * The `run_page_url` a workspace reports is shown to Flyte users as a log link, so it is kept only when it points
 * back at the job's own workspace: a workspace (or whatever answers on its host) could otherwise put a
 * `javascript:` or phishing link in front of them.
 */

/** Real run page URLs are about 100 characters; anything near a browser's limits is not one. */
export const MAX_RUN_PAGE_URL_CHARS = 2048;

/**
 * The URL (as parsed) when it parses, has the same origin (scheme, host and port) as `workspaceOrigin` (the job's
 * databricksHost) and no credentials, and is at most MAX_RUN_PAGE_URL_CHARS long; otherwise undefined.
 */
export function safeRunPageUrl(url: unknown, workspaceOrigin: string): string | undefined {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_RUN_PAGE_URL_CHARS) return undefined;
  const workspace = parse(workspaceOrigin);
  const page = parse(url);
  if (!workspace || !page) return undefined;
  // An opaque origin ('null': javascript:, data:, file:) never matches, even a malformed workspace's.
  if (page.origin === 'null' || page.origin !== workspace.origin) return undefined;
  if (page.protocol !== 'https:' && page.protocol !== 'http:') return undefined;
  // user:pass@ keeps the origin but has no place in a link shown to users.
  if (page.username || page.password) return undefined;
  // The parsed form: no stray whitespace or newlines, and still within the bound once percent-encoded.
  return page.href.length <= MAX_RUN_PAGE_URL_CHARS ? page.href : undefined;
}

function parse(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
