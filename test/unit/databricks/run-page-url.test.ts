import { describe, expect, it } from 'vitest';
import { MAX_RUN_PAGE_URL_CHARS, safeRunPageUrl } from '../../../shared/databricks/run-page-url.js';

const WORKSPACE = 'https://dbc-1.cloud.databricks.com';
const LOCAL = 'http://127.0.0.1:4010';

describe('Function: safeRunPageUrl()', () => {
  it.each([
    ['an https page of the workspace', `${WORKSPACE}/?o=123#job/9/run/1234`, WORKSPACE],
    ['the explicit default port', 'https://dbc-1.cloud.databricks.com:443/?o=1#job/9/run/1', WORKSPACE],
    ['a host in another case', 'https://DBC-1.cloud.databricks.com/?o=1#job/9/run/1', WORKSPACE],
    ['the local stack over http on its port', `${LOCAL}/?o=1#job/9/run/1`, LOCAL],
  ])('keeps %s', (_label, url, origin) => {
    expect(safeRunPageUrl(url, origin)).toBe(new URL(url).href);
  });

  it('returns the URL Databricks sent when it is already in parsed form', () => {
    const url = `${WORKSPACE}/?o=123#job/9/run/1234`;
    expect(safeRunPageUrl(url, WORKSPACE)).toBe(url);
  });

  it.each([
    ['another host', 'https://evil.example.com/?o=1#job/9/run/1', WORKSPACE],
    ['a host that only starts like the workspace', 'https://dbc-1.cloud.databricks.com.evil.example/x', WORKSPACE],
    ['another port', 'https://dbc-1.cloud.databricks.com:8443/?o=1', WORKSPACE],
    ['the local stack on another port', 'http://127.0.0.1:4011/?o=1', LOCAL],
    ['http on an https workspace', 'http://dbc-1.cloud.databricks.com/?o=1', WORKSPACE],
    ['credentials in the URL', 'https://user:pass@dbc-1.cloud.databricks.com/?o=1', WORKSPACE],
    ['javascript:', 'javascript:alert(1)', WORKSPACE],
    ['data:', 'data:text/html,<script>alert(1)</script>', WORKSPACE],
    ['a relative URL', '/?o=1#job/9/run/1', WORKSPACE],
    ['an empty string', '', WORKSPACE],
    ['an over-long URL', `${WORKSPACE}/?o=1#${'x'.repeat(MAX_RUN_PAGE_URL_CHARS)}`, WORKSPACE],
    ['a workspace origin that does not parse', 'https://dbc-1.cloud.databricks.com/', 'not a url'],
  ])('drops %s', (_label, url, origin) => {
    expect(safeRunPageUrl(url, origin)).toBeUndefined();
  });

  it('drops a URL that only exceeds the bound once percent-encoded', () => {
    const url = `${WORKSPACE}/${'<'.repeat(MAX_RUN_PAGE_URL_CHARS - WORKSPACE.length - 1)}`;
    expect(url).toHaveLength(MAX_RUN_PAGE_URL_CHARS);
    expect(safeRunPageUrl(url, WORKSPACE)).toBeUndefined();
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', { href: `${WORKSPACE}/` }],
  ])('drops a non-string (%s)', (_label, value) => {
    expect(safeRunPageUrl(value, WORKSPACE)).toBeUndefined();
  });
});
