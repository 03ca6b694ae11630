/**
 * The status page's one override of the template: METRICS_WORKSPACE_DIMENSION=true where the template sets the
 * variable (the functions that call Databricks), listed as a difference; nowhere else, and not unless asked.
 */
import { describe, expect, it } from 'vitest';
import { overrideEnvironment } from '../../../infra/local/template/local-overrides.js';

const ENDPOINTS = { databricksUrl: 'http://127.0.0.1:40123', tokenFileDir: '/tmp/tokens', aws: {} };
const POLL_ENV = { ALLOWED_DATABRICKS_HOSTS: 'dbc-1.cloud.databricks.com', METRICS_WORKSPACE_DIMENSION: 'false' };
const API_ENV = { ALLOWED_DATABRICKS_HOSTS: 'dbc-1.cloud.databricks.com' };

describe('metricsWorkspaceDimension', () => {
  it('sets METRICS_WORKSPACE_DIMENSION=true where the template sets it, and lists the difference', () => {
    const { env, differences } = overrideEnvironment(POLL_ENV, {
      endpoints: ENDPOINTS,
      metricsWorkspaceDimension: true,
    });
    expect(env.METRICS_WORKSPACE_DIMENSION).toBe('true');
    expect(differences).toContain(
      "METRICS_WORKSPACE_DIMENSION: template value -> the status page's calls per workspace",
    );
  });

  it('leaves a function the template does not give the variable, and the template value when not asked', () => {
    expect(
      overrideEnvironment(API_ENV, { endpoints: ENDPOINTS, metricsWorkspaceDimension: true }).env,
    ).not.toHaveProperty('METRICS_WORKSPACE_DIMENSION');
    const { env, differences } = overrideEnvironment(POLL_ENV, { endpoints: ENDPOINTS });
    expect(env.METRICS_WORKSPACE_DIMENSION).toBe('false');
    expect(differences.some((line) => line.startsWith('METRICS_WORKSPACE_DIMENSION'))).toBe(false);
  });
});
