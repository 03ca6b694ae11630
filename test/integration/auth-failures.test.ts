/**
 * Auth that must fail, and how: a JWT the federation policy does not trust is rejected by the workspace and the
 * job ends FAILED saying why; an ambiguous or forbidden Kubernetes setup is an error, never a silent fall back
 * to another identity (upstream falls back silently); a revoked token is refreshed exactly once.
 */
import { describe, expect, it } from 'vitest';
import { createOidcIssuer } from '../../infra/local/emulators/oidc-issuer.js';
import {
  CONNECTOR_SUBJECT,
  OIDC_AUDIENCE,
  seedModel1File,
  seedModel2,
  seedOAuthM2M,
  seedPatToken,
  type Tenant,
} from '../../infra/local/tenants.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import { jobRequest, jobView, runsFor, useTestStack, waitFor, waitForTerminal } from './support/test-stack.js';

// Runs last 6 s (only the revoked-token test starts a run): the test must see the job RUNNING and revoke the token
// before a poll finds the run ended. The test stack's polls have no batching window and follow each other within a
// second (0 s apart for a run this short), so RUNNING is seen within a second or two of the run's start even on a
// loaded machine, and the revoke a moment later. One execution environment per function: tokens are cached per
// environment, so a second poll environment would fetch its own first token, which is no refresh.
const t = useTestStack({
  databricks: { timing: { pendingMs: 300, runningMs: 6000, terminatingMs: 100 } },
  eventSourceConcurrency: 1,
});

async function run(tenant: Tenant, executionId: string, task: Record<string, unknown> = {}) {
  const request = jobRequest(executionId);
  await t.api.submit({ ...request, namespace: tenant.namespace, task: { ...request.task, ...tenant.task, ...task } });
  const jobId = jobIdFor(tenant.namespace, executionId);
  return { jobId, done: await waitForTerminal(t.api, jobId) };
}

describe('JWTs the federation policy does not trust (Model 1, file)', () => {
  const sign = (claims: { sub?: string; aud?: string; expiresInSeconds?: number }) =>
    t.stack.kubernetes.oidc.sign({
      sub: claims.sub ?? CONNECTOR_SUBJECT,
      aud: claims.aud ?? OIDC_AUDIENCE,
      expiresInSeconds: claims.expiresInSeconds ?? 3600,
    });

  it.each<[string, () => Promise<string>, RegExp]>([
    ['a wrong audience', () => sign({ aud: 'sts.amazonaws.com' }), /audience/i],
    ['a wrong subject', () => sign({ sub: 'system:serviceaccount:flyte:someone-else' }), /subject/i],
    ['an expired JWT', () => sign({ expiresInSeconds: -120 }), /expired|exp/i],
    [
      'an unknown issuer',
      async () => {
        const stranger = await createOidcIssuer({ issuerUrl: 'https://issuer.example.invalid' });
        return stranger.sign({ sub: CONNECTOR_SUBJECT, aud: OIDC_AUDIENCE, expiresInSeconds: 3600 });
      },
      /issuer|polic/i,
    ],
    [
      'an HS256 JWT',
      async () => {
        const hmac = await createOidcIssuer({ issuerUrl: t.stack.kubernetes.issuer, algorithm: 'HS256' });
        return hmac.sign({ sub: CONNECTOR_SUBJECT, aud: OIDC_AUDIENCE, expiresInSeconds: 3600 });
      },
      /HS256|alg/i,
    ],
  ])('%s: the exchange is refused, the job FAILED with the reason, no run', async (name, jwt, reason) => {
    const namespace = `bad-jwt-${name.replace(/\W+/g, '-').replace(/^-|-$/g, '').toLowerCase()}`;
    const tenant = await seedModel1File(t.stack, namespace, await jwt());
    const { jobId, done } = await run(tenant, 'bad-jwt');
    expect(done.phase).toBe('FAILED');
    expect(done.message).toMatch(/token endpoint/);
    expect(done.message).toMatch(reason);
    expect(done.message).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    expect(runsFor(t.stack, jobId)).toHaveLength(0);
  });
});

describe('Kubernetes setups that must not be guessed at', () => {
  it('two Databricks-enabled ServiceAccounts in a namespace: FAILED naming both, no run', async () => {
    const tenant = seedModel2(t.stack, 'two-sas', 'runner-a');
    t.stack.kubernetes.addServiceAccount('two-sas', 'runner-b', {
      labels: { 'flyte.org/databricks-enabled': 'true' },
      annotations: { 'flyte.org/databricks-client-id': 'another-sp' },
    });
    const { jobId, done } = await run(tenant, 'two');
    expect(done.phase).toBe('FAILED');
    expect(done.message).toContain(
      "Multiple Databricks-enabled ServiceAccounts found in namespace 'two-sas': runner-a, runner-b. Configure exactly one.",
    );
    expect(runsFor(t.stack, jobId)).toHaveLength(0);
  });

  it('a Kubernetes 403 on discovery: FAILED naming the RBAC rule, not a silent fall back to the PAT beside it', async () => {
    // The namespace also has a PAT: upstream would quietly use it; the connector must not.
    seedPatToken(t.stack, 'forbidden-ns');
    // EKS access entries map each function's role to its Kubernetes user: deny every function that discovers.
    for (const fn of ['submit', 'poll', 'cancel'] as const) {
      t.stack.kubernetes.deny(t.stack.functionRoleArns[fn], {
        verb: 'list',
        resource: 'serviceaccounts',
        namespace: 'forbidden-ns',
      });
    }
    const tenant: Tenant = { mode: 'pat', namespace: 'forbidden-ns', principal: '', task: {} };
    const { jobId, done } = await run(tenant, 'forbidden');
    expect(done.phase).toBe('FAILED');
    expect(done.message).toMatch(/forbidden|403/i);
    expect(done.message).toMatch(/serviceaccounts/);
    expect(runsFor(t.stack, jobId)).toHaveLength(0);
  });
});

describe('a revoked token mid-run', () => {
  it('is refreshed exactly once, and the job SUCCEEDS with its one run', async () => {
    const tenant = seedOAuthM2M(t.stack, 'revoked-m2m');
    const tokenCalls = () => t.stack.databricks.tokenRequests.filter((r) => r.clientId === tenant.principal).length;
    const request = jobRequest('revoked');
    await t.api.submit({ ...request, namespace: tenant.namespace });
    const jobId = jobIdFor(tenant.namespace, 'revoked');
    const running = await waitFor(
      () => jobView(t.api, jobId),
      (view) => view.phase === 'RUNNING',
    );
    expect(running.phase, running.message).toBe('RUNNING');
    // The one poll environment, whose cached token is now revoked, serves every poll: no cold start from here on.
    const poll = 'FlyteDatabricksLambda-PollFunction';
    const coldBefore = t.stack.functionStarts()[poll]?.cold;
    const before = tokenCalls();
    t.stack.databricks.revokeOAuthTokens();
    const done = await waitForTerminal(t.api, jobId, 40_000);
    expect(done.phase, done.message).toBe('SUCCEEDED');
    expect(t.stack.functionStarts()[poll]?.cold).toBe(coldBefore);
    expect(tokenCalls() - before).toBe(1);
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
    expect(t.stack.databricks.requests.some((r) => r.status === 403)).toBe(true);
  }, 60_000);
});
