import { afterEach, describe, expect, it } from 'vitest';
import { createJobPorts, workspaceHealthSettingsOf } from '../../../functions/job-ports.js';
import { parseConfig } from '../../../shared/config.js';
import {
  DEFAULT_WORKSPACE_HEALTH,
  WorkspaceHealth,
  workspaceHealth,
} from '../../../shared/databricks/workspace-health.js';
import { DeferError } from '../../../shared/invocation-deadline.js';

const WS = 'https://dbc-1.cloud.databricks.com';
const OTHER = 'https://dbc-2.cloud.databricks.com';

function setup() {
  let now = 1_000_000;
  const health = new WorkspaceHealth(
    { failuresToOpen: 3, firstBackoffMs: 10_000, maxBackoffMs: 40_000 },
    () => now,
    () => 0,
  );
  return { health, advance: (ms: number) => (now += ms) };
}

function deferral(call: () => void): DeferError {
  try {
    call();
  } catch (error) {
    if (error instanceof DeferError) return error;
    throw error;
  }
  throw new Error('expected a DeferError');
}

describe('Class: WorkspaceHealth', () => {
  it('admits a workspace it has not seen fail, and one that failed fewer times than the threshold', () => {
    const { health } = setup();
    expect(() => health.admit(WS)).not.toThrow();
    health.failed(WS);
    health.failed(WS);
    expect(() => health.admit(WS)).not.toThrow();
  });

  it('a success in between resets the count: only failures in a row open it', () => {
    const { health } = setup();
    health.failed(WS);
    health.failed(WS);
    health.succeeded(WS);
    health.failed(WS);
    expect(() => health.admit(WS)).not.toThrow();
  });

  it('after the threshold refuses calls with a DeferError for the backoff, naming the host, others unaffected', () => {
    const { health } = setup();
    for (let i = 0; i < 3; i++) health.failed(WS);
    const error = deferral(() => health.admit(WS));
    expect(error.permanent).toBe(false);
    expect(error.delaySeconds).toBe(10);
    expect(error.message).toContain('dbc-1.cloud.databricks.com');
    expect(health.isUnhealthy(WS)).toBe(true);
    expect(() => health.admit(OTHER)).not.toThrow();
  });

  it('a call that got no answer in time makes it unhealthy at once', () => {
    const { health } = setup();
    health.failed(WS, true);
    expect(health.isUnhealthy(WS)).toBe(true);
    expect(deferral(() => health.admit(WS)).delaySeconds).toBe(10);
  });

  it('calls already in flight that fail while it is unhealthy neither extend nor double its time out', () => {
    const { health } = setup();
    health.failed(WS, true);
    health.failed(WS, true);
    health.failed(WS);
    expect(deferral(() => health.admit(WS)).delaySeconds).toBe(10);
  });

  it('lets one probe through after the backoff; a good probe makes it healthy again', () => {
    const { health, advance } = setup();
    for (let i = 0; i < 3; i++) health.failed(WS);
    advance(10_000);
    expect(() => health.admit(WS)).not.toThrow();
    // While the probe is out, the others still wait.
    expect(deferral(() => health.admit(WS)).delaySeconds).toBeGreaterThan(0);
    health.succeeded(WS);
    expect(health.isUnhealthy(WS)).toBe(false);
    expect(() => health.admit(WS)).not.toThrow();
  });

  it('a failed probe reopens it for twice as long, up to the maximum', () => {
    const { health, advance } = setup();
    for (let i = 0; i < 3; i++) health.failed(WS);
    const backoffs: number[] = [];
    for (let round = 0; round < 4; round++) {
      const error = deferral(() => health.admit(WS));
      backoffs.push(error.delaySeconds);
      advance(error.delaySeconds * 1000);
      health.admit(WS);
      health.failed(WS);
    }
    expect(backoffs).toEqual([10, 20, 40, 40]);
  });

  it('is left alone as long as a Retry-After asked when it opens, without doubling a backoff the workspace set', () => {
    const { health, advance } = setup();
    for (let i = 0; i < 2; i++) health.failed(WS);
    health.failed(WS, false, 30_000);
    expect(deferral(() => health.admit(WS)).delaySeconds).toBe(30);
    advance(30_000);
    health.admit(WS);
    // The probe fails again without a Retry-After: the backoff was not doubled by the workspace's own wait.
    health.failed(WS);
    expect(deferral(() => health.admit(WS)).delaySeconds).toBe(10);
  });

  it('a Retry-After alone, below the threshold, opens nothing; one longer than the maximum is capped', () => {
    const { health, advance } = setup();
    health.failed(WS, false, 60_000);
    expect(() => health.admit(WS)).not.toThrow();
    health.failed(WS);
    health.failed(WS, false, 600_000);
    expect(deferral(() => health.admit(WS)).delaySeconds).toBe(40);
    advance(40_000);
    expect(() => health.admit(WS)).not.toThrow();
  });
});

describe('WorkspaceHealth: the configured backoffs', () => {
  const env = {
    JOBS_TABLE_NAME: 'jobs',
    SUBMIT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/submit',
    POLL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/poll',
    CANCEL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/cancel',
  };
  afterEach(() => workspaceHealth.configure(DEFAULT_WORKSPACE_HEALTH));

  it('reads the backoffs from the settings, in milliseconds, and the defaults when they are unset', () => {
    expect(workspaceHealthSettingsOf(parseConfig(env))).toEqual(DEFAULT_WORKSPACE_HEALTH);
    const configured = parseConfig({
      ...env,
      WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: '2',
      WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: '3',
    });
    expect(workspaceHealthSettingsOf(configured)).toEqual({
      failuresToOpen: DEFAULT_WORKSPACE_HEALTH.failuresToOpen,
      firstBackoffMs: 2000,
      maxBackoffMs: 3000,
    });
  });

  it('configure replaces the backoffs: the first one, then doubling up to the maximum', () => {
    let now = 1_000_000;
    const health = new WorkspaceHealth(
      DEFAULT_WORKSPACE_HEALTH,
      () => now,
      () => 0,
    );
    health.configure({ failuresToOpen: 1, firstBackoffMs: 2000, maxBackoffMs: 3000 });
    health.failed(WS);
    const backoffs: number[] = [];
    for (let round = 0; round < 3; round++) {
      const error = deferral(() => health.admit(WS));
      backoffs.push(error.delaySeconds);
      now += error.delaySeconds * 1000;
      health.admit(WS);
      health.failed(WS);
    }
    expect(backoffs).toEqual([2, 3, 3]);
  });

  it("the container's view takes the configured first backoff when its job ports are built", () => {
    createJobPorts(parseConfig({ ...env, WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: '2' }));
    for (let i = 0; i < DEFAULT_WORKSPACE_HEALTH.failuresToOpen; i++) workspaceHealth.failed(WS);
    // 2 s plus at most 20 % jitter, rounded up to whole seconds (the default would be 10 to 12).
    const delay = deferral(() => workspaceHealth.admit(WS)).delaySeconds;
    expect(delay).toBeGreaterThanOrEqual(2);
    expect(delay).toBeLessThanOrEqual(3);
  });
});
