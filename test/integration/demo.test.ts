/**
 * The demo scenario (what `npm run demo` runs), asserted job by job, and then the audit issue 3 asks for: after
 * it, nothing secret in the jobs table or in any log line (debug level included). Secrets here are the PATs and
 * client secrets the tenants were given, every OAuth access token the workspace issued, and any JWT.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoResult, demoStackOptions, runDemoScenario, shortGrant } from '../../infra/local/demo-scenario.js';
import type { LocalStack } from '../../infra/local/local-stack.js';
import { startLocalStack } from '../../infra/local/local-stack.js';
import { scanJobs } from './support/test-stack.js';

let stack: LocalStack;
let result: DemoResult;
const output: string[] = [];

beforeAll(async () => {
  // The functions log at DEBUG (AWS_LAMBDA_LOG_LEVEL too, or Lambda's filter drops the debug lines); their lines are
  // printed by their own worker processes and kept in stack.functionLogs, as CloudWatch Logs would hold them.
  stack = await startLocalStack({ ...demoStackOptions, logLevel: 'DEBUG', onFunctionLog: () => undefined });
  result = await runDemoScenario(stack, (line) => output.push(line));
}, 120_000);
afterAll(() => stack?.stop());

describe('the demo scenario', () => {
  it('ends ok: every job as expected, one run each, run by its tenant principal', () => {
    expect(result.jobs.map((j) => [j.name, j.phase])).toEqual([
      ['pat', 'SUCCEEDED'],
      ['oauth_m2m', 'SUCCEEDED'],
      ['oidc_model1_file', 'SUCCEEDED'],
      ['oidc_model1_sts', 'SUCCEEDED'],
      ['oidc_model2', 'SUCCEEDED'],
      ['oauth_m2m-long', 'SUCCEEDED'],
      ['pat-cancelled', 'ABORTED'],
    ]);
    expect(result.jobs.every((j) => j.databricksRuns === 1)).toBe(true);
    expect(result.ok).toBe(true);
  });

  it("counted each job once in the functions' metrics: accepted, and ended in its phase", () => {
    expect(result.metrics).toMatchObject({ jobsAccepted: 7, jobsEnded: { SUCCEEDED: 6, ABORTED: 1 } });
    expect(result.metrics.databricksCalls).toBeGreaterThan(0);
  });

  it('the long job outlived its tokens at least twice', () => {
    const long = result.jobs.find((j) => j.name === 'oauth_m2m-long');
    // Each execution environment caches its own tokens: the submit function's first, the poll function's first,
    // then at least two refreshes as the poll function's tokens expired while the run went on.
    expect(long?.tokenRequests).toBeGreaterThanOrEqual(4);
  });

  it('ran the synthesized template, and IAM denied no request', () => {
    expect(result.stack.deniedCalls).toBe(0);
    expect(stack.iamReport().deniedCalls).toEqual([]);
    expect(result.stack.template).toMatch(/\.template\.json$/);
    expect(existsSync(result.stack.template)).toBe(true);
    expect(result.stack.runtime).toBe('nodejs22.x');
    // Only the functions' roles, each listed, its unused grants as the report names them.
    expect(Object.keys(result.stack.unusedGrants)).toEqual([
      'ApiFunction',
      'CancelFunction',
      'PollFunction',
      'SubmitFunction',
      'SweepFunction',
    ]);
    const report = stack.iamReport().principals;
    for (const [fn, unused] of Object.entries(result.stack.unusedGrants)) {
      expect(unused, fn).toEqual((report[fn]?.unused ?? []).map(shortGrant));
      for (const grant of unused) expect((report[fn]?.granted ?? []).map(shortGrant), fn).toContain(grant);
    }
  });

  it('Model 2 ran as the namespace service principal, not the connector', () => {
    const model2 = result.jobs.find((j) => j.mode === 'oidc_model2');
    const model1 = result.jobs.find((j) => j.mode === 'oidc_model1_file');
    expect(model2?.principal).toMatch(/^[0-9a-f-]{36}$/);
    expect(model2?.principal).not.toBe(model1?.principal);
  });

  it('left no secret in the jobs table or the logs', async () => {
    const table = JSON.stringify(await scanJobs(stack));
    // The functions' own log lines (debug level included), and what the scenario printed.
    const logs = [...stack.functionLogs, ...output].join('\n');
    expect(stack.env.POWERTOOLS_LOG_LEVEL).toBe('DEBUG');
    expect(stack.functionLogs.length).toBeGreaterThan(0);
    for (const [what, haystack] of [
      ['table', table],
      ['logs', logs],
    ] as const) {
      expect(haystack, `${what}: a PAT`).not.toMatch(/dapi[0-9a-f]{32}/);
      expect(haystack, `${what}: an OAuth client secret`).not.toMatch(/dose[0-9a-f]{48}/);
      expect(haystack, `${what}: a JWT`).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}\./);
      for (const token of stack.databricks.issuedAccessTokens) {
        expect(haystack.includes(token), `${what}: an OAuth access token`).toBe(false);
      }
    }
    expect(stack.databricks.issuedAccessTokens.length).toBeGreaterThan(10);
  });
});
