import { describe, expect, it } from 'vitest';
import { assertAllowedWorkspace } from '../../../shared/databricks/allowed-hosts.js';
import { InvalidJobSpecError } from '../../../shared/errors.js';

describe('Function: assertAllowedWorkspace()', () => {
  it('allows any host when no allowlist is configured', () => {
    expect(() => assertAllowedWorkspace('https://dbc-1.cloud.databricks.com', [])).not.toThrow();
  });

  it('allows listed hosts, by host name or host:port, case-insensitively', () => {
    expect(() =>
      assertAllowedWorkspace('https://DBC-1.cloud.databricks.com', ['dbc-1.cloud.databricks.com']),
    ).not.toThrow();
    expect(() => assertAllowedWorkspace('http://127.0.0.1:4010', ['127.0.0.1:4010'])).not.toThrow();
  });

  it('refuses any other host, naming the field', () => {
    const attempt = () => assertAllowedWorkspace('https://evil.example.com', ['dbc-1.cloud.databricks.com']);
    expect(attempt).toThrow(InvalidJobSpecError);
    expect(attempt).toThrow(/evil\.example\.com.*ALLOWED_DATABRICKS_HOSTS/);
    // A look-alike suffix is not a match.
    expect(() =>
      assertAllowedWorkspace('https://dbc-1.cloud.databricks.com.evil.io', ['dbc-1.cloud.databricks.com']),
    ).toThrow(InvalidJobSpecError);
  });

  it('supports *.domain wildcards, matching subdomains only', () => {
    const allowed = ['*.cloud.databricks.com'];
    expect(() => assertAllowedWorkspace('https://dbc-1.cloud.databricks.com', allowed)).not.toThrow();
    expect(() => assertAllowedWorkspace('https://a.b.cloud.databricks.com', allowed)).not.toThrow();
    expect(() => assertAllowedWorkspace('https://cloud.databricks.com', allowed)).toThrow(InvalidJobSpecError);
    expect(() => assertAllowedWorkspace('https://evilcloud.databricks.com', allowed)).toThrow(InvalidJobSpecError);
    expect(() => assertAllowedWorkspace('https://x.cloud.databricks.com.evil.io', allowed)).toThrow(
      InvalidJobSpecError,
    );
  });
});
