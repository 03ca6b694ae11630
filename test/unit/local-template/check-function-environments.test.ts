import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkFunctionEnvironments,
  FunctionEnvironmentError,
} from '../../../infra/local/template/check-function-environments.js';
import { resolveIntrinsics } from '../../../infra/local/template/intrinsics.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../../infra/local/template/local-context.js';
import { overrideEnvironment } from '../../../infra/local/template/local-overrides.js';
import { physicalResources } from '../../../infra/local/template/physical-resources.js';
import { readStackTemplate } from '../../../infra/local/template/stack-template.js';
import { synthLocalTemplate } from '../../../infra/local/template/synth-local-template.js';

const ENDPOINTS = {
  databricksUrl: 'http://127.0.0.1:40123',
  tokenFileDir: '/tmp/fdl-local-template-test/tokens',
  aws: {
    DYNAMODB: 'http://127.0.0.1:40001',
    SQS: 'http://127.0.0.1:40002',
    SECRETS_MANAGER: 'http://127.0.0.1:40003',
    STS: 'http://127.0.0.1:40004',
    EKS: 'http://127.0.0.1:40005',
  },
};

describe('checkFunctionEnvironments', () => {
  let functions: Array<{ name: string; env: Record<string, string> }>;

  beforeAll(async () => {
    const { cdkOut, stackName } = await synthLocalTemplate();
    const template = readStackTemplate(cdkOut, stackName);
    const queueUrls = new Map(
      template.queues.map((queue) => [
        queue.logicalId,
        `http://127.0.0.1:40002/${LOCAL_ACCOUNT_ID}/${queue.logicalId}`,
      ]),
    );
    const scope = physicalResources(template, { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID }, queueUrls);
    functions = template.functions.map((fn) => {
      const resolved = resolveIntrinsics(fn.environment, scope, `${fn.logicalId}.Environment`);
      return { name: fn.logicalId, env: overrideEnvironment(resolved, { endpoints: ENDPOINTS }).env };
    });
  });

  it("accepts every function's resolved template environment with the local overrides", () => {
    expect(functions.map((fn) => fn.name).sort()).toEqual(
      ['ApiFunction', 'CancelFunction', 'PollFunction', 'SubmitFunction', 'SweepFunction'].sort(),
    );
    for (const fn of functions) {
      for (const value of Object.values(fn.env)) expect(typeof value).toBe('string');
      expect(() => checkFunctionEnvironments([fn])).not.toThrow();
    }
    expect(() => checkFunctionEnvironments(functions)).not.toThrow();
  });

  it('names the function and the variable a function is missing', () => {
    const broken = functions.map((fn) => {
      if (fn.name !== 'SubmitFunction') return fn;
      const { JOBS_TABLE_NAME: _, ...env } = fn.env;
      return { name: fn.name, env };
    });
    let error: unknown;
    try {
      checkFunctionEnvironments(broken);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FunctionEnvironmentError);
    const message = (error as Error).message;
    expect(message).toMatch(/SubmitFunction: .*JOBS_TABLE_NAME/);
    // Only the broken function is reported.
    for (const other of ['ApiFunction', 'PollFunction', 'CancelFunction', 'SweepFunction']) {
      expect(message).not.toContain(`${other}:`);
    }
  });

  it('never writes a value into its message', () => {
    const secret = 'not-a-number-SECRET-1234';
    const submit = functions.find((fn) => fn.name === 'SubmitFunction');
    const env = { ...submit?.env, MAX_RECEIVE_COUNT: secret };
    expect(() => checkFunctionEnvironments([{ name: 'SubmitFunction', env }])).toThrow(FunctionEnvironmentError);
    try {
      checkFunctionEnvironments([{ name: 'SubmitFunction', env }]);
    } catch (error) {
      expect((error as Error).message).toContain('MAX_RECEIVE_COUNT');
      expect((error as Error).message).not.toContain(secret);
    }
  });
});
