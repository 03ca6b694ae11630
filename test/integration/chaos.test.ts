/**
 * The chaos scenario (what `npm run chaos` runs, there with 1,000 jobs), small and with a fixed seed: faults on every
 * dependency and killed invocations, and still no job lost, none run twice, no secret anywhere, every failure said why.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type ChaosResult, runChaosScenario } from '../../infra/local/chaos-scenario.js';
import { DEPENDENCIES } from '../../infra/local/faults/fault-plan.js';

let result: ChaosResult;

beforeAll(async () => {
  // The rarely called dependencies (the token endpoint, Kubernetes and STS, whose credentials are cached) and
  // Databricks get higher rates, so a small run still injects faults of every kind; so do killed invocations, since a
  // kill only counts when the invocation outlives its random 0-300 ms.
  result = await runChaosScenario({
    jobs: 40,
    seed: 424242,
    rate: 0.05,
    rates: { databricks: 0.15, token: 0.5, kubernetes: 0.5, sts: 0.5, handler: 0.25 },
    deadlineMs: 100_000,
  });
}, 150_000);

describe('the chaos scenario', () => {
  it('loses no job and every failed job says why', () => {
    expect(result.jobs).toBe(40);
    expect(result.lost).toBe(0);
    expect(result.failedWithoutReason).toBe(0);
    expect(result.succeeded + result.failedWithReason).toBe(40);
  });

  it('never starts a second Databricks run for a job', () => {
    expect(result.duplicateRuns).toBe(0);
  });

  it('leaves no secret in the table, the logs or the DLQs', () => {
    expect(result.secretsFound).toBe(0);
  });

  it('injected faults into every dependency', () => {
    const hit = new Set(Object.keys(result.faultsInjected).map((kind) => kind.split(':')[0]));
    for (const dependency of DEPENDENCIES) expect(hit.has(dependency), dependency).toBe(true);
    expect(result.seed).toBe(424242);
  });
});
