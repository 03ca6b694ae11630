/**
 * The chaos scenario (what `npm run chaos` runs, there with 1,000 jobs), small and with a fixed seed: faults on every
 * dependency (slow and hung Databricks answers included), killed invocations and a workspace that browns out, and
 * still no job lost, none run twice, no secret anywhere, every failure said why, nothing left in a DLQ, no Lambda
 * timeout, and every job caught in the brownout ended SUCCEEDED. Timing (the healthy namespace's lag, the busiest
 * second at a workspace) depends on the machine and is judged by the script only, never here.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type ChaosResult, runChaosScenario } from '../../infra/local/chaos-scenario.js';
import { DEPENDENCIES } from '../../infra/local/faults/fault-plan.js';

const JOBS = 40;
const SEED = 114843;
const HEALTHY_SAMPLES = 3;

let result: ChaosResult;

beforeAll(async () => {
  // The rarely called dependencies (the token endpoint, Kubernetes and STS, whose credentials are cached), slow answers
  // and killed invocations get higher rates, so a small run still meets each. What makes the functions leave a
  // workspace alone (a hang, an error on the probe after it) stays rare, or the run drags on. The
  // seed decides each emulator route's first fault before anything runs: with this one every route's first call
  // fails, so even STS (its token is cached: it may be called once) and a hang are met.
  result = await runChaosScenario({
    jobs: JOBS,
    seed: SEED,
    rate: 0.05,
    rates: {
      databricks: 0.05,
      'databricks-latency': 0.05,
      'databricks-hang': 0.01,
      token: 0.5,
      kubernetes: 0.5,
      sts: 0.5,
      handler: 0.1,
    },
    healthySamples: HEALTHY_SAMPLES,
    // The functions leave a failing workspace alone 2 s, then 4 s, 8 s (10 s, 20 s... by default): the file lasts
    // about 30 s wherever the seeded hangs land, instead of 30 to 90 s when one meets a probe.
    workspaceBackoff: { firstBackoffMs: 2000, maxBackoffMs: 8000 },
    brownoutMs: 4000,
    deadlineMs: 100_000,
  });
}, 150_000);

describe('the chaos scenario', () => {
  it('loses no job and every failed job says why', () => {
    expect(result.jobs).toBe(JOBS);
    expect(result.lost).toBe(0);
    expect(result.failedWithoutReason).toBe(0);
    expect(result.succeeded + result.failedWithReason).toBe(JOBS);
  });

  it('never starts a second Databricks run for a job', () => {
    expect(result.duplicateRuns).toBe(0);
  });

  it('leaves no secret in the table, the logs or the DLQs', () => {
    expect(result.secretsFound).toBe(0);
  });

  it('leaves no message in a DLQ and lets no invocation reach its timeout', () => {
    expect(result.dlqMessages).toBe(0);
    expect(result.lambdaTimeouts).toBe(0);
    // Keyed by the functions' physical names, as the template's stack names them.
    expect(Object.keys(result.lambdaTimeoutsByFunction).sort()).toEqual(
      ['Api', 'Cancel', 'Poll', 'Submit', 'Sweep'].map((name) => `FlyteDatabricksLambda-${name}Function`),
    );
  });

  it("makes no request IAM denies, and lists each function role's unused grants", () => {
    expect(result.deniedCalls).toBe(0);
    expect(Object.keys(result.unusedGrants)).toEqual([
      'ApiFunction',
      'CancelFunction',
      'PollFunction',
      'SubmitFunction',
      'SweepFunction',
    ]);
  });

  it('ends every job the brownout caught as its run ended', () => {
    expect(result.brownoutJobs).toBeGreaterThan(0);
    expect(result.brownoutLost).toBe(0);
  });

  it('times every healthy job, in both phases', () => {
    expect(result.healthyLagsS.baseline).toHaveLength(HEALTHY_SAMPLES);
    expect(result.healthyLagsS.brownout).toHaveLength(HEALTHY_SAMPLES);
  });

  it('counts rescues and workspace calls over what the run did', () => {
    expect(Number.isInteger(result.rescues)).toBe(true);
    expect(result.rescues).toBeGreaterThanOrEqual(0);
    expect(result.rescues).toBeLessThanOrEqual(JOBS);
    expect(result.workspaceBudgetRps).toBe(20);
    for (const workspace of ['main', 'brownout', 'steady', 'healthy']) {
      expect(result.requestsByWorkspace[workspace], workspace).toBeGreaterThan(0);
      expect(result.peakRpsByWorkspace[workspace], workspace).toBeGreaterThan(0);
      expect(result.peakRpsByWorkspace[workspace], workspace).toBeLessThanOrEqual(
        result.requestsByWorkspace[workspace] ?? 0,
      );
    }
    expect(result.peakWorkspaceRps).toBe(Math.max(...Object.values(result.peakRpsByWorkspace)));
  });

  it('injected faults into every dependency', () => {
    const hit = new Set(Object.keys(result.faultsInjected).map((kind) => kind.split(':')[0]));
    for (const dependency of DEPENDENCIES) expect(hit.has(dependency), dependency).toBe(true);
    expect(result.seed).toBe(SEED);
  });
});
