/**
 * The stack's own check of wildcard workspace patterns against the Public Suffix List (tldts, ICANN and private
 * sections): `*.co.uk`, `*.github.io` or `*.com` would let a job name a host anyone can register. Only infra/
 * imports this file, so tldts and its list never enter a function bundle (test/unit/infra/stack.test.ts checks).
 */
import { parse } from 'tldts';
import { formatHostPattern, type HostPattern } from '../shared/databricks/workspace-hosts.js';

/** Why a wildcard pattern's suffix is not one an operator controls, or undefined (exact patterns always pass). */
export function publicSuffixProblem(pattern: HostPattern): string | undefined {
  if (!pattern.wildcard) return undefined;
  const info = parse(pattern.hostname, { allowPrivateDomains: true });
  const shown = formatHostPattern(pattern);
  if (info.isIp) return `${shown} is a wildcard over an IP address`;
  if (info.domain === null || info.publicSuffix === pattern.hostname) {
    return (
      `${shown} would allow any host below the public suffix ${info.publicSuffix ?? pattern.hostname}, which anyone ` +
      'can register names under; name a domain you control (*.<your-domain>) or exact hosts'
    );
  }
  return undefined;
}
