import { describe, expect, it } from 'vitest';
import { PHASES } from '../../../shared/jobs/phase.js';
import { mapRunState } from '../../../shared/jobs/run-state-mapping.js';

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
        status: { state: 'TERMINATED', termination_details: { code: 'DRIVER_ERROR', type: 'CLIENT_ERROR' } },
      }).phase,
    ).toBe('FAILED');
    expect(
      mapRunState({ status: { state: 'TERMINATED', termination_details: { code: 'X', type: 'CLOUD_FAILURE' } } }).phase,
    ).toBe('RETRYABLE_FAILED');
    expect(mapRunState({ status: { state: 'WAITING' } }).phase).toBe('WAITING_FOR_RESOURCES');
    expect(mapRunState({ status: { state: 'RUNNING' } }).phase).toBe('RUNNING');
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
