/**
 * The demo's negative controls: the local stack runs the synthesized template, so what the template gets wrong the
 * stack gets wrong too, and says so. A grant removed from a role is a request IAM denies (the demo then fails); a
 * variable removed from a function's environment stops the stack at start, naming both; a handler that does not
 * exist fails every invocation at init, as Lambda reports it; and a function that outlives its timeout is ended and
 * its batch redelivered, the run still made once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoResult, demoStackOptions, runDemoScenario } from '../../infra/local/demo-scenario.js';
import { type LocalStack, startLocalStack, type TemplateJson } from '../../infra/local/local-stack.js';
import { jobIdFor } from '../../shared/jobs/job-id.js';
import {
  jobRequest,
  peekQueue,
  runsFor,
  startTestStack,
  type TestStack,
  waitFor,
  waitForTerminal,
} from './support/test-stack.js';

/** Each function log line with the physical name of the function that printed it. */
type LogLines = Array<{ fn: string; line: string }>;

const logicalIdOf = (template: TemplateJson, prefix: string): string => {
  const ids = Object.keys(template.Resources).filter((id) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
  if (ids.length !== 1) throw new Error(`the template has ${ids.length} ${prefix}<hash>`);
  return ids[0] as string;
};

/** The PollQueue taken out of the SubmitFunction role's sqs:SendMessage statement (the SubmitQueue stays). */
function withoutSubmitToPollQueueGrant(template: TemplateJson): void {
  const pollQueue = logicalIdOf(template, 'PollQueue');
  const role = template.Resources.SubmitFunction.Properties.Role['Fn::GetAtt'][0];
  let removed = 0;
  for (const resource of Object.values<TemplateJson>(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    if (!resource.Properties.Roles.some((r: TemplateJson) => r.Ref === role)) continue;
    for (const statement of resource.Properties.PolicyDocument.Statement) {
      const actions = [statement.Action].flat();
      const resources = [statement.Resource].flat();
      const isPollQueue = (r: TemplateJson) => r?.['Fn::GetAtt']?.[0] === pollQueue;
      if (!actions.includes('sqs:SendMessage') || !resources.some(isPollQueue)) continue;
      statement.Resource = resources.filter((r) => !isPollQueue(r));
      removed += 1;
    }
  }
  if (removed !== 1)
    throw new Error(`expected one SubmitFunction statement sending to the PollQueue, found ${removed}`);
}

describe('a grant removed: SubmitFunction may not send to the poll queue', () => {
  let stack: LocalStack;
  let result: DemoResult;
  const logs: LogLines = [];

  beforeAll(async () => {
    stack = await startLocalStack({
      ...demoStackOptions,
      editTemplate: withoutSubmitToPollQueueGrant,
      // The failed batch is received again every 3 s (not the template's 9 minutes): it reaches the DLQ in the run.
      visibilityTimeoutSeconds: 3,
      logLevel: 'INFO',
      onFunctionLog: (line, fn) => logs.push({ fn, line }),
    });
    // The jobs never get past their submission: followed for 25 s, not the demo's 90.
    result = await runDemoScenario(stack, () => undefined, { deadlineMs: 25_000 });
  }, 90_000);
  afterAll(() => stack?.stop());

  it('the demo run fails: IAM denied requests', () => {
    expect(result.ok).toBe(false);
    expect(result.stack.deniedCalls).toBeGreaterThan(0);
    expect(result.stack.runtime).toBe('nodejs22.x');
  });

  it('IAM denied exactly that: SubmitFunction, sqs:SendMessage on the poll queue', () => {
    const pollQueueArn = `arn:aws:sqs:us-east-1:123456789012:${new URL(stack.queues.poll).pathname.split('/').pop()}`;
    const { deniedCalls } = stack.iamReport();
    expect(deniedCalls.length).toBeGreaterThan(0);
    for (const call of deniedCalls) {
      expect(call).toMatchObject({ principal: 'SubmitFunction', action: 'sqs:SendMessage', resource: pollQueueArn });
      expect(call.message).toContain('is not authorized to perform: sqs:sendmessage');
    }
    expect(result.stack.deniedCalls).toBe(deniedCalls.reduce((sum, call) => sum + call.count, 0));
    // The grant is gone from the role's report too; the one on the submit queue stays.
    const granted = stack.iamReport().principals.SubmitFunction?.granted ?? [];
    expect(granted).not.toContain(`sqs:SendMessage on ${pollQueueArn}`);
    expect(granted.some((g) => g.startsWith('sqs:SendMessage on ') && g.includes('-SubmitQueue'))).toBe(true);
  });

  it('the PAT job: its run made once and recorded, its poll chain never starts, and the job ends saying why', () => {
    const pat = result.jobs.find((job) => job.name === 'pat');
    expect(pat?.jobId).toBeTruthy();
    // The submit function records the run, then fails to send the first poll on every receive: on the last one the
    // job ends RETRYABLE_FAILED with IAM's refusal as its reason, instead of waiting on a message in the DLQ.
    expect(pat?.phase).toBe('RETRYABLE_FAILED');
    expect(pat?.message).toMatch(
      /^Following Databricks run \d+ kept failing and was given up: AccessDenied: User: arn:aws:sts::123456789012:assumed-role\/[^ ]+ is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:us-east-1:123456789012:FlyteDatabricksLambda-PollQueue/,
    );
    expect(pat?.runId).not.toBeNull();
    expect(pat?.databricksRuns).toBe(1);
    expect(runsFor(stack, pat?.jobId ?? '')).toHaveLength(1);
  });

  it('the reason, AccessDenied, is in the submit function log; each failed record ends in the submit DLQ', async () => {
    const pat = result.jobs.find((job) => job.name === 'pat');
    const failed = logs.filter(({ fn, line }) => fn.endsWith('-SubmitFunction') && line.includes('Record failed'));
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.some(({ line }) => line.includes('AccessDenied'))).toBe(true);
    const dlq = await waitFor(
      () => peekQueue(stack, stack.queues.submitDlq),
      (bodies) => bodies.some((body) => body.includes(pat?.jobId ?? '-') || body.includes(pat?.namespace ?? '-')),
      20_000,
    );
    expect(dlq.length).toBeGreaterThan(0);
  });
});

describe('a variable removed: JOBS_TABLE_NAME from PollFunction', () => {
  it('startLocalStack rejects, naming the function and the variable', async () => {
    await expect(
      startLocalStack({
        editTemplate: (template) => {
          delete template.Resources.PollFunction.Properties.Environment.Variables.JOBS_TABLE_NAME;
        },
      }),
    ).rejects.toThrow(/PollFunction[\s\S]*JOBS_TABLE_NAME/);
  });

  it('the template file in cdk.out is left as synthesized', async () => {
    const stack = await startLocalStack({ sweepIntervalMs: 60_000, logLevel: 'WARN', prewarm: false });
    try {
      const template = JSON.parse(readFileSync(stack.describe.template, 'utf8')) as TemplateJson;
      expect(template.Resources.PollFunction.Properties.Environment.Variables.JOBS_TABLE_NAME).toBeDefined();
    } finally {
      await stack.stop();
    }
  });
});

describe('a handler that does not exist: SweepFunction runs missing.handler', () => {
  let stack: LocalStack;
  const logs: LogLines = [];

  beforeAll(async () => {
    stack = await startLocalStack({
      sweepIntervalMs: 300,
      logLevel: 'WARN',
      editTemplate: (template) => {
        template.Resources.SweepFunction.Properties.Handler = 'missing.handler';
      },
      onFunctionLog: (line, fn) => logs.push({ fn, line }),
    });
  }, 60_000);
  afterAll(() => stack?.stop());

  it("fails every invocation at init with Lambda's Runtime.ImportModuleError", async () => {
    const sweep = 'FlyteDatabricksLambda-SweepFunction';
    const starts = await waitFor(
      async () => stack.functionStarts()[sweep] ?? { cold: 0, warm: 0 },
      (s) => s.cold >= 3,
      15_000,
    );
    // No environment ever initializes: every scheduled run is a cold start, never a warm one.
    expect(starts.cold).toBeGreaterThanOrEqual(3);
    expect(starts.warm).toBe(0);
    const initErrors = logs.filter(({ fn, line }) => fn === sweep && line.includes('Runtime.ImportModuleError'));
    expect(initErrors.length).toBeGreaterThanOrEqual(3);
    expect(initErrors[0]?.line).toContain("Cannot find module 'missing'");
    // The other functions are untouched.
    expect(logs.filter(({ fn, line }) => fn !== sweep && line.includes('ImportModuleError'))).toEqual([]);
  });
});

/** The pids of this process's Lambda workers of `functionName` (Linux /proc), children of children included. */
function workerPids(functionName: string): number[] {
  const parentOf = (pid: string): number => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return 0;
    }
  };
  const descends = (pid: string): boolean => {
    for (let p = Number(pid), hops = 0; p > 1 && hops < 8; p = parentOf(String(p)), hops += 1) {
      if (p === process.pid) return true;
    }
    return false;
  };
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid) && Number(pid) !== process.pid)
    .filter((pid) => {
      try {
        const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        return env.includes(`AWS_LAMBDA_FUNCTION_NAME=${functionName}`) && descends(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('a function that outlives its timeout', () => {
  let t: TestStack;

  beforeAll(async () => {
    // One submit environment (the prewarmed one), so the stalled invocation is the one that times out.
    t = await startTestStack({ functionTimeoutSeconds: 8, eventSourceConcurrency: 1, logLevel: 'WARN', prewarm: true });
  }, 60_000);
  afterAll(() => t?.stack.stop());

  it('is ended at its timeout and its batch redelivered: the job SUCCEEDS with exactly one run', async () => {
    const submit = 'FlyteDatabricksLambda-SubmitFunction';
    const before = t.stack.lambdaTimeouts()[submit] ?? 0;
    // runs/submit answers 12 s late (the run is made at once): longer than the 8 s timeout. The function itself would
    // give up at its deadline (timeout less 5 s) and defer the record, so the environment is also stalled (SIGSTOP,
    // as a blocked event loop would be) once the run exists: only Lambda's timeout can end the invocation now.
    t.stack.databricks.injectFaults('submit', [{ delayMs: 12_000 }]);
    await t.api.submit(jobRequest('outlives-timeout'));
    const jobId = jobIdFor('flytesnacks-development', 'outlives-timeout');
    await waitFor(
      async () => runsFor(t.stack, jobId).length,
      (runs) => runs > 0,
      15_000,
    );
    const stalled = workerPids(submit);
    expect(stalled).toHaveLength(1);
    for (const pid of stalled) process.kill(pid, 'SIGSTOP');
    const done = await waitForTerminal(t.api, jobId, 40_000);
    expect(done.phase, done.message).toBe('SUCCEEDED');
    expect(runsFor(t.stack, jobId)).toHaveLength(1);
    expect((t.stack.lambdaTimeouts()[submit] ?? 0) - before).toBe(1);
    // The stalled environment was ended (killed), not left behind.
    expect(workerPids(submit).some((pid) => stalled.includes(pid))).toBe(false);
  }, 60_000);
});
