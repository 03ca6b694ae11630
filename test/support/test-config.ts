/**
 * A complete, parsed function configuration for unit tests: the functions' defaults from shared/config.ts (so a test
 * states only what it is about), plus `overrides`, already in parsed form.
 */
import { type Config, parseConfig } from '../../shared/config.js';

const BASE_ENV = {
  JOBS_TABLE_NAME: 'jobs',
  SUBMIT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/submit',
  POLL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/poll',
  CANCEL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/cancel',
};

export function testConfig(overrides: Partial<Config> = {}, env: Record<string, string> = {}): Config {
  return { ...parseConfig({ ...BASE_ENV, ...env }), ...overrides };
}
