/**
 * The attacker suite: every finding of the "secure by default" review tried as an attacker would, against the local
 * stack over real sockets, asserting what it gets (the status and field, nothing stored, the job's reason) and that
 * the attacker's own workspace, a second Databricks emulator that records every Authorization header and body it
 * receives, never sees a credential of another tenant.
 *
 * The stack is deployed as a careful operator would, but with the attacker's workspace inside the allowlist (as a
 * wildcard such as *.cloud.databricks.com would let in any workspace anyone creates): so the namespace -> workspace
 * binding is what must stop the theft, not the allowlist alone. Victim namespaces are bound to the stack's workspace
 * by their own credentials (the secrets' `host`, the ServiceAccount's annotation); NAMESPACE_WORKSPACES binds only the
 * attacker's namespace (to its workspace). The attacker is an IAM role CALLER_NAMESPACES binds to its own namespace;
 * the stack's usual caller may use any namespace (an over-broad rule, or a compromised caller).
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DatabricksWorkspace,
  startDatabricksWorkspace,
} from '../../infra/local/emulators/databricks-workspace.js';
import type { LocalStack } from '../../infra/local/local-stack.js';
import { seedTenants, type Tenants } from '../../infra/local/tenants.js';
import { isApiError, JobsApiClient } from '../../shared/client/jobs-api-client.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import {
  jobRequest,
  jobView,
  peekQueue,
  runsFor,
  scanJobs,
  startTestStack,
  type TestStack,
  waitFor,
  waitForTerminal,
} from './support/test-stack.js';

const ATTACKER_NS = 'attacker-ns';
const LONG_RUN = 'victim-long-run';
const attackerKeys = {
  accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString('base64'),
};
const ATTACKER_ARN = 'arn:aws:iam::123456789012:role/attacker-task';

let attackerWs: DatabricksWorkspace;
let t: TestStack;
let stack: LocalStack;
let tenants: Tenants;
let attacker: JobsApiClient;
/** Every credential value the victims have: none may ever reach the attacker. */
const victimSecrets: string[] = [];

beforeAll(async () => {
  attackerWs = await startDatabricksWorkspace({});
  const attackerHost = new URL(attackerWs.url).host;
  t = await startTestStack({
    apiCallers: [{ ...attackerKeys, principalArn: ATTACKER_ARN }],
    callerNamespaces: ({ callerArn, callerPrincipalId }) => ({
      [callerArn]: ['*'],
      [callerPrincipalId]: ['*'],
      // API Gateway sees a role's callers as its sessions: the rule covers every session of the role.
      'arn:aws:sts::123456789012:assumed-role/attacker-task/*': [ATTACKER_NS],
    }),
    databricks: {
      timing: { pendingMs: 150, runningMs: 400, terminatingMs: 50 },
      outcome: (body) =>
        body.run_name === LONG_RUN
          ? { resultState: 'SUCCESS', timing: { runningMs: 6000 } }
          : { resultState: 'SUCCESS' },
    },
    extraAllowedHosts: [attackerHost],
    env: { NAMESPACE_WORKSPACES: JSON.stringify({ [ATTACKER_NS]: [attackerHost] }) },
    // A refused queue message spends its receives, one per 3 s visibility timeout, before it reaches the DLQ: 3
    // receives (the template's 5 would take 15 s). A message that is handled is never near that count: it would take
    // three receives in a row that each outlast the visibility timeout.
    maxReceiveCount: 3,
  });
  stack = t.stack;
  tenants = await seedTenants(stack);
  const sm = new SecretsManagerClient({
    region: stack.region,
    endpoint: stack.secrets.url,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  for (const [ns, name] of [
    [tenants.pat.namespace, 'databricks-token'],
    [tenants.oauth_m2m.namespace, 'databricks-oauth'],
  ] as const) {
    const { SecretString = '{}' } = await sm.send(new GetSecretValueCommand({ SecretId: `flyte/${ns}/${name}` }));
    const values = JSON.parse(SecretString) as Record<string, string>;
    for (const key of ['token', 'client_secret']) if (values[key]) victimSecrets.push(values[key]);
  }
  sm.destroy();
  expect(victimSecrets).toHaveLength(2);
  attacker = new JobsApiClient(stack.frontDoorUrl, { region: stack.region, credentials: attackerKeys });
});
afterAll(async () => {
  await t?.stack.stop();
  await attackerWs?.close();
});

/** The attacker's workspace saw nothing at all since `mark` (no request, so no header and no body). */
function expectNothingReachedAttacker(mark: number) {
  const seen = attackerWs.requests.slice(mark);
  expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual([]);
}

/**
 * No request the attacker's workspace ever received carries a victim's credential, in a header or a body: not their
 * PAT or client secret, and no JWT at all (the attacker's own namespace uses a PAT).
 */
function expectNoVictimCredentialAtAttacker() {
  for (const request of attackerWs.requests) {
    const seen = `${request.authorization ?? ''}\n${request.body ?? ''}`;
    for (const secret of victimSecrets) expect(seen.includes(secret)).toBe(false);
    expect(seen).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(seen).not.toMatch(/client_secret|^Basic /);
  }
}

/** A job request whose task also says `task` (the fields an attacker sets). */
function withTask(request: ReturnType<typeof jobRequest>, task: Record<string, unknown>) {
  return { ...request, task: { ...request.task, ...task } };
}

const toAttacker = () => ({ databricksInstance: attackerWs.url });

async function stored(jobId: string) {
  return (await scanJobs(stack)).some((item) => item.jobId === jobId);
}

describe('1. cross-tenant credential theft', () => {
  it('a caller bound to its own namespace cannot name a victim namespace: 403, nothing stored, nothing sent', async () => {
    const mark = attackerWs.requests.length;
    const request = withTask(jobRequest('steal-pat', { namespace: tenants.pat.namespace }), { ...toAttacker() });
    const { status, body } = await attacker.submit(request);
    expect(status).toBe(403);
    expect(isApiError(body) && body.error.field).toBe('namespace');
    expect(await stored(jobIdFor(tenants.pat.namespace, 'steal-pat'))).toBe(false);
    expectNothingReachedAttacker(mark);
  });

  it("a victim's jobs are invisible to the attacker: list 403, GET and DELETE 404", async () => {
    const { body } = await t.api.submit(jobRequest('victim-visible', { namespace: tenants.pat.namespace }));
    if (isApiError(body)) throw new Error(body.error.message);
    expect((await attacker.list(tenants.pat.namespace)).status).toBe(403);
    expect((await attacker.get(body.jobId)).status).toBe(404);
    expect((await attacker.cancel(body.jobId)).status).toBe(404);
    expect((await waitForTerminal(t.api, body.jobId)).phase).toBe('SUCCEEDED');
  });

  it.each([
    ['pat', 'a PAT (Bearer on runs/submit)'],
    ['oauth_m2m', 'an OAuth client secret (HTTP Basic at /oidc/v1/token)'],
    ['oidc_model2', 'a ServiceAccount JWT (token exchange)'],
  ] as const)(
    "even a caller allowed the victim's namespace cannot send its %s to another workspace: FAILED, nothing sent (%s)",
    async (mode: 'pat' | 'oauth_m2m' | 'oidc_model2', _credential: string) => {
      const mark = attackerWs.requests.length;
      const executionId = `redirect-${mode}`;
      const request = withTask(jobRequest(executionId, { namespace: tenants[mode].namespace }), {
        ...tenants[mode].task,
        ...toAttacker(),
      });
      const { status, body } = await t.api.submit(request);
      expect(status).toBe(202);
      if (isApiError(body)) throw new Error(body.error.message);
      const done = await waitForTerminal(t.api, body.jobId);
      expect(done.phase).toBe('FAILED');
      expect(done.message).toMatch(/is bound to .* not to 127\.0\.0\.1:\d+|may not go to/);
      expect(runsFor(stack, body.jobId)).toHaveLength(0);
      expectNothingReachedAttacker(mark);
      expectNoVictimCredentialAtAttacker();
    },
  );

  it('an allowlist entry with a port allows that port only: another port on the same host is a 400', async () => {
    const other = `http://127.0.0.1:${Number(new URL(stack.databricks.url).port) + 1}`;
    const request = withTask(jobRequest('other-port'), { databricksInstance: other });
    const { status, body } = await t.api.submit(request);
    expect(status).toBe(400);
    expect(isApiError(body) && body.error.field).toBe('task.databricksInstance');
  });

  it("a workspace's error body is never echoed into the job (no SSRF read through job.message)", async () => {
    const token = `dapi${randomBytes(16).toString('hex')}`;
    attackerWs.addToken(token, 'attacker@example.com');
    stack.secrets.putSecret(
      `flyte/${ATTACKER_NS}/databricks-token`,
      JSON.stringify({ token, host: new URL(attackerWs.url).host }),
    );
    const marker = 'INTERNAL-ONLY-9f2c';
    attackerWs.injectFaults('submit', [
      { status: 400, body: `<html><body>metadata service says ${marker}</body></html>` },
    ]);
    const request = withTask(jobRequest('ssrf-echo', { namespace: ATTACKER_NS }), { ...toAttacker() });
    const { body } = await attacker.submit(request);
    if (isApiError(body)) throw new Error(body.error.message);
    const done = await waitForTerminal(attacker, body.jobId);
    expect(done.phase).toBe('FAILED');
    expect(done.message).toMatch(/non-JSON error body/);
    expect(done.message).not.toContain(marker);
    expectNoVictimCredentialAtAttacker();
  });
});

describe('2. task-supplied token files', () => {
  const uniform = /task databricksOidcTokenFile is not a token file this connector may read/;

  it('a path outside OIDC_TOKEN_FILE_DIRS (/dev/zero) is a 400 naming the field; nothing stored', async () => {
    const request = withTask(jobRequest('dev-zero', { namespace: tenants.oidc_model1_file.namespace }), {
      databricksAuthType: 'oidc_federation',
      databricksOidcTokenFile: '/dev/zero',
    });
    const { status, body } = await t.api.submit(request);
    expect(status).toBe(400);
    expect(isApiError(body) && body.error.field).toBe('task.databricksOidcTokenFile');
    expect(await stored(jobIdFor(tenants.oidc_model1_file.namespace, 'dev-zero'))).toBe(false);
  });

  it('inside the directory: a FIFO, a symlink out, a symlink to /dev/zero and a missing file all fail alike, memory bounded', async () => {
    const dir = mkdtempSync(join(stack.scratchDir, 'hostile-'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const outside = join(dir, 'outside');
    symlinkSync('/etc/hostname', outside);
    const zero = join(dir, 'zero');
    symlinkSync('/dev/zero', zero);
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'big'), 'x'.repeat(17 * 1024));
    const cases = { fifo, outside, zero, missing: join(dir, 'missing'), big: join(dir, 'sub', 'big') };
    const rssBefore = process.memoryUsage().rss;
    const messages: string[] = [];
    for (const [name, path] of Object.entries(cases)) {
      const request = withTask(jobRequest(`token-file-${name}`, { namespace: tenants.oidc_model1_file.namespace }), {
        databricksAuthType: 'oidc_federation',
        databricksOidcTokenFile: path,
      });
      const { status, body } = await t.api.submit(request);
      expect(status).toBe(202);
      if (isApiError(body)) throw new Error(body.error.message);
      const done = await waitForTerminal(t.api, body.jobId);
      expect(done.phase).toBe('FAILED');
      expect(done.message).toMatch(uniform);
      expect(done.message).not.toContain(path);
      messages.push(done.message);
    }
    // One text for every refusal: a tenant learns nothing about which files exist.
    expect(new Set(messages).size).toBe(1);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('3. task-chosen identities', () => {
  it("OIDC Model 1: a task naming another service principal is refused; that principal's token is never asked", async () => {
    const victimSp = tenants.oauth_m2m.principal;
    const request = withTask(jobRequest('become-sp', { namespace: tenants.oidc_model1_sts.namespace }), {
      ...tenants.oidc_model1_sts.task,
      databricksClientId: victimSp,
    });
    const { body } = await t.api.submit(request);
    if (isApiError(body)) throw new Error(body.error.message);
    const done = await waitForTerminal(t.api, body.jobId);
    expect(done.phase).toBe('FAILED');
    expect(done.message).toMatch(/not the service principal the operator configured/);
    expect(
      stack.databricks.tokenRequests.filter((r) => r.clientId === victimSp && r.grantType.includes('exchange')),
    ).toEqual([]);
    expect(runsFor(stack, body.jobId)).toHaveLength(0);
  });

  it('OIDC Model 1 (STS) and Model 2: a task naming another audience or client id is refused', async () => {
    const sts = withTask(jobRequest('other-audience', { namespace: tenants.oidc_model1_sts.namespace }), {
      ...tenants.oidc_model1_sts.task,
      databricksOidcAudience: 'some-other-audience',
    });
    const model2 = withTask(jobRequest('other-client', { namespace: tenants.oidc_model2.namespace }), {
      databricksClientId: tenants.oidc_model1_sts.principal,
    });
    for (const request of [sts, model2]) {
      const { body } = await t.api.submit(request);
      if (isApiError(body)) throw new Error(body.error.message);
      const done = await waitForTerminal(t.api, body.jobId);
      expect(done.phase).toBe('FAILED');
      expect(done.message).toMatch(/task\.databricks(OidcAudience|ClientId)/);
      expect(runsFor(stack, body.jobId)).toHaveLength(0);
    }
  });
});

// The first test drains every queue, so it runs alone; the others run at once (the DLQ one waits out its receives):
// none sends the attacker's workspace anything, and each reads only its own job, message and log lines.
describe('5. queue producers', () => {
  /** An SQS SendMessage the queue's policy refuses: AccessDenied naming the action, as AWS answers. */
  async function expectSendDenied(send: Promise<unknown>) {
    const error = await send.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('AccessDenied');
    expect(error?.message).toMatch(/sqs:sendmessage/i);
  }

  it('a producer the submit queue does not name cannot send to it: AccessDenied, nothing queued, nothing stored', async () => {
    const mark = attackerWs.requests.length;
    const request = withTask(jobRequest('queue-steal', { namespace: tenants.pat.namespace }), { ...toAttacker() });
    await expectSendDenied(
      stack
        .sqsAs(attackerKeys)
        .send(new SendMessageCommand({ QueueUrl: stack.queues.submit, MessageBody: JSON.stringify(request) })),
    );
    await stack.drain();
    expect((await peekQueue(stack, stack.queues.submitDlq)).some((b) => b.includes('queue-steal'))).toBe(false);
    expect(await stored(jobIdFor(tenants.pat.namespace, 'queue-steal'))).toBe(false);
    expectNothingReachedAttacker(mark);
  });

  it.concurrent('a producer the queue allows but CALLER_NAMESPACES does not allow the namespace: nothing stored, the message ends in the DLQ', async ({
    expect,
  }) => {
    // The api function's role may send to the submit queue (its policy names it), but no CALLER_NAMESPACES rule
    // binds it to a namespace: the submit function's own check of the SenderId is what refuses the request.
    const mark = attackerWs.requests.length;
    const request = withTask(jobRequest('queue-steal-producer', { namespace: tenants.pat.namespace }), {
      ...toAttacker(),
    });
    await stack
      .sqsAs(stack.credentialsOf('api'))
      .send(new SendMessageCommand({ QueueUrl: stack.queues.submit, MessageBody: JSON.stringify(request) }));
    const dlq = await waitFor(
      () => peekQueue(stack, stack.queues.submitDlq),
      (bodies) => bodies.some((b) => b.includes('queue-steal-producer')),
      20_000,
    );
    expect(dlq.some((b) => b.includes('queue-steal-producer'))).toBe(true);
    expect(stack.functionLogs.join('\n')).toMatch(
      new RegExp(`Sender [^ ]+ may not use namespace '${tenants.pat.namespace}' \\(CALLER_NAMESPACES\\)`),
    );
    expect(await stored(jobIdFor(tenants.pat.namespace, 'queue-steal-producer'))).toBe(false);
    expectNothingReachedAttacker(mark);
  });

  it.concurrent('the same message from a producer allowed the namespace is accepted', async ({ expect }) => {
    const request = jobRequest('queue-allowed', { namespace: tenants.pat.namespace });
    await stack
      .sqsAs(stack.callerCredentials)
      .send(new SendMessageCommand({ QueueUrl: stack.queues.submit, MessageBody: JSON.stringify(request) }));
    const jobId = jobIdFor(tenants.pat.namespace, 'queue-allowed');
    const done = await waitFor(
      () => jobView(t.api, jobId).catch(() => undefined),
      (view) => view?.phase === 'SUCCEEDED',
    );
    expect(done?.phase).toBe('SUCCEEDED');
  });

  it.concurrent('a forged cancel message for a predictable job id cancels nothing', async ({ expect }) => {
    const base = jobRequest('victim-long', { namespace: tenants.pat.namespace });
    const request = withTask(base, { databricksConf: { ...base.task.databricksConf, run_name: LONG_RUN } });
    const { body } = await t.api.submit(request);
    if (isApiError(body)) throw new Error(body.error.message);
    await waitFor(
      () => jobView(t.api, body.jobId),
      (view) => view.runId !== null,
    );
    const forged = new SendMessageCommand({
      QueueUrl: stack.queues.cancel,
      MessageBody: JSON.stringify({ jobId: body.jobId }),
    });
    // The attacker is no producer the cancel queue's policy names: refused before anything is queued.
    await expectSendDenied(stack.sqsAs(attackerKeys).send(forged));
    // A producer it names (the api function's role) gets the message through, but the job records no cancel request
    // (only DELETE, after its caller check, sets one): the cancel function ignores it.
    await stack.sqsAs(stack.credentialsOf('api')).send(forged);
    await waitFor(
      async () => stack.functionLogs.filter((line) => line.includes(body.jobId)),
      (lines) => lines.some((line) => line.includes('Cancel message for a job nobody asked to cancel; ignoring it')),
    );
    const done = await waitForTerminal(t.api, body.jobId);
    expect(done.phase).toBe('SUCCEEDED');
    expect(done.cancelRequested).toBe(false);
    expect(runsFor(stack, body.jobId).map((run) => run.cancelRequested)).toEqual([false]);
    expect(await peekQueue(stack, stack.queues.cancelDlq)).toEqual([]);
  });
});
