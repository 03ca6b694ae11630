/**
 * CALLER_NAMESPACES: parsing (a bad map is a ConfigError naming the variable, never its value), matching (exact,
 * trailing `*`, namespaces adding up), and the API's answers through the real handler: 403 before anything is
 * stored for a namespace the caller may not use, 404 exactly like an unknown job for another tenant's job.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  assertCallerIdentified,
  assertCallerMayUse,
  callerMayUse,
  callerOf,
} from '../../../functions/api/caller-namespaces.js';
import { HttpError } from '../../../functions/api/http-error.js';
import { type CallerNamespaceRule, ConfigError, parseConfig } from '../../../shared/config.js';
import type { Job } from '../../../shared/jobs/job.js';
import { jobIdFor } from '../../../shared/jobs/job-id.js';
import { jobFixture } from '../../support/job-fixture.js';
import { apiEvent, FUNCTION_ENV, lambdaContext, namespaceArb, setFunctionEnv } from '../fuzz/fixtures.js';

const ROLE = 'arn:aws:sts::123456789012:assumed-role/flyte-task-role';
const ADMIN = 'arn:aws:iam::123456789012:role/admin';
const MAP = {
  [`${ROLE}/*`]: ['team-a', 'team-b'],
  [`${ROLE}/special-session`]: ['team-c'],
  [ADMIN]: ['*'],
};

// The handler reads its config from the environment once: the map is set before it is loaded.
setFunctionEnv({ CALLER_NAMESPACES: JSON.stringify(MAP) });
const { handler } = await import('../../../functions/api/handler.js');

const rulesOf = (map: unknown): CallerNamespaceRule[] | undefined =>
  parseConfig({ ...FUNCTION_ENV, CALLER_NAMESPACES: JSON.stringify(map) }).CALLER_NAMESPACES;
const as = (userArn: string | null, caller: string | null = null) => ({
  requestContext: { identity: { userArn, caller } },
});

describe('Config: CALLER_NAMESPACES', () => {
  it('is no restriction when unset or blank', () => {
    expect(parseConfig(FUNCTION_ENV).CALLER_NAMESPACES).toBeUndefined();
    expect(parseConfig({ ...FUNCTION_ENV, CALLER_NAMESPACES: '  ' }).CALLER_NAMESPACES).toBeUndefined();
  });

  it('parses exact and prefix entries', () => {
    expect(rulesOf(MAP)).toEqual([
      { principal: `${ROLE}/`, prefix: true, namespaces: ['team-a', 'team-b'] },
      { principal: `${ROLE}/special-session`, prefix: false, namespaces: ['team-c'] },
      { principal: ADMIN, prefix: false, namespaces: '*' },
    ]);
    expect(rulesOf({})).toEqual([]);
  });

  it.each([
    ['not JSON', '{"arn:aws:iam::1:role/secret-looking-value":'],
    ['an array', '["arn:aws:iam::1:role/secret-looking-value"]'],
    ['a list that is not a list', '{"arn:aws:iam::1:role/secret-looking-value":"team-a"}'],
    ['a namespace that is not one', '{"arn:aws:iam::1:role/secret-looking-value":["Team_A"]}'],
    ['a * inside the ARN', '{"arn:aws:iam::1:role/*/secret-looking-value":["team-a"]}'],
    ['an empty ARN', '{"":["team-a"]}'],
  ])('refuses %s with a ConfigError naming the variable, never the value', (_name, value) => {
    let error: unknown;
    try {
      parseConfig({ ...FUNCTION_ENV, CALLER_NAMESPACES: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^Invalid configuration: CALLER_NAMESPACES: /);
    expect((error as Error).message).not.toContain('secret-looking-value');
  });
});

describe('Function: callerOf()', () => {
  it('takes userArn, else caller, else nobody', () => {
    expect(callerOf(as(ADMIN, 'AROA:x'))).toBe(ADMIN);
    expect(callerOf(as(null, 'AROA:x'))).toBe('AROA:x');
    expect(callerOf(as('  ', ''))).toBeUndefined();
    expect(callerOf({})).toBeUndefined();
    expect(callerOf({ requestContext: { identity: null } })).toBeUndefined();
  });
});

describe('Function: callerMayUse() and assertCallerMayUse()', () => {
  const rules = { CALLER_NAMESPACES: rulesOf(MAP) };
  const unset = { CALLER_NAMESPACES: undefined };

  it('lets everyone use everything when the map is unset', () => {
    expect(callerMayUse(as(null), 'team-z', unset)).toBe(true);
    expect(() => assertCallerMayUse(as(null), 'team-z', unset)).not.toThrow();
    expect(assertCallerIdentified(as(null), unset)).toBeUndefined();
  });

  it('matches exact ARNs and trailing-* prefixes, adding up the namespaces of every match', () => {
    expect(callerMayUse(as(`${ROLE}/any-session`), 'team-a', rules)).toBe(true);
    expect(callerMayUse(as(`${ROLE}/any-session`), 'team-c', rules)).toBe(false);
    expect(callerMayUse(as(`${ROLE}/special-session`), 'team-c', rules)).toBe(true);
    expect(callerMayUse(as(`${ROLE}/special-session`), 'team-b', rules)).toBe(true);
    expect(callerMayUse(as(ADMIN), 'anything-at-all', rules)).toBe(true);
    // Exact means exact: a longer ARN is another principal.
    expect(callerMayUse(as(`${ADMIN}-2`), 'team-a', rules)).toBe(false);
    expect(callerMayUse(as(`${ROLE}-other/s`), 'team-a', rules)).toBe(false);
    expect(callerMayUse(as('arn:aws:iam::999999999999:user/mallory'), 'team-a', rules)).toBe(false);
    expect(callerMayUse(as(ADMIN), 'team-a', { CALLER_NAMESPACES: [] })).toBe(false);
  });

  it('refuses with the documented 403', () => {
    const caller = `${ROLE}/s1`;
    let error: unknown;
    try {
      assertCallerMayUse(as(caller), 'team-c', rules);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({
      statusCode: 403,
      code: 'Forbidden',
      message: `caller ${caller} may not use namespace 'team-c'`,
      field: 'namespace',
    });
  });

  it('refuses an unidentified caller with 403 once the map is set', () => {
    expect(() => assertCallerMayUse(as(null), 'team-a', rules)).toThrow(HttpError);
    expect(() => assertCallerIdentified(as(null), rules)).toThrow(/not identified/);
    expect(callerMayUse(as(null), 'team-a', rules)).toBe(false);
  });

  it('matches an oracle on arbitrary callers and namespaces', () => {
    const arnArb = fc.oneof(
      fc.constantFrom(`${ROLE}/special-session`, ADMIN, `${ADMIN}x`, ROLE),
      fc.string().map((s) => `${ROLE}/${s}`),
      fc.string(),
    );
    fc.assert(
      fc.property(arnArb, fc.oneof(namespaceArb, fc.constantFrom('team-a', 'team-b', 'team-c')), (arn, ns) => {
        const caller = arn.trim() || undefined;
        const expected =
          caller !== undefined &&
          (caller === ADMIN ||
            (caller.startsWith(`${ROLE}/`) && ['team-a', 'team-b'].includes(ns)) ||
            (caller === `${ROLE}/special-session` && ns === 'team-c'));
        expect(callerMayUse(as(arn), ns, rules)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('Handler: the API with CALLER_NAMESPACES set', () => {
  const doc = mockClient(DynamoDBDocumentClient);
  const dynamodb = mockClient(DynamoDBClient);
  const sqs = mockClient(SQSClient);
  afterAll(() => {
    doc.restore();
    dynamodb.restore();
    sqs.restore();
  });

  const now = '2025-03-01T12:00:00.000Z';
  const jobIn = (namespace: string): Job =>
    jobFixture({ namespace, executionId: 'exec-1', version: 2, createdAt: now, updatedAt: now });
  const jobs = new Map([jobIn('team-a'), jobIn('team-c')].map((j) => [j.jobId, j]));

  beforeEach(() => {
    doc.reset();
    dynamodb.reset();
    sqs.reset();
    doc.on(GetCommand).callsFake((input: { Key: { jobId: string } }) => {
      const item = jobs.get(input.Key.jobId);
      return item ? { Item: structuredClone(item) } : {};
    });
    doc.on(PutCommand).resolves({});
    doc.on(UpdateCommand).callsFake((input: { Key: { jobId: string } }) => ({
      Attributes: { ...jobs.get(input.Key.jobId), cancelRequested: true, version: 3 },
    }));
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
  });

  const writes = () => ({
    puts: doc.commandCalls(PutCommand).length,
    updates: doc.commandCalls(UpdateCommand).length,
    sends: sqs.commandCalls(SendMessageCommand).length,
  });
  const invoke = async (event: APIGatewayProxyEvent) => {
    const response = (await handler(event, lambdaContext('api'))) as APIGatewayProxyResult;
    return { status: response.statusCode, body: JSON.parse(response.body) };
  };
  const request = (namespace: string) =>
    JSON.stringify({ namespace, executionId: 'exec-1', task: { databricksConf: { existing_cluster_id: 'c' } } });
  const session = `${ROLE}/botocore-session-1`;

  it('POST: accepts a namespace the caller may use', async () => {
    const { status } = await invoke(apiEvent('POST', '/v1/jobs', { body: request('team-b'), userArn: session }));
    expect(status).toBe(202);
    expect(writes()).toMatchObject({ puts: 1, sends: 1 });
  });

  it('POST: 403 naming caller and namespace, nothing stored or sent', async () => {
    const result = await invoke(apiEvent('POST', '/v1/jobs', { body: request('team-c'), userArn: session }));
    expect(result).toEqual({
      status: 403,
      body: {
        error: { code: 'Forbidden', message: `caller ${session} may not use namespace 'team-c'`, field: 'namespace' },
      },
    });
    expect(writes()).toEqual({ puts: 0, updates: 0, sends: 0 });
  });

  it('POST: falls back to `caller` when there is no userArn, and refuses an unidentified caller', async () => {
    const byCaller = await invoke(
      apiEvent('POST', '/v1/jobs', { body: request('team-a'), userArn: null, caller: ADMIN }),
    );
    expect(byCaller.status).toBe(202);
    doc.resetHistory();
    sqs.resetHistory();
    const nobody = await invoke(apiEvent('POST', '/v1/jobs', { body: request('team-a'), userArn: null, caller: null }));
    expect(nobody.status).toBe(403);
    expect(nobody.body.error.code).toBe('Forbidden');
    expect(writes()).toEqual({ puts: 0, updates: 0, sends: 0 });
  });

  it("GET: another tenant's job is answered exactly like an unknown one", async () => {
    const other = jobIdFor('team-c', 'exec-1');
    const unknown = jobIdFor('team-z', 'nothing');
    const forbidden = await invoke(apiEvent('GET', `/v1/jobs/${other}`, { userArn: session }));
    const missing = await invoke(apiEvent('GET', `/v1/jobs/${unknown}`, { userArn: session }));
    expect(forbidden.status).toBe(404);
    expect(forbidden.body).toEqual({ error: { code: 'NotFound', message: `No job with id '${other}'`, field: 'id' } });
    expect(missing.body).toEqual({ error: { code: 'NotFound', message: `No job with id '${unknown}'`, field: 'id' } });
    const own = await invoke(apiEvent('GET', `/v1/jobs/${jobIdFor('team-a', 'exec-1')}`, { userArn: session }));
    expect(own.status).toBe(200);
    expect(own.body.namespace).toBe('team-a');
  });

  it("DELETE: another tenant's job is 404 and left alone", async () => {
    const other = jobIdFor('team-c', 'exec-1');
    const result = await invoke(apiEvent('DELETE', `/v1/jobs/${other}`, { userArn: session }));
    expect(result.status).toBe(404);
    expect(writes()).toEqual({ puts: 0, updates: 0, sends: 0 });
    const own = await invoke(apiEvent('DELETE', `/v1/jobs/${jobIdFor('team-a', 'exec-1')}`, { userArn: session }));
    expect(own.status).toBe(202);
    expect(writes()).toMatchObject({ updates: 1, sends: 1 });
  });

  it('GET/DELETE: an unidentified caller is refused before any lookup', async () => {
    const id = jobIdFor('team-a', 'exec-1');
    for (const method of ['GET', 'DELETE'] as const) {
      const result = await invoke(apiEvent(method, `/v1/jobs/${id}`, { userArn: null, caller: null }));
      expect(result.status).toBe(403);
    }
    expect(doc.commandCalls(GetCommand)).toHaveLength(0);
  });
});
