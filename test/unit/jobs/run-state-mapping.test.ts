import { describe, expect, it } from 'vitest';
import { PHASES } from '../../../shared/jobs/phase.js';
import { mapRunState, TERMINATION_CODE_PHASES } from '../../../shared/jobs/run-state-mapping.js';

/**
 * Jobs API 2.2 TerminationCodeCode, every documented value (Databricks Go/Java/JS SDKs, generated from the API spec),
 * with the phase each must give when Databricks answers with only `status`.
 */
const DOCUMENTED_TERMINATION_CODES: ReadonlyArray<[string, string]> = [
  ['SUCCESS', 'SUCCEEDED'],
  ['SUCCESS_WITH_FAILURES', 'SUCCEEDED'],
  ['USER_CANCELED', 'FAILED'],
  ['CANCELED', 'FAILED'],
  ['SKIPPED', 'FAILED'],
  ['DISABLED', 'FAILED'],
  ['INTERNAL_ERROR', 'RETRYABLE_FAILED'],
  ['CLOUD_FAILURE', 'RETRYABLE_FAILED'],
  ['CLUSTER_ERROR', 'RETRYABLE_FAILED'],
  ['DRIVER_ERROR', 'RETRYABLE_FAILED'],
  ['REPOSITORY_CHECKOUT_FAILED', 'RETRYABLE_FAILED'],
  ['WORKSPACE_RUN_LIMIT_EXCEEDED', 'RETRYABLE_FAILED'],
  ['CLUSTER_REQUEST_LIMIT_EXCEEDED', 'RETRYABLE_FAILED'],
  ['MAX_CONCURRENT_RUNS_EXCEEDED', 'RETRYABLE_FAILED'],
  ['MAX_JOB_QUEUE_SIZE_EXCEEDED', 'RETRYABLE_FAILED'],
  ['MAX_SPARK_CONTEXTS_EXCEEDED', 'RETRYABLE_FAILED'],
  ['RUN_EXECUTION_ERROR', 'FAILED'],
  ['INVALID_CLUSTER_REQUEST', 'FAILED'],
  ['INVALID_RUN_CONFIGURATION', 'FAILED'],
  ['RESOURCE_NOT_FOUND', 'FAILED'],
  ['FEATURE_DISABLED', 'FAILED'],
  ['LIBRARY_INSTALLATION_ERROR', 'FAILED'],
  ['STORAGE_ACCESS_ERROR', 'FAILED'],
  ['UNAUTHORIZED_ERROR', 'FAILED'],
  ['BUDGET_POLICY_LIMIT_EXCEEDED', 'FAILED'],
  ['BREAKING_CHANGE', 'FAILED'],
];

describe('Function: mapRunState()', () => {
  it.each([
    ['QUEUED', 'WAITING_FOR_RESOURCES'],
    ['BLOCKED', 'WAITING_FOR_RESOURCES'],
    ['PENDING', 'INITIALIZING'],
    ['RUNNING', 'RUNNING'],
    ['TERMINATING', 'RUNNING'],
    ['WAITING_FOR_RETRY', 'RUNNING'],
    ['SKIPPED', 'FAILED'],
    ['INTERNAL_ERROR', 'RETRYABLE_FAILED'],
  ])('maps life-cycle state %s to %s', (lifeCycleState, phase) => {
    const mapped = mapRunState({ state: { life_cycle_state: lifeCycleState, state_message: 'm' } });
    expect(mapped).toEqual({ phase, lifeCycleState, resultState: undefined, message: 'm', unknown: false });
  });

  it.each([
    ['SUCCESS', 'SUCCEEDED'],
    ['SUCCESS_WITH_FAILURES', 'SUCCEEDED'],
    ['FAILED', 'FAILED'],
    ['TIMEDOUT', 'FAILED'],
    ['CANCELED', 'FAILED'],
    ['UPSTREAM_FAILED', 'FAILED'],
    ['UPSTREAM_CANCELED', 'FAILED'],
    ['EXCLUDED', 'FAILED'],
    ['DISABLED', 'FAILED'],
    ['MAXIMUM_CONCURRENT_RUNS_REACHED', 'RETRYABLE_FAILED'],
  ])('maps TERMINATED with result state %s to %s', (resultState, phase) => {
    const mapped = mapRunState({ state: { life_cycle_state: 'TERMINATED', result_state: resultState } });
    expect(mapped.phase).toBe(phase);
    expect(mapped.resultState).toBe(resultState);
    expect(mapped.unknown).toBe(false);
  });

  it('treats an unknown future life-cycle state as still running and flags it', () => {
    const mapped = mapRunState({ state: { life_cycle_state: 'HIBERNATING' } });
    expect(mapped.phase).toBe('RUNNING');
    expect(mapped.unknown).toBe(true);
  });

  it('fails a TERMINATED run whose result state is unknown, flagging it, rather than polling forever', () => {
    expect(mapRunState({ state: { life_cycle_state: 'TERMINATED', result_state: 'NEWLY_INVENTED' } })).toMatchObject({
      phase: 'FAILED',
      unknown: true,
    });
    expect(mapRunState({ state: { life_cycle_state: 'TERMINATED' } })).toMatchObject({
      phase: 'FAILED',
      unknown: true,
    });
  });

  it('uses the 2.2 status when the deprecated state is absent', () => {
    expect(
      mapRunState({
        status: { state: 'TERMINATED', termination_details: { code: 'SUCCESS', type: 'SUCCESS', message: 'ok' } },
      }),
    ).toEqual({
      phase: 'SUCCEEDED',
      lifeCycleState: 'TERMINATED',
      resultState: 'SUCCESS',
      message: 'ok',
      unknown: false,
    });
    expect(
      mapRunState({
        status: { state: 'TERMINATED', termination_details: { code: 'RUN_EXECUTION_ERROR', type: 'CLIENT_ERROR' } },
      }).phase,
    ).toBe('FAILED');
    expect(mapRunState({ status: { state: 'WAITING' } }).phase).toBe('WAITING_FOR_RESOURCES');
    expect(mapRunState({ status: { state: 'RUNNING' } }).phase).toBe('RUNNING');
  });

  it.each(DOCUMENTED_TERMINATION_CODES)('status only: termination code %s maps to %s', (code, phase) => {
    // The type Databricks reports does not decide a documented code: cancelled and skipped runs carry type SUCCESS.
    for (const type of ['SUCCESS', 'CLIENT_ERROR', 'INTERNAL_ERROR', 'CLOUD_FAILURE']) {
      const mapped = mapRunState({
        status: { state: 'TERMINATED', termination_details: { code, type, message: `run ${code}` } },
      });
      expect(mapped).toEqual({
        phase,
        lifeCycleState: 'TERMINATED',
        resultState: code,
        message: `run ${code}`,
        unknown: false,
      });
    }
  });

  it('maps every documented termination code and no other', () => {
    expect(Object.keys(TERMINATION_CODE_PHASES).sort()).toEqual(DOCUMENTED_TERMINATION_CODES.map(([c]) => c).sort());
  });

  it('status only: cancelled and skipped runs (termination type SUCCESS) do not succeed', () => {
    for (const code of ['USER_CANCELED', 'CANCELED', 'SKIPPED', 'DISABLED']) {
      const mapped = mapRunState({ status: { state: 'TERMINATED', termination_details: { code, type: 'SUCCESS' } } });
      expect(mapped.phase, code).toBe('FAILED');
    }
  });

  it('status only: a code this release does not know takes the termination type, flagged for a log line', () => {
    expect(
      mapRunState({ status: { state: 'TERMINATED', termination_details: { code: 'X', type: 'CLOUD_FAILURE' } } }),
    ).toMatchObject({ phase: 'RETRYABLE_FAILED', resultState: 'X', unknown: true });
    expect(
      mapRunState({ status: { state: 'TERMINATED', termination_details: { code: 'X', type: 'SUCCESS' } } }),
    ).toMatchObject({ phase: 'SUCCEEDED', unknown: true });
    expect(
      mapRunState({ status: { state: 'TERMINATED', termination_details: { code: 'X', type: 'NEW_TYPE' } } }),
    ).toMatchObject({ phase: 'FAILED', unknown: true });
  });

  it('prefers state.result_state over the 2.2 termination type when both are present', () => {
    const mapped = mapRunState({
      state: { life_cycle_state: 'TERMINATED', result_state: 'CANCELED' },
      status: { state: 'TERMINATED', termination_details: { code: 'USER_CANCELED', type: 'SUCCESS' } },
    });
    expect(mapped.phase).toBe('FAILED');
    expect(mapped.resultState).toBe('CANCELED');
  });

  it('gives UNDEFINED for a run without any state', () => {
    expect(mapRunState({})).toMatchObject({ phase: 'UNDEFINED', unknown: true });
  });

  it('only ever answers with a known phase', () => {
    for (const life of ['QUEUED', 'TERMINATED', 'X', 'RUNNING']) {
      expect(PHASES).toContain(mapRunState({ state: { life_cycle_state: life, result_state: 'Y' } }).phase);
    }
  });
});
