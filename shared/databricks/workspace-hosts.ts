/**
 * Workspace host patterns: the one implementation of what `ALLOWED_DATABRICKS_HOSTS`, `NAMESPACE_WORKSPACES`
 * and the stack's `allowedDatabricksHosts` / `databricksInstance` mean, used by the functions and the CDK stack alike.
 *
 * A pattern is written as users write hosts (`dbc-1.cloud.databricks.com`, `https://dbc-1.cloud.databricks.com/`,
 * `dbc-1.cloud.databricks.com:8443`, `127.0.0.1:4010`) or as a wildcard (`*.cloud.databricks.com`). It matches an
 * exact host and port: a missing port is 443 (80 after `http://`), so `dbc-1…` and `dbc-1…:443` are one pattern and
 * `dbc-1…:8443` another. A wildcard is `*.` followed by a suffix of at least two labels and matches hosts with one or
 * more labels before that suffix, never the bare suffix. Plain `http://` is accepted for loopback hosts only (the
 * local stack's workspace emulator). Whether a wildcard's suffix is a public suffix (`*.co.uk`) is the stack's check
 * (infra/host-pattern-suffix.ts), kept out of the functions' bundles.
 */

export interface HostPattern {
  /** `*.` + `hostname`: any host with one or more labels before `hostname`. */
  readonly wildcard: boolean;
  /** Lower case; for a wildcard the fixed suffix without `*.`; an IPv6 address in brackets (`[::1]`). */
  readonly hostname: string;
  readonly port: number;
}

export interface HostPatternProblem {
  readonly problem: string;
}

const HTTPS_PORT = 443;
const HTTP_PORT = 80;
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_HOSTNAME_LENGTH = 253;

/** Whether parseHostPattern's result is a problem rather than a pattern. */
export const isHostPatternProblem = (value: HostPattern | HostPatternProblem): value is HostPatternProblem =>
  'problem' in value;

/** Parses a host pattern as users write it; the problem names what is wrong (the text is the caller's to show). */
export function parseHostPattern(text: string): HostPattern | HostPatternProblem {
  let rest = text.trim().toLowerCase();
  if (rest === '') return { problem: 'is empty' };
  let http = false;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(rest);
  if (scheme) {
    if (scheme[1] === 'http') http = true;
    else if (scheme[1] !== 'https') return { problem: `uses ${scheme[1]}://; only https:// is allowed` };
    rest = rest.slice(scheme[0].length);
  }
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest.includes('@')) return { problem: 'must not contain user info (user@ or user:password@)' };
  if (/[/?#]/.test(rest)) return { problem: 'must be a host[:port] only, without a path, query or fragment' };
  if (/\s/.test(rest)) return { problem: 'must not contain spaces' };

  const authority = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(rest);
  if (!authority) return { problem: 'must be a host name or address, optionally with :port' };
  const host = authority[1] ?? '';
  const portText = authority[2];
  const port = portText === undefined ? (http ? HTTP_PORT : HTTPS_PORT) : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return { problem: 'has a port outside 1-65535' };

  if (host.startsWith('*.')) {
    if (http) return { problem: 'uses http://, which is allowed for a loopback host only, never a wildcard' };
    const suffix = host.slice(2);
    const problem = hostnameProblem(suffix);
    if (problem) return { problem: `is a wildcard whose suffix ${problem}` };
    const labels = suffix.split('.');
    if (labels.length < 2) {
      return {
        problem: `is a wildcard over a whole top-level domain; name at least two labels after *. (*.${suffix})`,
      };
    }
    if (/^\d+$/.test(labels.at(-1) ?? '')) return { problem: 'is a wildcard over an IP address' };
    return { wildcard: true, hostname: suffix, port };
  }
  if (host.includes('*')) return { problem: "may only use '*' as a whole first label (*.example.com)" };
  if (!host.startsWith('[')) {
    const problem = hostnameProblem(host);
    if (problem) return { problem };
  }
  // The host as a URL holds it: anything the URL parser would rewrite (IPv4 in hex, IDN, a zone) is refused, so
  // the pattern is exactly what origins compare against.
  let parsed: URL;
  try {
    parsed = new URL(`https://${host}`);
  } catch {
    return { problem: 'is not a valid host name or address' };
  }
  if (parsed.hostname !== host) return { problem: `must be written as ${parsed.hostname}` };
  if (http && !LOOPBACK_HOSTS.has(host)) {
    return { problem: 'uses http://, which is allowed for a loopback host (127.0.0.1, localhost, [::1]) only' };
  }
  return { wildcard: false, hostname: host, port };
}

function hostnameProblem(hostname: string): string | undefined {
  if (hostname.length === 0) return 'is empty';
  if (hostname.length > MAX_HOSTNAME_LENGTH) return `is longer than ${MAX_HOSTNAME_LENGTH} characters`;
  if (!hostname.split('.').every((label) => LABEL.test(label))) {
    return 'is not a host name (labels of a-z, 0-9 and -, separated by dots)';
  }
  return undefined;
}

/** The pattern as it is written back: `host`, `host:port` (port 443 left out), `*.suffix`. Parses to itself. */
export function formatHostPattern(pattern: HostPattern): string {
  const host = pattern.wildcard ? `*.${pattern.hostname}` : pattern.hostname;
  return pattern.port === HTTPS_PORT ? host : `${host}:${pattern.port}`;
}

/**
 * Whether a workspace origin (`https://host[:port]`, or `http://` on a loopback host) matches the pattern: the same
 * host (a wildcard: one or more labels, then `.` and its suffix) and the same port, 443 when an https origin names
 * none (80 for http). Anything else (not a URL, another scheme, http to a host that is not loopback) matches nothing.
 */
export function hostMatches(pattern: HostPattern, origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  if (url.username || url.password) return false;
  const hostname = url.hostname.toLowerCase();
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(hostname)) return false;
  const port = url.port === '' ? (url.protocol === 'https:' ? HTTPS_PORT : HTTP_PORT) : Number(url.port);
  if (port !== pattern.port) return false;
  if (!pattern.wildcard) return hostname === pattern.hostname;
  const tail = `.${pattern.hostname}`;
  if (!hostname.endsWith(tail)) return false;
  const head = hostname.slice(0, -tail.length);
  return head !== '' && head.split('.').every((label) => label !== '');
}

/** Whether any of the patterns matches the origin. */
export const anyHostMatches = (patterns: readonly HostPattern[], origin: string): boolean =>
  patterns.some((pattern) => hostMatches(pattern, origin));

/** The https origin of an exact pattern (`https://host[:port]`), as hostMatches takes it. */
export function patternOrigin(pattern: HostPattern): string {
  if (pattern.wildcard) throw new Error(`A wildcard (${formatHostPattern(pattern)}) has no single origin`);
  return pattern.port === HTTPS_PORT ? `https://${pattern.hostname}` : `https://${pattern.hostname}:${pattern.port}`;
}
