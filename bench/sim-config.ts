/**
 * The functions' configuration with every default, for the simulations: the same parser the functions use, so a
 * simulation "with the defaults" runs what a deployment without overrides runs. The table and queues are dummies;
 * nothing is reached.
 */
import { type Config, parseConfig } from '../shared/config.js';

export function defaultConfig(overrides: Record<string, string> = {}): Config {
  return parseConfig({
    JOBS_TABLE_NAME: 'simulated',
    SUBMIT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/submit',
    POLL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/poll',
    CANCEL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/cancel',
    ...overrides,
  });
}
