/**
 * Execution environments run for real: Node 22 processes running aws-lambda-ric against our Runtime API, loading
 * tiny ESM handlers written to a temp folder (and one asset `npm run synth` built). The first run installs Node 22
 * and aws-lambda-ric (npm, a native build: minutes); later runs reuse the install.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type FunctionEnvironments,
  type FunctionSpec,
  startFunctionEnvironments,
} from '../../../infra/local/lambda-runtime/function-environments.js';
import { ensureNodeRuntime, RUNTIME_NODE_VERSIONS } from '../../../infra/local/lambda-runtime/node-runtime.js';

const INSTALL_TIMEOUT_MS = 600_000;

let root: string;
const running: FunctionEnvironments[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fdl-envs-test-'));
  await ensureNodeRuntime('nodejs22.x');
}, INSTALL_TIMEOUT_MS);

afterEach(async () => {
  await Promise.all(running.splice(0).map((envs) => envs.stop()));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A function folder holding the given files. */
function codeDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 'fn-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function start(
  files: Record<string, string>,
  overrides: Partial<FunctionSpec> = {},
  logs: string[] = [],
): Promise<FunctionEnvironments> {
  const envs = await startFunctionEnvironments(
    {
      functionName: 'fdl-test-fn',
      handler: 'index.handler',
      codeDir: codeDir(files),
      runtime: 'nodejs22.x',
      memoryMb: 256,
      timeoutSeconds: 10,
      env: { GREETING: 'hello' },
      maxEnvironments: 2,
      region: 'eu-west-1',
      accountId: '123456789012',
      ...overrides,
    },
    { onLog: (line) => logs.push(line) },
  );
  running.push(envs);
  return envs;
}

const sleepHandler = `
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const handler = async (event) => {
  await sleep(event.sleepMs ?? 0);
  return { pid: process.pid };
};
`;

describe('function environments', () => {
  it('runs the handler under the runtime Node with a Lambda context', async () => {
    const envs = await start({
      'index.mjs': `export const handler = async (event, context) => ({
        event,
        node: process.version,
        functionName: context.functionName,
        arn: context.invokedFunctionArn,
        requestId: context.awsRequestId,
        memory: context.memoryLimitInMB,
        remainingMs: context.getRemainingTimeInMillis(),
        cwd: process.cwd(),
      });`,
    });
    const outcome = await envs.invoke({ hello: 'world' }, { requestId: 'req-1' });
    expect(outcome).toMatchObject({
      status: 'ok',
      requestId: 'req-1',
      coldStart: true,
      payload: {
        event: { hello: 'world' },
        node: `v${RUNTIME_NODE_VERSIONS['nodejs22.x']}`,
        functionName: 'fdl-test-fn',
        arn: 'arn:aws:lambda:eu-west-1:123456789012:function:fdl-test-fn',
        requestId: 'req-1',
        memory: '256',
      },
    });
    if (outcome.status !== 'ok') throw new Error('unreachable');
    const payload = outcome.payload as { remainingMs: number; cwd: string };
    expect(payload.remainingMs).toBeGreaterThan(8_000);
    expect(payload.remainingMs).toBeLessThanOrEqual(10_000);
    expect(outcome.durationMs).toBeGreaterThan(0);
    expect(envs.stats()).toMatchObject({ coldStarts: 1, warmStarts: 0, environments: 1 });
  });

  it('reports a thrown error with its type, message and stack, and keeps the environment', async () => {
    const envs = await start({
      'index.mjs': `class JobRejected extends Error { name = 'JobRejected'; }
        export const handler = async (event) => {
          if (event.fail) throw new JobRejected('no such workspace');
          return 'fine';
        };`,
    });
    const failed = await envs.invoke({ fail: true });
    expect(failed).toMatchObject({
      status: 'error',
      errorType: 'JobRejected',
      errorMessage: 'no such workspace',
      coldStart: true,
    });
    if (failed.status !== 'error') throw new Error('unreachable');
    expect(failed.stackTrace.join('\n')).toContain('index.mjs');
    expect(await envs.invoke({})).toMatchObject({ status: 'ok', payload: 'fine', coldStart: false });
  });

  it('reports Runtime.ImportModuleError when the handler file is missing, cold again every time', async () => {
    const envs = await start({ 'other.mjs': 'export const handler = async () => 1;' });
    const first = await envs.invoke({});
    expect(first).toMatchObject({ status: 'initError', errorType: 'Runtime.ImportModuleError' });
    if (first.status !== 'initError') throw new Error('unreachable');
    expect(first.errorMessage).toContain("Cannot find module 'index'");
    expect(await envs.invoke({})).toMatchObject({ status: 'initError', errorType: 'Runtime.ImportModuleError' });
    expect(envs.stats()).toMatchObject({ coldStarts: 2, initErrors: 2, environments: 0 });
  });

  it('reports Runtime.HandlerNotFound when the module does not export the handler', async () => {
    const envs = await start({ 'index.mjs': 'export const main = async () => 1;' });
    expect(await envs.invoke({})).toMatchObject({
      status: 'initError',
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'index.handler is undefined or not exported',
    });
    expect(envs.stats().initErrors).toBe(1);
  });

  it('kills the environment at the function timeout; the next invocation is cold', async () => {
    const envs = await start({ 'index.mjs': sleepHandler }, { timeoutSeconds: 1 });
    const first = await envs.invoke({ sleepMs: 0 });
    expect(first).toMatchObject({ status: 'ok', coldStart: true });
    expect(await envs.invoke({ sleepMs: 60_000 })).toMatchObject({ status: 'timedOut', timeoutSeconds: 1 });
    expect(envs.stats()).toMatchObject({ timeouts: 1, environments: 0 });
    const after = await envs.invoke({ sleepMs: 0 });
    expect(after).toMatchObject({ status: 'ok', coldStart: true });
    // A new process: the old one was killed.
    expect((after as { payload: { pid: number } }).payload.pid).not.toBe(
      (first as { payload: { pid: number } }).payload.pid,
    );
  });

  it('reuses an idle environment, keeping module state', async () => {
    const envs = await start({
      'index.mjs': 'let calls = 0; export const handler = async () => ({ calls: ++calls, pid: process.pid });',
    });
    const first = await envs.invoke({});
    const second = await envs.invoke({});
    expect(first).toMatchObject({ status: 'ok', coldStart: true, payload: { calls: 1 } });
    expect(second).toMatchObject({ status: 'ok', coldStart: false, payload: { calls: 2 } });
    expect(envs.stats()).toMatchObject({ coldStarts: 1, warmStarts: 1, environments: 1 });
  });

  it('starts a second environment for a concurrent invocation, with its own module state', async () => {
    const envs = await start({ 'index.mjs': sleepHandler });
    const [a, b] = await Promise.all([envs.invoke({ sleepMs: 500 }), envs.invoke({ sleepMs: 500 })]);
    expect(a).toMatchObject({ status: 'ok', coldStart: true });
    expect(b).toMatchObject({ status: 'ok', coldStart: true });
    const pids = [a, b].map((outcome) => (outcome as { payload: { pid: number } }).payload.pid);
    expect(new Set(pids).size).toBe(2);
    expect(envs.stats()).toMatchObject({ coldStarts: 2, environments: 2 });
  });

  it('queues invocations beyond maxEnvironments for the busy environment', async () => {
    const envs = await start({ 'index.mjs': sleepHandler }, { maxEnvironments: 1 });
    const outcomes = await Promise.all([envs.invoke({ sleepMs: 300 }), envs.invoke({ sleepMs: 0 })]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['ok', 'ok']);
    expect(outcomes.map((outcome) => (outcome as { coldStart: boolean }).coldStart)).toEqual([true, false]);
    expect(envs.stats()).toMatchObject({ coldStarts: 1, warmStarts: 1, environments: 1 });
  });

  it("gives the process the function's environment and Lambda's, nothing of the parent's", async () => {
    // The test runner's own credentials (vitest.config.ts sets some) must not reach the function.
    const parentKey = process.env.AWS_ACCESS_KEY_ID;
    process.env.AWS_ACCESS_KEY_ID = 'AKIAPARENTPROCESSKEY';
    process.env.FDL_PARENT_ONLY = 'leak';
    const envs = await start(
      { 'index.mjs': 'export const handler = async () => ({ ...process.env });' },
      { env: { GREETING: 'hello', AWS_ACCESS_KEY_ID: 'function-role-key' }, logFormat: 'JSON' },
    );
    const outcome = await envs.invoke({}).finally(() => {
      process.env.AWS_ACCESS_KEY_ID = parentKey;
      delete process.env.FDL_PARENT_ONLY;
    });
    if (outcome.status !== 'ok') throw new Error(`invoke failed: ${JSON.stringify(outcome)}`);
    const env = outcome.payload as Record<string, string>;
    expect(env.AWS_ACCESS_KEY_ID).toBe('function-role-key');
    expect(Object.keys(env).sort()).toEqual(
      [
        'GREETING',
        'AWS_ACCESS_KEY_ID',
        '_HANDLER',
        '_X_AMZN_TRACE_ID',
        'AWS_DEFAULT_REGION',
        'AWS_EXECUTION_ENV',
        'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
        'AWS_LAMBDA_FUNCTION_NAME',
        'AWS_LAMBDA_FUNCTION_VERSION',
        'AWS_LAMBDA_INITIALIZATION_TYPE',
        'AWS_LAMBDA_LOG_FORMAT',
        'AWS_LAMBDA_LOG_GROUP_NAME',
        'AWS_LAMBDA_LOG_LEVEL',
        'AWS_LAMBDA_LOG_STREAM_NAME',
        'AWS_LAMBDA_RUNTIME_API',
        'AWS_REGION',
        'LAMBDA_RUNTIME_DIR',
        'LAMBDA_TASK_ROOT',
        'LANG',
        'NODE_PATH',
        'PATH',
        'TZ',
      ].sort(),
    );
    expect(env).toMatchObject({
      _HANDLER: 'index.handler',
      AWS_REGION: 'eu-west-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/fdl-test-fn',
      AWS_LAMBDA_LOG_FORMAT: 'JSON',
      TZ: ':UTC',
    });
    expect(env.AWS_LAMBDA_RUNTIME_API).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('refuses a reserved variable in the function environment', async () => {
    await expect(
      startFunctionEnvironments({
        functionName: 'fdl-test-fn',
        handler: 'index.handler',
        codeDir: codeDir({}),
        runtime: 'nodejs22.x',
        memoryMb: 256,
        timeoutSeconds: 3,
        env: { AWS_REGION: 'us-east-1' },
        maxEnvironments: 1,
        region: 'eu-west-1',
        accountId: '123456789012',
      }),
    ).rejects.toThrow(/reserves: AWS_REGION/);
  });

  it('refuses a response over 6 MB as Lambda does, and the environment stays warm', async () => {
    const envs = await start({
      'index.mjs': "export const handler = async (event) => 'x'.repeat(event.bytes);",
    });
    expect(await envs.invoke({ bytes: 7 * 1024 * 1024 })).toMatchObject({
      status: 'error',
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
    });
    expect(await envs.invoke({ bytes: 3 })).toMatchObject({ status: 'ok', payload: 'xxx', coldStart: false });
  });

  it('kills the environment mid-invocation on killAfterMs; the next invocation is cold', async () => {
    const envs = await start({ 'index.mjs': sleepHandler });
    expect(await envs.invoke({ sleepMs: 10_000 }, { killAfterMs: 200 })).toMatchObject({
      status: 'crashed',
      errorType: 'Runtime.ExitError',
      errorMessage: 'Runtime exited with error: signal: killed',
    });
    expect(envs.stats()).toMatchObject({ crashes: 1, environments: 0 });
    expect(await envs.invoke({ sleepMs: 0 })).toMatchObject({ status: 'ok', coldStart: true });
  });

  it("passes the workers' log lines on, one record a line, with the request id", async () => {
    const logs: string[] = [];
    const envs = await start(
      { 'index.mjs': "export const handler = async () => { console.log('working on', 'it'); return 1; };" },
      { logFormat: 'JSON', applicationLogLevel: 'INFO' },
      logs,
    );
    await envs.invoke({}, { requestId: 'req-logs' });
    const record = logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((r) => r.requestId);
    expect(record).toMatchObject({ level: 'INFO', requestId: 'req-logs', message: 'working on it' });
  });

  it('names an unknown runtime', async () => {
    await expect(start({ 'index.mjs': sleepHandler }, { runtime: 'nodejs16.x' })).rejects.toThrow(
      "Unknown Lambda runtime 'nodejs16.x'",
    );
  });

  it('stop() kills every environment, and is idempotent', async () => {
    const envs = await start({ 'index.mjs': sleepHandler });
    await envs.invoke({});
    const busy = envs.invoke({ sleepMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await Promise.all([envs.stop(), envs.stop()]);
    expect((await busy).status).toBe('crashed');
    expect(envs.stats().environments).toBe(0);
    await expect(envs.invoke({})).rejects.toThrow(/stopped/);
  });
});

describe('a synthesized asset (npm run synth)', () => {
  const cdkOut = new URL('../../../cdk.out/', import.meta.url).pathname;

  it('runs the api function: GET /v1/openapi.json answers the OpenAPI document', async () => {
    const template = readTemplate(cdkOut);
    const [, api] =
      Object.entries(template.Resources).find(
        ([id, resource]) => resource.Type === 'AWS::Lambda::Function' && id.startsWith('ApiFunction'),
      ) ?? [];
    if (!api) throw new Error(`no ApiFunction in ${cdkOut}FlyteDatabricksLambda.template.json`);
    const assetPath = api.Metadata['aws:asset:path'];
    if (!assetPath) throw new Error('the ApiFunction has no aws:asset:path metadata');
    const assetDir = join(cdkOut, assetPath);
    const logs: string[] = [];
    const envs = await startFunctionEnvironments(
      {
        functionName: 'flyte-databricks-api',
        handler: api.Properties.Handler,
        codeDir: assetDir,
        runtime: api.Properties.Runtime,
        memoryMb: api.Properties.MemorySize,
        timeoutSeconds: api.Properties.Timeout,
        // The template's variables, references (table, queues) given local values, and a role's credentials.
        env: {
          ...Object.fromEntries(
            Object.entries(api.Properties.Environment.Variables).map(([key, value]) => [
              key,
              typeof value === 'string' ? value : placeholderFor(key),
            ]),
          ),
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
        },
        maxEnvironments: 1,
        region: 'us-east-1',
        accountId: '123456789012',
        logFormat: api.Properties.LoggingConfig?.LogFormat,
        applicationLogLevel: api.Properties.LoggingConfig?.ApplicationLogLevel,
      },
      { onLog: (line) => logs.push(line) },
    );
    running.push(envs);
    const outcome = await envs.invoke(openApiEvent());
    if (outcome.status !== 'ok') throw new Error(`${JSON.stringify(outcome)}\n${logs.join('\n')}`);
    const response = outcome.payload as { statusCode: number; body: string };
    expect(response.statusCode).toBe(200);
    const document = JSON.parse(response.body) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(document.paths)).toContain('/v1/jobs');
  });
});

interface TemplateFunction {
  Type: string;
  Metadata: Record<string, string>;
  Properties: {
    Handler: string;
    Runtime: string;
    MemorySize: number;
    Timeout: number;
    Environment: { Variables: Record<string, unknown> };
    LoggingConfig?: { LogFormat?: 'Text' | 'JSON'; ApplicationLogLevel?: string };
  };
}

function readTemplate(cdkOut: string): { Resources: Record<string, TemplateFunction> } {
  const path = join(cdkOut, 'FlyteDatabricksLambda.template.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { Resources: Record<string, TemplateFunction> };
  } catch (error) {
    throw new Error(`${path} is missing or unreadable: run \`npm run synth\` first (${String(error)})`);
  }
}

function placeholderFor(key: string): string {
  if (key.endsWith('_QUEUE_URL')) return `http://127.0.0.1:9/123456789012/${key.toLowerCase()}`;
  return `local-${key.toLowerCase()}`;
}

function openApiEvent() {
  const headers = { Host: 'abc123defg.execute-api.us-east-1.amazonaws.com', 'X-Forwarded-Proto': 'https' };
  return {
    resource: '/v1/openapi.json',
    path: '/v1/openapi.json',
    httpMethod: 'GET',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      resourcePath: '/v1/openapi.json',
      httpMethod: 'GET',
      path: '/prod/v1/openapi.json',
      stage: 'prod',
      domainName: headers.Host,
      apiId: 'abc123defg',
      accountId: '123456789012',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      identity: { sourceIp: '127.0.0.1', userAgent: 'vitest' },
    },
    body: null,
    isBase64Encoded: false,
  };
}
