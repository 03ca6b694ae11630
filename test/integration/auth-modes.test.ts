/**
 * Every auth mode end to end on the local stack, each tenant in its own namespace and set up as an operator
 * would: the job SUCCEEDS with exactly one run, and Databricks saw the principal the mode implies. Databricks
 * tokens here live 3 s and runs take about 7 s, so every OAuth/OIDC job outlives its first tokens and proves the
 * strategy, rebuilt on every poll, keeps fetching fresh ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTenants, type Tenants } from '../../infra/local/tenants.js';
import type { AuthMode } from '../../shared/auth/auth-context.js';
import type { JobView } from '../../shared/jobs/job.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { jobRequest, runsFor, startTestStack, type TestStack, waitForTerminal } from './support/test-stack.js';

const TOKEN_TTL_SECONDS = 3;
const MODES: Array<[AuthMode, string]> = [
  ['pat', 'auto-detect'],
  ['oauth_m2m', 'auto-detect'],
  ['oidc_model1_file', 'task databricksAuthType=oidc_federation'],
  ['oidc_model1_sts', 'task databricksAuthType=oidc_federation'],
  ['oidc_model2', 'auto-detect'],
];

let t: TestStack;
let tenants: Tenants;
const finished = new Map<AuthMode, JobView>();

beforeAll(async () => {
  t = await startTestStack({
    databricks: {
      oauthTokenTtlSeconds: TOKEN_TTL_SECONDS,
      timing: { pendingMs: 500, runningMs: 6500, terminatingMs: 100 },
    },
  });
  tenants = await seedTenants(t.stack);
  // All five at once, as a busy connector would see them.
  await Promise.all(
    MODES.map(async ([mode]) => {
      const tenant = tenants[mode];
      const request = jobRequest(`modes-${mode}`);
      const answer = await t.api.submit({
        ...request,
        namespace: tenant.namespace,
        task: { ...request.task, ...tenant.task },
      });
      expect(answer.status).toBe(202);
      finished.set(mode, await waitForTerminal(t.api, jobIdFor(tenant.namespace, `modes-${mode}`), 40_000));
    }),
  );
}, 60_000);
afterAll(() => t?.stack.stop());

describe('each auth mode, end to end', () => {
  it.each(MODES)(
    '%s: SUCCEEDED with one run, by the expected principal, chosen for the right reason',
    (mode, reason) => {
      const tenant = tenants[mode];
      const done = finished.get(mode);
      expect(done?.phase, done?.message).toBe('SUCCEEDED');
      expect(done?.auth).toMatchObject({ mode, reason: expect.stringContaining(reason) });
      const runs = runsFor(t.stack, jobIdFor(tenant.namespace, `modes-${mode}`));
      expect(runs).toHaveLength(1);
      expect(runs[0]?.principal).toBe(tenant.principal);
    },
  );

  it.each(MODES.filter(([mode]) => mode !== 'pat'))(
    '%s: fetched fresh Databricks tokens as earlier ones expired mid-run',
    (mode) => {
      const requests = t.stack.databricks.tokenRequests.filter(
        (r) => r.clientId === tenants[mode].principal && r.status === 200,
      );
      expect(requests.length).toBeGreaterThanOrEqual(2);
    },
  );

  it('Model 2 minted the namespace ServiceAccount JWT with the default audience and lifetime', () => {
    const minted = t.stack.kubernetes.tokenRequests.filter((r) => r.namespace === tenants.oidc_model2.namespace);
    expect(minted.length).toBeGreaterThan(0);
    expect(minted[0]).toMatchObject({
      serviceAccount: 'databricks-runner',
      audiences: ['databricks'],
      expirationSeconds: 3600,
    });
  });

  it('Model 1 (STS) asked for an RS256 token for the audience, as the role the calling function runs as', () => {
    const roles = t.stack.functionRoleArns;
    expect(t.stack.sts.issued.length).toBeGreaterThan(0);
    // The submit function asked first (it starts the run), each function as its own role, never the operator.
    expect(t.stack.sts.issued[0]).toMatchObject({
      signingAlgorithm: 'RS256',
      audience: ['databricks'],
      subject: roles.submit,
    });
    for (const issued of t.stack.sts.issued) {
      expect(issued).toMatchObject({ signingAlgorithm: 'RS256', audience: ['databricks'] });
      expect([roles.submit, roles.poll, roles.cancel]).toContain(issued.subject);
    }
    // The job was polled too: the poll function got its own token, as its own role.
    expect(t.stack.sts.issued.map((issued) => issued.subject)).toContain(roles.poll);
  });
});
