import { describe, expect, it } from 'vitest';
import { publicSuffixProblem } from '../../../infra/host-pattern-suffix.js';
import {
  anyHostMatches,
  formatHostPattern,
  type HostPattern,
  hostMatches,
  isHostPatternProblem,
  parseHostPattern,
  patternOrigin,
} from '../../../shared/databricks/workspace-hosts.js';

/** The pattern `text` parses to; fails the test when it is refused. */
function pattern(text: string): HostPattern {
  const parsed = parseHostPattern(text);
  if (isHostPatternProblem(parsed)) throw new Error(`${text} was refused: ${parsed.problem}`);
  return parsed;
}

/** Why `text` is refused; fails the test when it parses. */
function problemOf(text: string): string {
  const parsed = parseHostPattern(text);
  if (!isHostPatternProblem(parsed)) throw new Error(`${text} parsed to ${formatHostPattern(parsed)}`);
  return parsed.problem;
}

describe('Function: parseHostPattern()', () => {
  it.each<[string, HostPattern]>([
    ['dbc-1.cloud.databricks.com', { wildcard: false, hostname: 'dbc-1.cloud.databricks.com', port: 443 }],
    ['https://DBC-1.cloud.databricks.com/', { wildcard: false, hostname: 'dbc-1.cloud.databricks.com', port: 443 }],
    ['  dbc-1.cloud.databricks.com:443 ', { wildcard: false, hostname: 'dbc-1.cloud.databricks.com', port: 443 }],
    ['dbc-1.cloud.databricks.com:8443', { wildcard: false, hostname: 'dbc-1.cloud.databricks.com', port: 8443 }],
    ['127.0.0.1:4010', { wildcard: false, hostname: '127.0.0.1', port: 4010 }],
    ['http://127.0.0.1:4010', { wildcard: false, hostname: '127.0.0.1', port: 4010 }],
    ['http://localhost:4010/', { wildcard: false, hostname: 'localhost', port: 4010 }],
    ['http://[::1]:4010', { wildcard: false, hostname: '[::1]', port: 4010 }],
    ['http://127.0.0.1', { wildcard: false, hostname: '127.0.0.1', port: 80 }],
    ['*.cloud.databricks.com', { wildcard: true, hostname: 'cloud.databricks.com', port: 443 }],
    ['https://*.Azuredatabricks.net', { wildcard: true, hostname: 'azuredatabricks.net', port: 443 }],
  ])('reads %s', (text, expected) => {
    // Assess
    expect(parseHostPattern(text)).toEqual(expected);
  });

  it('treats a missing port as 443, so host and host:443 are one pattern and host:8443 another', () => {
    // Assess
    expect(pattern('dbc-1.cloud.databricks.com')).toEqual(pattern('dbc-1.cloud.databricks.com:443'));
    expect(pattern('dbc-1.cloud.databricks.com')).not.toEqual(pattern('dbc-1.cloud.databricks.com:8443'));
  });

  it.each<[string, RegExp]>([
    ['*.com', /at least two labels/],
    ['*.localhost', /at least two labels/],
    ['*', /whole first label/],
    ['dbc-*.cloud.databricks.com', /'\*' as a whole first label/],
    ['*.*.databricks.com', /suffix is not a host name/],
    ['*.0.0.1', /IP address/],
    ['http://dbc-1.cloud.databricks.com', /loopback host .* only/],
    ['http://*.cloud.databricks.com', /never a wildcard/],
    ['ftp://dbc-1.cloud.databricks.com', /only https/],
    ['user@dbc-1.cloud.databricks.com', /user info/],
    ['https://user:secret@dbc-1.cloud.databricks.com', /user info/],
    ['dbc-1.cloud.databricks.com/x', /without a path/],
    ['dbc-1.cloud.databricks.com?o=1', /without a path, query/],
    ['https://dbc-1.cloud.databricks.com//', /without a path/],
    ['dbc-1.cloud.databricks.com:0', /port outside/],
    ['dbc-1.cloud.databricks.com:65536', /port outside/],
    ['dbc-1.cloud.databricks.com:https', /optionally with :port/],
    ['dbc_1.cloud.databricks.com', /not a host name/],
    ['dbc-1.cloud.databricks.com.', /not a host name/],
    ['-dbc.cloud.databricks.com', /not a host name/],
    ['0x7f.0.0.1', /must be written as 127\.0\.0\.1/],
    ['[0:0:0:0:0:0:0:1]', /must be written as \[::1\]/],
    ['', /empty/],
  ])('refuses %j', (text, problem) => {
    // Assess
    expect(problemOf(text)).toMatch(problem);
  });

  it('formats each pattern so that it parses back to itself', () => {
    // Assess
    for (const text of ['dbc-1.cloud.databricks.com:443', 'http://127.0.0.1', 'HTTPS://*.Cloud.Databricks.com:8443/']) {
      const parsed = pattern(text);
      expect(pattern(formatHostPattern(parsed)), text).toEqual(parsed);
    }
    expect(formatHostPattern(pattern('https://dbc-1.cloud.databricks.com:443/'))).toBe('dbc-1.cloud.databricks.com');
    expect(formatHostPattern(pattern('*.cloud.databricks.com:8443'))).toBe('*.cloud.databricks.com:8443');
  });
});

describe('Function: hostMatches()', () => {
  const exact = pattern('dbc-1.cloud.databricks.com');
  const wildcard = pattern('*.cloud.databricks.com');

  it('matches the exact host on its port only', () => {
    // Assess
    expect(hostMatches(exact, 'https://dbc-1.cloud.databricks.com')).toBe(true);
    expect(hostMatches(exact, 'https://DBC-1.cloud.databricks.com:443')).toBe(true);
    expect(hostMatches(exact, 'https://dbc-1.cloud.databricks.com:8443')).toBe(false);
    expect(hostMatches(pattern('dbc-1.cloud.databricks.com:8443'), 'https://dbc-1.cloud.databricks.com:8443')).toBe(
      true,
    );
    expect(hostMatches(pattern('dbc-1.cloud.databricks.com:8443'), 'https://dbc-1.cloud.databricks.com')).toBe(false);
  });

  it('never matches another host, a look-alike suffix or prefix included', () => {
    // Assess
    expect(hostMatches(exact, 'https://dbc-2.cloud.databricks.com')).toBe(false);
    expect(hostMatches(exact, 'https://dbc-1.cloud.databricks.com.evil.io')).toBe(false);
    expect(hostMatches(exact, 'https://x.dbc-1.cloud.databricks.com')).toBe(false);
  });

  it('matches one or more labels before a wildcard suffix, never the bare suffix or a look-alike', () => {
    // Assess
    expect(hostMatches(wildcard, 'https://dbc-1.cloud.databricks.com')).toBe(true);
    expect(hostMatches(wildcard, 'https://a.b.cloud.databricks.com')).toBe(true);
    expect(hostMatches(wildcard, 'https://cloud.databricks.com')).toBe(false);
    expect(hostMatches(wildcard, 'https://evilcloud.databricks.com')).toBe(false);
    expect(hostMatches(wildcard, 'https://x.cloud.databricks.com.evil.io')).toBe(false);
    expect(hostMatches(wildcard, 'https://dbc-1.cloud.databricks.com:8443')).toBe(false);
  });

  it('takes an http origin for a loopback host only, on its port (80 when it names none)', () => {
    // Assess
    expect(hostMatches(pattern('127.0.0.1:4010'), 'http://127.0.0.1:4010')).toBe(true);
    expect(hostMatches(pattern('localhost:4010'), 'http://localhost:4010')).toBe(true);
    expect(hostMatches(pattern('[::1]:4010'), 'http://[::1]:4010')).toBe(true);
    expect(hostMatches(pattern('127.0.0.1:4010'), 'http://127.0.0.1:4011')).toBe(false);
    expect(hostMatches(pattern('http://127.0.0.1'), 'http://127.0.0.1')).toBe(true);
    expect(hostMatches(exact, 'http://dbc-1.cloud.databricks.com:443')).toBe(false);
  });

  it('matches nothing that is not an https or http origin', () => {
    // Assess
    expect(hostMatches(exact, 'dbc-1.cloud.databricks.com')).toBe(false);
    expect(hostMatches(exact, 'ftp://dbc-1.cloud.databricks.com')).toBe(false);
    expect(hostMatches(exact, 'https://user@dbc-1.cloud.databricks.com')).toBe(false);
  });

  it('anyHostMatches() and patternOrigin() apply the same rule', () => {
    // Assess
    expect(anyHostMatches([exact, wildcard], 'https://dbc-9.cloud.databricks.com')).toBe(true);
    expect(anyHostMatches([], 'https://dbc-9.cloud.databricks.com')).toBe(false);
    expect(patternOrigin(pattern('dbc-1.cloud.databricks.com:443'))).toBe('https://dbc-1.cloud.databricks.com');
    expect(patternOrigin(pattern('dbc-1.cloud.databricks.com:8443'))).toBe('https://dbc-1.cloud.databricks.com:8443');
    expect(() => patternOrigin(wildcard)).toThrow(/no single origin/);
  });
});

describe('Function: publicSuffixProblem() (the stack only)', () => {
  it.each(['*.co.uk', '*.github.io', '*.azurewebsites.net'])('refuses %s, a wildcard over a public suffix', (text) => {
    // Assess
    expect(publicSuffixProblem(pattern(text))).toMatch(/public suffix/);
  });

  it('refuses a wildcard over a single label too, should one be built by hand', () => {
    // Assess
    expect(publicSuffixProblem({ wildcard: true, hostname: 'com', port: 443 })).toMatch(/public suffix com/);
  });

  it.each([
    '*.cloud.databricks.com',
    '*.azuredatabricks.net',
    '*.gcp.databricks.com',
    '*.example.co.uk',
    '*.flyte.github.io',
  ])('accepts %s, below a registrable domain', (text) => {
    // Assess
    expect(publicSuffixProblem(pattern(text))).toBeUndefined();
  });

  it('leaves exact hosts alone', () => {
    // Assess
    expect(publicSuffixProblem(pattern('co.uk'))).toBeUndefined();
  });
});
