import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../shared/config.js';

const base = {
  JOBS_TABLE_NAME: 'jobs',
  SUBMIT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/submit',
  POLL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/poll',
  CANCEL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/cancel',
};

describe('Function: parseConfig()', () => {
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
      HEARTBEAT_SECONDS: 600,
      STALE_AFTER_SECONDS: 1800,
      MAX_RESCUES: 3,
      SWEEP_MAX_JOBS: 100,
    });
    // 60 s between polls + 600 s between heartbeats: a job 660 s quiet may still be alive.
    expect(() => parseConfig({ ...base, STALE_AFTER_SECONDS: '660' })).toThrow(
      'STALE_AFTER_SECONDS: STALE_AFTER_SECONDS must be greater than POLL_INTERVAL_MAX_SECONDS + HEARTBEAT_SECONDS',
    );
    expect(parseConfig({ ...base, STALE_AFTER_SECONDS: '661' }).STALE_AFTER_SECONDS).toBe(661);
    expect(() =>
      parseConfig({ ...base, STALE_AFTER_SECONDS: '5', HEARTBEAT_SECONDS: '1', POLL_INTERVAL_MAX_SECONDS: '4' }),
    ).toThrow(ConfigError);
  });

  it('treats a blank fallback token as unset', () => {
    expect(parseConfig({ ...base, FLYTE_DATABRICKS_ACCESS_TOKEN: '  ' }).FLYTE_DATABRICKS_ACCESS_TOKEN).toBeUndefined();
  });
});
