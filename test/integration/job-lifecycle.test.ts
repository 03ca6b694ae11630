/**
 * The walking skeleton end to end, over real sockets: front door -> api handler -> DynamoDB + submit queue ->
 * submit handler -> Databricks runs/submit -> poll chain -> SUCCEEDED.
 */
import { describe, expect, it } from 'vitest';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import {
  jobRequest,
  jobView,
  NAMESPACE,
  runsFor,
  useTestStack,
  waitFor,
  waitForTerminal,
} from './support/test-stack.js';

const t = useTestStack();

describe('a PAT job from POST to SUCCEEDED', () => {
  it('is accepted with 202, submitted once with the job id as idempotency token, and polled to SUCCEEDED', async () => {
    // Prepare
    const request = jobRequest('lifecycle-success');
    // Act
    const { status, body } = await t.api.submit(request);
    // Assess
    expect(status).toBe(202);
    const jobId = jobIdFor(NAMESPACE, 'lifecycle-success');
    expect(body).toMatchObject({ jobId, namespace: NAMESPACE, phase: 'QUEUED', auth: null });
    const done = await waitForTerminal(t.api, jobId);
    expect(done.phase).toBe('SUCCEEDED');
    expect(done.databricks).toMatchObject({ lifeCycleState: 'TERMINATED', resultState: 'SUCCESS' });
    expect(done.runPageUrl).toMatch(new RegExp(`^${t.stack.databricks.url}/\\?o=\\d+#job/\\d+/run/${done.runId}$`));
    expect(done.logLinks).toEqual([{ name: 'Databricks Console', uri: done.runPageUrl }]);
    expect(done.finishedAt).not.toBeNull();
    // Chosen at submit by auto-detection: the namespace has a databricks-token secret.
    expect(done.auth).toEqual({
      authType: 'pat',
      mode: 'pat',
      reason: expect.stringMatching(/auto-detect.*databricks-token/),
    });
    const runs = runsFor(t.stack, jobId);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.runId).toBe(done.runId);
    // The body was built from the DatabricksV2 task as upstream builds it.
    expect(runs[0]?.body).toMatchObject({
      idempotency_token: jobId,
      new_cluster: { docker_image: { url: request.container.image }, spark_env_vars: { FLYTE_FAIL_ON_ERROR: 'true' } },
      spark_python_task: { source: 'GIT', parameters: request.container.args },
    });
  });

  it('goes through the Databricks life cycle on its way (INITIALIZING or RUNNING seen before the end)', async () => {
    const jobId = jobIdFor(NAMESPACE, 'lifecycle-phases');
    await t.api.submit(jobRequest('lifecycle-phases'));
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const view = await jobView(t.api, jobId);
        seen.add(view.phase);
        return view;
      },
      (view) => view.phase === 'SUCCEEDED',
    );
    expect(seen.has('SUCCEEDED')).toBe(true);
    expect([...seen].some((phase) => phase === 'INITIALIZING' || phase === 'RUNNING')).toBe(true);
  });

  it('answers 404 in the error shape for an unknown job and a malformed id', async () => {
    for (const id of [jobIdFor(NAMESPACE, 'never-submitted'), 'not-a-job-id']) {
      const { status, body } = await t.api.get(id);
      expect(status).toBe(404);
      expect(body).toMatchObject({ error: { code: 'NotFound', field: 'id' } });
    }
  });

  it('keeps a job going when its namespace PAT is rotated mid-run: the stale token is dropped and re-read', async () => {
    const jobId = jobIdFor(NAMESPACE, 'lifecycle-rotation');
    await t.api.submit(jobRequest('lifecycle-rotation'));
    await waitFor(
      () => jobView(t.api, jobId),
      (view) => view.runId !== null,
    );
    // Rotate: the workspace revokes the old token, the secret gets the new one.
    const rotated = `dapi${'ab'.repeat(16)}`;
    t.stack.databricks.removeToken(t.token);
    t.stack.databricks.addToken(rotated);
    t.stack.secrets.putSecret(`flyte/${NAMESPACE}/databricks-token`, JSON.stringify({ token: rotated }));
    expect((await waitForTerminal(t.api, jobId)).phase).toBe('SUCCEEDED');
    expect(t.stack.databricks.requests.some((r) => r.status === 403)).toBe(true);
  });
});
