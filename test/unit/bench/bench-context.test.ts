/** A measured process acts as its function: the function's own environment, its role's keys, the poll schedule parked. */
import { describe, expect, it } from 'vitest';
import {
  childEnvironment,
  functionEnvironmentFor,
  functionOf,
  PARKED_POLL_SECONDS,
} from '../../../bench/bench-context.js';
import { countFromEnv, positiveIntFromEnv } from '../../../bench/bench-env.js';
import type { FunctionKey, LocalStack } from '../../../infra/local/local-stack.js';

function fakeStack(): LocalStack {
  const environments: Record<string, Record<string, string>> = {
    poll: {
      JOBS_TABLE_NAME: 'jobs',
      POLL_QUEUE_URL: 'http://127.0.0.1:4001/123456789012/poll',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:4002',
      POLL_INTERVAL_MIN_SECONDS: '10',
      POLL_INTERVAL_MAX_SECONDS: '180',
      AWS_LAMBDA_LOG_LEVEL: 'INFO',
    },
    sweep: { JOBS_TABLE_NAME: 'jobs' },
  };
  return {
    region: 'us-east-1',
    env: {
      DATABRICKS_CLIENT_ID: 'id',
      DATABRICKS_CLIENT_SECRET: 'secret',
      FLYTE_DATABRICKS_AUTH_TYPE: 'oauth_m2m',
      AWS_ACCESS_KEY_ID: 'OPERATOR',
    },
    functionEnvironment: (fn: FunctionKey) => ({ ...(environments[fn] ?? {}) }),
    credentialsOf: (fn: FunctionKey) => ({ accessKeyId: `AKIA${fn.toUpperCase()}`, secretAccessKey: `${fn}-secret` }),
  } as unknown as LocalStack;
}

describe('functionEnvironmentFor', () => {
  it("is the function's environment with its role's keys and the poll schedule parked, Lambda's variables left out", () => {
    const env = functionEnvironmentFor(fakeStack(), 'poll');
    expect(env).toEqual({
      JOBS_TABLE_NAME: 'jobs',
      POLL_QUEUE_URL: 'http://127.0.0.1:4001/123456789012/poll',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:4002',
      POLL_INTERVAL_MIN_SECONDS: String(PARKED_POLL_SECONDS),
      POLL_INTERVAL_MAX_SECONDS: String(PARKED_POLL_SECONDS),
      AWS_ACCESS_KEY_ID: 'AKIAPOLL',
      AWS_SECRET_ACCESS_KEY: 'poll-secret',
    });
  });

  it('makes the reference and the floor act as the poll function', () => {
    expect(functionOf('reference')).toBe('poll');
    expect(functionOf('floor')).toBe('poll');
    expect(functionOf('sweep')).toBe('sweep');
    expect(functionEnvironmentFor(fakeStack(), 'floor').AWS_ACCESS_KEY_ID).toBe('AKIAPOLL');
  });

  it('parks no schedule a function does not have, and a child also gets the region', () => {
    const env = childEnvironment(fakeStack(), 'sweep', { EXTRA: '1' });
    expect(env).toEqual({
      JOBS_TABLE_NAME: 'jobs',
      AWS_ACCESS_KEY_ID: 'AKIASWEEP',
      AWS_SECRET_ACCESS_KEY: 'sweep-secret',
      EXTRA: '1',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
    });
  });

  it('refuses a stack started without benchStackOptions()', () => {
    const stack = { ...fakeStack(), env: {} } as unknown as LocalStack;
    expect(() => functionEnvironmentFor(stack, 'poll')).toThrow(/benchStackOptions/);
  });
});

describe('bench size knobs', () => {
  it('reads a positive integer, falls back when unset, refuses anything else', () => {
    expect(positiveIntFromEnv('N', 7, {})).toBe(7);
    expect(positiveIntFromEnv('N', 7, { N: '' })).toBe(7);
    expect(positiveIntFromEnv('N', 7, { N: '2' })).toBe(2);
    expect(() => positiveIntFromEnv('N', 7, { N: '0' })).toThrow(/positive integer/);
    expect(() => positiveIntFromEnv('N', 7, { N: 'x' })).toThrow(/positive integer/);
    expect(countFromEnv('N', 200, { N: '0' })).toBe(0);
    expect(() => countFromEnv('N', 200, { N: '-1' })).toThrow(/whole number/);
  });
});
