/**
 * The emit helpers against the catalog: each writes its metric with the catalog's name and unit, in the namespace,
 * with exactly the catalog's dimension set in the catalog's order; a value the catalog does not list (only reachable
 * by casting past the types) is refused without being printed or logged, and counting never throws.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuthMode } from '../../../shared/auth/auth-context.js';
import { logger } from '../../../shared/logger.js';
import {
  METRICS,
  METRICS_NAMESPACE,
  type MetricName,
  type StatusClass,
  type TerminalPhase,
} from '../../../shared/metrics/metric-catalog.js';
import {
  countDatabricksCall,
  countDeferral,
  countJobAccepted,
  countJobEnded,
  countJobSubmitted,
  countPollPaced,
  countSweeperGiveUp,
  countSweeperRescue,
  countTokenFetch,
  recordDetectionLag,
  recordRetryAfterWait,
} from '../../../shared/metrics/metrics.js';
import { statusClassOf } from '../../../shared/metrics/status-class.js';
import { type WorkspaceDimension, workspaceDimension } from '../../../shared/metrics/workspace-dimension.js';
import { testConfig } from '../../support/test-config.js';
import { captureStdout, type StdoutCapture } from './emf-capture.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

const HOST = 'dbc-1.cloud.databricks.com';
const workspace = workspaceDimension(
  HOST,
  testConfig({}, { ALLOWED_DATABRICKS_HOSTS: HOST, METRICS_WORKSPACE_DIMENSION: 'true' }),
);

/** One call of each helper, so that every catalog metric is written once. */
const EMITTERS: Record<MetricName, () => Promise<unknown> | undefined> = {
  JobsAccepted: () => void countJobAccepted(),
  JobsSubmitted: () => void countJobSubmitted('oidc_model2'),
  JobsEnded: () => void countJobEnded('ABORTED'),
  DetectionLag: () => void recordDetectionLag(Date.now() - 4000, new Date()),
  DatabricksCalls: () => void countDatabricksCall('runs/get-output', '5xx', undefined),
  WorkspaceCalls: () => void countDatabricksCall('runs/get', '429', workspace),
  RetryAfterWait: () => void recordRetryAfterWait(1500),
  TokenRequests: () => countTokenFetch('oidc_model1_sts', async () => 'token'),
  TokenFailures: () =>
    countTokenFetch('oidc_model1_file', async () => Promise.reject(new Error('refused'))).catch(() => undefined),
  PollsPaced: () => void countPollPaced(),
  Deferrals: () => void countDeferral('workspace-unhealthy'),
  SweeperRescues: () => void countSweeperRescue(),
  SweeperGiveUps: () => void countSweeperGiveUp(),
};

let stdout: StdoutCapture;
beforeEach(() => {
  stdout = captureStdout();
});
afterEach(() => {
  stdout.restore();
  vi.restoreAllMocks();
});

describe('the emit helpers', () => {
  it.each(Object.keys(METRICS) as MetricName[])(
    'write %s with its catalog unit and exact dimension set',
    async (name) => {
      await EMITTERS[name]();
      const written = stdout.metrics().filter((metric) => metric.name === name);
      expect(written).toHaveLength(1);
      const [metric] = written;
      expect(metric?.namespace).toBe(METRICS_NAMESPACE);
      expect(metric?.unit).toBe(METRICS[name].unit);
      expect(metric?.dimensionSets).toEqual([[...METRICS[name].dimensions]]);
    },
  );

  it('records detection lag in seconds, never negative, and nothing without an end time', () => {
    const now = new Date('2026-03-01T00:01:30.000Z');
    recordDetectionLag(Date.parse('2026-03-01T00:00:00.000Z'), now);
    recordDetectionLag(now.getTime() + 2000, now);
    recordDetectionLag(undefined, now);
    recordDetectionLag(0, now);
    const lags = stdout.metrics().filter((metric) => metric.name === 'DetectionLag');
    expect(lags.flatMap((metric) => metric.value)).toEqual([90, 0]);
  });

  it('refuses a dimension value the catalog does not list, naming the dimension but not the value', () => {
    const warn = vi.spyOn(logger, 'warn');
    countJobSubmitted('tenant-namespace' as AuthMode);
    countJobEnded('RUNNING' as TerminalPhase);
    countDatabricksCall('runs/get', 'sk-secret' as StatusClass, undefined);
    expect(stdout.metrics()).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(3);
    expect(JSON.stringify(warn.mock.calls)).not.toMatch(/tenant-namespace|RUNNING|sk-secret/);
  });

  it('drops a value that is no finite number, with a warning, rather than print a line CloudWatch rejects', () => {
    const warn = vi.spyOn(logger, 'warn');
    expect(() => recordRetryAfterWait(Number.NaN)).not.toThrow();
    expect(() => recordRetryAfterWait(Number.POSITIVE_INFINITY)).not.toThrow();
    expect(stdout.metrics()).toEqual([]);
    expect(warn).toHaveBeenCalledWith(
      'Metric not emitted: its value is not a finite number',
      expect.objectContaining({ metric: 'RetryAfterWait' }),
    );
  });
});

describe('workspaceDimension()', () => {
  const on = (env: Record<string, string>) => testConfig({}, { METRICS_WORKSPACE_DIMENSION: 'true', ...env });

  it('is the normalized host of an allowlisted workspace, only with the switch on', () => {
    expect(
      workspaceDimension(`https://${HOST.toUpperCase()}/?o=123#job/1`, on({ ALLOWED_DATABRICKS_HOSTS: HOST })),
    ).toBe(HOST);
    expect(workspaceDimension(HOST, on({ ALLOWED_DATABRICKS_HOSTS: '*.cloud.databricks.com' }))).toBe(HOST);
    expect(workspaceDimension(HOST, on({ FLYTE_DATABRICKS_INSTANCE: HOST }))).toBe(HOST);
    expect(workspaceDimension(HOST, testConfig({}, { ALLOWED_DATABRICKS_HOSTS: HOST }))).toBeUndefined();
  });

  it('is nothing for a host off the allowlist, any host without one, or text that is no host', () => {
    expect(workspaceDimension('evil.example.com', on({ ALLOWED_DATABRICKS_HOSTS: HOST }))).toBeUndefined();
    expect(workspaceDimension(HOST, on({ INSECURE_ANY_DATABRICKS_HOST: 'true' }))).toBeUndefined();
    expect(
      workspaceDimension('user:secret@dbc-1.cloud.databricks.com', on({ ALLOWED_DATABRICKS_HOSTS: HOST })),
    ).toBeUndefined();
    expect(workspaceDimension(`http://${HOST}`, on({ ALLOWED_DATABRICKS_HOSTS: HOST }))).toBeUndefined();
  });

  it('is what WorkspaceCalls needs: a plain string is refused by the types', () => {
    // @ts-expect-error a caller-supplied string is no WorkspaceDimension
    const raw: WorkspaceDimension = HOST;
    expect(raw).toBe(HOST);
  });
});

describe('statusClassOf()', () => {
  it.each([
    [200, '2xx'],
    [204, '2xx'],
    [302, '3xx'],
    [400, '4xx'],
    [403, '4xx'],
    [429, '429'],
    [500, '5xx'],
    [503, '5xx'],
  ] as const)('classes HTTP %i as %s', (status, expected) => {
    expect(statusClassOf({ status, type: 'basic' })).toBe(expected);
  });

  it('classes no answer as network and an opaque redirect as 3xx', () => {
    expect(statusClassOf(undefined)).toBe('network');
    expect(statusClassOf({ status: 0, type: 'opaqueredirect' })).toBe('3xx');
  });
});
