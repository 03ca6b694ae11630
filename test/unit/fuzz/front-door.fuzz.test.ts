/**
 * Property-based tests of the real API handler (functions/api/handler.ts) with DynamoDB and SQS mocked at the SDK
 * boundary. Whatever the body, the answer is one of the documented statuses (never a 500), its body has the
 * documented shape, and a refusal stores and sends nothing; a valid request is accepted.
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { errorBodySchema, jobViewSchema } from '../../../shared/api/schemas.js';
import { jobIdFor } from '../../../shared/jobs/job-id.js';
import {
  apiEvent,
  hostileRawArb,
  type Json,
  lambdaContext,
  RAW,
  setFunctionEnv,
  spliceRaw,
  validRequestArb,
} from './fixtures.js';

// The fuzzed caller (a session of the Flyte task role) may use any namespace: the property is about bodies and ids.
setFunctionEnv({
  ALLOWED_DATABRICKS_HOSTS: '*.cloud.databricks.com,*.azuredatabricks.net',
  CALLER_NAMESPACES: JSON.stringify({ 'arn:aws:sts::123456789012:assumed-role/flyte-task-role/*': ['*'] }),
});
const { handler } = await import('../../../functions/api/handler.js');

const doc = mockClient(DynamoDBDocumentClient);
const dynamodb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);

beforeEach(() => {
  doc.reset();
  dynamodb.reset();
  sqs.reset();
  doc.on(PutCommand).resolves({});
  doc.on(GetCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
});
afterAll(() => {
  doc.restore();
  dynamodb.restore();
  sqs.restore();
});

const context = lambdaContext('api');
const ALLOWED = [200, 202, 400, 409, 413];

function resetHistory(): void {
  doc.resetHistory();
  dynamodb.resetHistory();
  sqs.resetHistory();
}

const writes = () => ({
  puts: doc.commandCalls(PutCommand).length + dynamodb.commandCalls(PutItemCommand).length,
  updates: doc.commandCalls(UpdateCommand).length,
  sends: sqs.commandCalls(SendMessageCommand).length,
});

async function invoke(event: APIGatewayProxyEvent): Promise<{ status: number; body: unknown }> {
  resetHistory();
  const response = (await handler(event, context)) as APIGatewayProxyResult;
  expect(response.headers?.['Content-Type']).toBe('application/json');
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

/** The properties every POST answer has. */
function expectDocumented(result: { status: number; body: unknown }): void {
  expect(ALLOWED).toContain(result.status);
  if (result.status < 300) {
    expect(jobViewSchema.safeParse(result.body).success).toBe(true);
  } else {
    expect(errorBodySchema.safeParse(result.body).success).toBe(true);
  }
  if (result.status === 400 || result.status === 413) expect(writes()).toEqual({ puts: 0, updates: 0, sends: 0 });
  if (result.status === 202) expect(writes()).toMatchObject({ puts: 1, sends: 1 });
}

const post = (body: string, isBase64Encoded = false) => invoke(apiEvent('POST', '/v1/jobs', { body, isBase64Encoded }));

/** Every path (as keys) to a value inside `value`, the document itself included. */
function pathsOf(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...pathsOf(v, [...prefix, i]));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

type Mutation = 'delete' | 'replace' | 'hostile-key' | 'wrap' | 'stringify';

/** `{ [key]: value }` with `key` an own property even when it is `__proto__`, as JSON.parse would make it. */
function ownKeyObject(key: string, value: Json): Json {
  return Object.defineProperty({}, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A copy of `root` with one mutation at `path`. */
function mutate(root: Json, path: Array<string | number>, op: Mutation, replacement: Json, key: string): Json {
  const copy = JSON.parse(JSON.stringify(root)) as Json;
  const apply = (current: Json): Json | undefined => {
    switch (op) {
      case 'delete':
        return undefined;
      case 'replace':
        return replacement;
      case 'hostile-key':
        return ownKeyObject(key, current);
      case 'wrap':
        return [current];
      case 'stringify':
        return JSON.stringify(current);
    }
  };
  if (path.length === 0) return apply(copy) ?? null;
  let parent = copy as Record<string | number, Json>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, Json>;
  const last = path.at(-1) as string | number;
  const next = apply(parent[last] as Json);
  if (next !== undefined) parent[last] = next;
  else if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete parent[last];
  return copy;
}

describe('Property: POST /v1/jobs answers every body as documented', () => {
  it('accepts every valid request (202, one put, one submit message)', async () => {
    await fc.assert(
      fc.asyncProperty(validRequestArb, fc.boolean(), async (request, base64) => {
        const text = JSON.stringify(request);
        const result = await post(base64 ? Buffer.from(text).toString('base64') : text, base64);
        expect(result.status).toBe(202);
        expectDocumented(result);
        const view = jobViewSchema.parse(result.body);
        expect(view).toMatchObject({ namespace: request.namespace, executionId: request.executionId, phase: 'QUEUED' });
        expect(view.jobId).toBe(jobIdFor(request.namespace, request.executionId));
      }),
      { numRuns: 600 },
    );
  });

  it('answers arbitrary JSON documents without a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
        expectDocumented(await post(JSON.stringify(value)));
      }),
      { numRuns: 1000 },
    );
  });

  it('answers random text with a 400 (or 413), storing nothing', async () => {
    const textArb = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({
        unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '1', 'e', '-', '.', ' ', 'a', '\\'),
        maxLength: 200,
      }),
      fc.jsonValue().map((v) => JSON.stringify(v).slice(0, -1)),
    );
    await fc.assert(
      fc.asyncProperty(textArb, async (text) => {
        const result = await post(text);
        expectDocumented(result);
        expect([400, 413]).toContain(result.status);
      }),
      { numRuns: 1000 },
    );
  });

  it('answers mutated valid requests as documented', async () => {
    const mutationArb = fc.record({
      request: validRequestArb,
      pick: fc.nat(),
      op: fc.constantFrom<Mutation>('delete', 'replace', 'hostile-key', 'wrap', 'stringify'),
      replacement: fc.jsonValue({ maxDepth: 3 }),
      key: fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', 'new_cluster', 'jobId'),
    });
    await fc.assert(
      fc.asyncProperty(mutationArb, async ({ request, pick, op, replacement, key }) => {
        const root = request as Json;
        const paths = pathsOf(root);
        const path = paths[pick % paths.length] ?? [];
        const mutated = mutate(root, path, op, replacement as Json, key);
        const result = await post(JSON.stringify(mutated));
        expectDocumented(result);
        if (op === 'hostile-key' && ['__proto__', 'constructor', 'prototype'].includes(key)) {
          expect(result.status).toBe(400);
          expect(errorBodySchema.parse(result.body).error.field).toBe([...path, key].join('.'));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses hostile JSON inside a valid request, naming its path', async () => {
    await fc.assert(
      fc.asyncProperty(validRequestArb, hostileRawArb, async (request, { raw, field }) => {
        const withSentinel = {
          ...request,
          task: { ...request.task, databricksConf: { ...request.task.databricksConf, x: RAW } },
        };
        const result = await post(spliceRaw(JSON.stringify(withSentinel), raw));
        expectDocumented(result);
        expect(result.status).toBe(400);
        const { error } = errorBodySchema.parse(result.body);
        expect(error.code).toBe('ValidationError');
        expect(error.field).toBe(field);
        expect(error.message.startsWith(`${field}: `)).toBe(true);
      }),
      { numRuns: 600 },
    );
  });

  it('refuses deep nesting anywhere, up to the body limit, without a 500', async () => {
    const nestingArb = fc.record({
      depth: fc.integer({ min: 1, max: 140_000 }),
      open: fc.constantFrom('[', '{"k":'),
    });
    await fc.assert(
      fc.asyncProperty(nestingArb, async ({ depth, open }) => {
        const text = `${open.repeat(depth)}${open === '[' ? '' : '0'}${(open === '[' ? ']' : '}').repeat(depth)}`;
        const result = await post(text);
        expectDocumented(result);
        expect(result.status).toBe(Buffer.byteLength(text) > 256 * 1024 ? 413 : 400);
      }),
      { numRuns: 150 },
    );
  });
});

describe('Property: GET and DELETE /v1/jobs/{id} with arbitrary ids', () => {
  it('answer 404 for ids that name no job, reading nothing for malformed ones', async () => {
    const idArb = fc.oneof(
      fc.string({ minLength: 1, maxLength: 80 }).map(encodeURIComponent),
      fc.tuple(fc.string(), fc.string()).map(([ns, e]) => jobIdFor(ns, e)),
    );
    await fc.assert(
      fc.asyncProperty(idArb, fc.constantFrom<'GET' | 'DELETE'>('GET', 'DELETE'), async (id, method) => {
        const result = await invoke(apiEvent(method, `/v1/jobs/${id}`));
        expect(result.status).toBe(404);
        expect(errorBodySchema.safeParse(result.body).success).toBe(true);
        expect(writes()).toEqual({ puts: 0, updates: 0, sends: 0 });
      }),
      { numRuns: 500 },
    );
  });
});

describe('Example: documented hostile shapes', () => {
  const valid = {
    namespace: 'flytesnacks-development',
    executionId: 'hostile-0001',
    task: { databricksConf: { run_name: 'r', new_cluster: { spark_version: '15.4.x-scala2.12', num_workers: 1 } } },
  };

  const cases: Array<[string, string, string | object]> = [
    ['a __proto__ key at the top', '__proto__', '{"__proto__":{"polluted":true},"namespace":"a"}'],
    ['a constructor key in env', 'container.env.constructor', { ...valid, container: { env: { constructor: 'x' } } }],
    [
      '1e400 in databricksConf',
      'task.databricksConf.a.b',
      spliceRaw(JSON.stringify({ ...valid, task: { databricksConf: { a: { b: RAW } } } }), '1e400'),
    ],
    ['a string over 32768 characters', 'container.args.0', { ...valid, container: { args: ['x'.repeat(32_769)] } }],
  ];

  it.each(cases)('%s: 400 naming %s', async (_name, field, body) => {
    const result = await post(typeof body === 'string' ? body : JSON.stringify(body));
    expect(result.status).toBe(400);
    expect(errorBodySchema.parse(result.body).error).toMatchObject({ code: 'ValidationError', field });
    expect(writes()).toEqual({ puts: 0, updates: 0, sends: 0 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses more than 10000 keys in total', async () => {
    const env = Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`K${i}`, '']));
    const result = await post(JSON.stringify({ ...valid, container: { env } }));
    expect(result.status).toBe(400);
    expect(errorBodySchema.parse(result.body).error.field).toBe('container.env.K9990');
  });

  it('refuses a databricksConf over 128 KiB in a body under 256 KiB', async () => {
    const big = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`p${i}`, 'x'.repeat(30_000)]));
    const body = JSON.stringify({ ...valid, task: { databricksConf: { ...valid.task.databricksConf, big } } });
    expect(Buffer.byteLength(body)).toBeLessThan(256 * 1024);
    const result = await post(body);
    expect(result.status).toBe(400);
    expect(errorBodySchema.parse(result.body).error.field).toBe('task.databricksConf');
  });

  it('answers a body over 256 KiB with 413, base64 or not', async () => {
    const body = JSON.stringify({ ...valid, pad: 'x'.repeat(256 * 1024) });
    expect((await post(body)).status).toBe(413);
    expect((await post(Buffer.from(body).toString('base64'), true)).status).toBe(413);
    expect(writes()).toEqual({ puts: 0, updates: 0, sends: 0 });
  });
});
