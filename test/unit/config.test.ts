import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../shared/config.js';

const base = {
  JOBS_TABLE_NAME: 'jobs',
  SUBMIT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/submit',
  POLL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/poll',
  CANCEL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/cancel',
};

describe('Function: parseConfig()', () => {
  it("reads OIDC_TOKEN_FILE_DIRS by the stack's rule: canonical absolute directories, never /, values never quoted", () => {
    expect(parseConfig({ ...base, OIDC_TOKEN_FILE_DIRS: '/var/run/tokens/, /srv/t' }).OIDC_TOKEN_FILE_DIRS).toEqual([
      '/var/run/tokens',
      '/srv/t',
    ]);
    for (const [value, rule] of [
      ['/', /any file/],
      ['var/run', /absolute/],
      ['/var/run/../etc', /\.\./],
      ['/var//run', /\/\//],
    ] as const) {
      const attempt = () => parseConfig({ ...base, OIDC_TOKEN_FILE_DIRS: value });
      expect(attempt).toThrow(ConfigError);
      expect(attempt).toThrow(rule);
      expect(attempt).toThrow(/^Invalid configuration: OIDC_TOKEN_FILE_DIRS: /);
      if (value !== '/') expect(attempt).not.toThrow(value);
    }
  });

  it('applies the documented defaults', () => {
    const config = parseConfig(base);
    expect(config.FLYTE_DATABRICKS_AUTH_TYPE).toBeUndefined();
    expect(config).toMatchObject({
      SECRET_NAME_TEMPLATE: 'flyte/{namespace}/{name}',
      MAX_RECEIVE_COUNT: 5,
      DATABRICKS_API_VERSION: '2.2',
      ALLOW_INSECURE_LOOPBACK_DATABRICKS: false,
    });
    expect(config.FLYTE_DATABRICKS_ACCESS_TOKEN).toBeUndefined();
  });

  it('names the variable that is wrong, never its value', () => {
    const secret = 'dapi-should-never-appear';
    expect(() => parseConfig({ ...base, FLYTE_DATABRICKS_AUTH_TYPE: secret })).toThrow(/FLYTE_DATABRICKS_AUTH_TYPE/);
    try {
      parseConfig({ ...base, FLYTE_DATABRICKS_AUTH_TYPE: secret });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).not.toContain(secret);
    }
  });

  it('requires the table and queues', () => {
    expect(() => parseConfig({})).toThrow(/JOBS_TABLE_NAME/);
  });

  it('rejects a secret name template without placeholders and inverted poll bounds', () => {
    expect(() => parseConfig({ ...base, SECRET_NAME_TEMPLATE: 'static' })).toThrow(/SECRET_NAME_TEMPLATE/);
    expect(() => parseConfig({ ...base, POLL_INTERVAL_MIN_SECONDS: '90', POLL_INTERVAL_MAX_SECONDS: '10' })).toThrow(
      /POLL_INTERVAL_MIN_SECONDS/,
    );
  });

  it('defaults the liveness thresholds, and refuses a staleness a healthy poll chain could reach', () => {
    expect(parseConfig(base)).toMatchObject({
      HEARTBEAT_SECONDS: 1800,
      STALE_AFTER_SECONDS: 3600,
      MAX_RESCUES: 3,
      SWEEP_MAX_JOBS: 100,
    });
    // 180 s between polls + 1800 s between heartbeats: a job 1980 s quiet may still be alive.
    expect(() => parseConfig({ ...base, STALE_AFTER_SECONDS: '1980' })).toThrow(
      'STALE_AFTER_SECONDS: STALE_AFTER_SECONDS must be greater than POLL_INTERVAL_MAX_SECONDS + HEARTBEAT_SECONDS',
    );
    expect(parseConfig({ ...base, STALE_AFTER_SECONDS: '1981' }).STALE_AFTER_SECONDS).toBe(1981);
    expect(() =>
      parseConfig({ ...base, STALE_AFTER_SECONDS: '5', HEARTBEAT_SECONDS: '1', POLL_INTERVAL_MAX_SECONDS: '4' }),
    ).toThrow(ConfigError);
  });

  it('defaults the poll schedule so that an unchanged poll writes a heartbeat at most once in ten', () => {
    const config = parseConfig(base);
    expect(config).toMatchObject({
      POLL_INTERVAL_MIN_SECONDS: 10,
      POLL_INTERVAL_MAX_SECONDS: 180,
      POLL_INTERVAL_FRACTION: 0.15,
      WORKSPACE_API_BUDGET_RPS: 20,
    });
    expect(config.HEARTBEAT_SECONDS).toBeGreaterThanOrEqual(10 * config.POLL_INTERVAL_MAX_SECONDS);
    // The sweeper's thresholds hold for any POLL_INTERVAL_MAX_SECONDS SQS allows.
    expect(config.STALE_AFTER_SECONDS).toBeGreaterThan(900 + config.HEARTBEAT_SECONDS);
  });

  it.each([
    ['POLL_INTERVAL_FRACTION', '0'],
    ['POLL_INTERVAL_FRACTION', '1.5'],
    ['POLL_INTERVAL_FRACTION', 'fast'],
    ['WORKSPACE_API_BUDGET_RPS', '-1'],
    ['WORKSPACE_API_BUDGET_RPS', '2.5'],
    ['WORKSPACE_API_BUDGET_RPS', '100000'],
  ])('refuses %s=%s, naming the setting', (name, value) => {
    expect(() => parseConfig({ ...base, [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name}: `));
  });

  it("defaults the workspace circuit breaker's backoffs to 10 s and 5 minutes, and takes others within 1-900 s", () => {
    expect(parseConfig(base)).toMatchObject({
      WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: 10,
      WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: 300,
    });
    expect(
      parseConfig({
        ...base,
        WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: '1',
        WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: '1',
      }),
    ).toMatchObject({ WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: 1, WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: 1 });
    expect(
      parseConfig({
        ...base,
        WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: '900',
        WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: '900',
      }),
    ).toMatchObject({ WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: 900, WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: 900 });
  });

  it.each([
    ['WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS', '0', /too small/i],
    ['WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS', '2.5', /int/i],
    ['WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS', 'soon', /number/i],
    ['WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS', '0', /too small/i],
    ['WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS', '901', /too big/i],
  ])('refuses %s=%s, naming the setting', (name, value, rule) => {
    const attempt = () =>
      parseConfig({
        ...base,
        WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: '1',
        WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: '900',
        [name]: value,
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(new RegExp(`^Invalid configuration: ${name}: `));
    expect(attempt).toThrow(rule);
  });

  it("refuses a first backoff longer than the maximum, the maximum's default included", () => {
    expect(() =>
      parseConfig({
        ...base,
        WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: '60',
        WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: '30',
      }),
    ).toThrow(
      'Invalid configuration: WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS ' +
        'must not exceed WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS',
    );
    expect(() => parseConfig({ ...base, WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: '5' })).toThrow(
      /^Invalid configuration: WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: .*must not exceed/,
    );
    expect(() => parseConfig({ ...base, WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: '301' })).toThrow(/must not exceed/);
    expect(
      parseConfig({
        ...base,
        WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: '30',
        WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: '30',
      }),
    ).toMatchObject({ WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: 30, WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: 30 });
  });

  it('takes a budget of 0 (pacing off) and a fraction up to 1', () => {
    expect(parseConfig({ ...base, WORKSPACE_API_BUDGET_RPS: '0', POLL_INTERVAL_FRACTION: '1' })).toMatchObject({
      WORKSPACE_API_BUDGET_RPS: 0,
      POLL_INTERVAL_FRACTION: 1,
    });
  });

  it("reads NAMESPACE_OIDC_CLIENT_IDS by the stack's rule (shared/namespace-settings.ts): ids trimmed, '*' allowed", () => {
    const ids = parseConfig({ ...base, NAMESPACE_OIDC_CLIENT_IDS: '{"team-a": " app-1 ", "*": "app-2"}' });
    expect(Object.fromEntries(ids.NAMESPACE_OIDC_CLIENT_IDS?.entries ?? [])).toEqual({
      'team-a': 'app-1',
      '*': 'app-2',
    });
    expect(() => parseConfig({ ...base, NAMESPACE_OIDC_CLIENT_IDS: '{"team-a": "has space"}' })).toThrow(
      /^Invalid configuration: NAMESPACE_OIDC_CLIENT_IDS: entry 1: must be a service principal's application \(client\) id/,
    );
  });

  it('treats a blank fallback token as unset', () => {
    expect(parseConfig({ ...base, FLYTE_DATABRICKS_ACCESS_TOKEN: '  ' }).FLYTE_DATABRICKS_ACCESS_TOKEN).toBeUndefined();
  });
});
