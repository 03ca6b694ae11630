/**
 * The attacker suite, continued, on a stack that opted out of the workspace allowlist
 * (INSECURE_ANY_DATABRICKS_HOST=true, no NAMESPACE_WORKSPACES): even there, the connector's own credentials (its
 * PAT, its identity in OIDC Model 1) go only to a workspace the operator named exactly (FLYTE_DATABRICKS_INSTANCE
 * here), and a plain-string secret under a namespace's prefix is never taken for a token. The attacker's workspace, a
 * second emulator recording every header and body, must receive nothing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DatabricksWorkspace,
  startDatabricksWorkspace,
} from '../../infra/local/emulators/databricks-workspace.js';
import { seedTenants, type Tenants } from '../../infra/local/tenants.js';
import { isApiError } from '../../shared/client/jobs-api-client.js';
import { jobRequest, runsFor, startTestStack, type TestStack, waitForTerminal } from './support/test-stack.js';

const CONNECTOR_PAT = `dapi${randomBytes(16).toString('hex')}`;

let attackerWs: DatabricksWorkspace;
let t: TestStack;
let tenants: Tenants;

beforeAll(async () => {
  attackerWs = await startDatabricksWorkspace({});
  t = await startTestStack({
    env: {
      INSECURE_ANY_DATABRICKS_HOST: 'true',
      ALLOWED_DATABRICKS_HOSTS: '',
      NAMESPACE_WORKSPACES: '',
      FLYTE_DATABRICKS_ACCESS_TOKEN: CONNECTOR_PAT,
    },
  });
  t.stack.databricks.addToken(CONNECTOR_PAT, 'connector@example.com');
  tenants = await seedTenants(t.stack);
});
afterAll(async () => {
  await t?.stack.stop();
  await attackerWs?.close();
});

function withTask(request: ReturnType<typeof jobRequest>, task: Record<string, unknown>) {
  return { ...request, task: { ...request.task, ...task } };
}

async function runToEnd(request: ReturnType<typeof withTask>) {
  const { status, body } = await t.api.submit(request);
  expect(status).toBe(202);
  if (isApiError(body)) throw new Error(body.error.message);
  return waitForTerminal(t.api, body.jobId);
}

describe("the connector's own credentials, with the allowlist opted out", () => {
  it('the connector-wide PAT runs a job on the workspace the operator named (FLYTE_DATABRICKS_INSTANCE)', async () => {
    const done = await runToEnd(withTask(jobRequest('connector-home', { namespace: 'no-credentials' }), {}));
    expect(done.phase).toBe('SUCCEEDED');
  });

  it('the connector-wide PAT is never sent to a workspace a task names: FAILED, nothing reaches it', async () => {
    const mark = attackerWs.requests.length;
    const done = await runToEnd(
      withTask(jobRequest('connector-pat-away', { namespace: 'no-credentials' }), {
        databricksInstance: attackerWs.url,
      }),
    );
    expect(done.phase).toBe('FAILED');
    expect(done.message).toMatch(/connector's own credentials .* not named exactly/);
    expect(done.message).not.toContain(CONNECTOR_PAT);
    expect(attackerWs.requests.slice(mark)).toEqual([]);
  });

  it("OIDC Model 1 (the connector's identity) is never exchanged at a workspace a task names", async () => {
    const mark = attackerWs.requests.length;
    const done = await runToEnd(
      withTask(jobRequest('model1-away', { namespace: tenants.oidc_model1_sts.namespace }), {
        ...tenants.oidc_model1_sts.task,
        databricksInstance: attackerWs.url,
      }),
    );
    expect(done.phase).toBe('FAILED');
    expect(done.message).toMatch(/OIDC Model 1 .* not named exactly/);
    expect(attackerWs.requests.slice(mark)).toEqual([]);
  });
});

describe('namespace secrets', () => {
  it('a plain-string secret under the namespace prefix is not taken for a token: FAILED, its value never sent', async () => {
    const password = `hunter2-${randomBytes(8).toString('hex')}`;
    t.stack.secrets.putSecret('flyte/team-plain/db-password', password);
    const mark = attackerWs.requests.length;
    const done = await runToEnd(
      withTask(jobRequest('plain-secret', { namespace: 'team-plain' }), {
        databricksAuthType: 'pat',
        databricksTokenSecret: 'db-password',
        databricksInstance: attackerWs.url,
      }),
    );
    expect(done.phase).toBe('FAILED');
    expect(done.message).toMatch(/is not a JSON object/);
    expect(done.message).not.toContain(password);
    expect(attackerWs.requests.slice(mark)).toEqual([]);
    expect(runsFor(t.stack, done.jobId)).toHaveLength(0);
  });

  it("a namespace's secret bound to the stack's workspace still runs there", async () => {
    const done = await runToEnd(withTask(jobRequest('pat-home', { namespace: tenants.pat.namespace }), {}));
    expect(done.phase).toBe('SUCCEEDED');
  });
});
