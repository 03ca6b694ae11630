/**
 * CALLER_NAMESPACES: parsing (a bad map is a ConfigError naming the variable, never its value), matching (exact
 * ARN, ARN ending in `/*`, principal id, namespaces adding up), failing closed when unset, and the API's answers
 * through the real handler: 403 before anything is stored for a namespace the caller may not use, 404 exactly like
 * an unknown job for another tenant's job. The pure rules are in caller-rules.test.ts; the handler with no rules at
 * all (500) in caller-rules-missing.test.ts.
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
import { CallerRulesMissingError } from '../../../shared/caller-namespaces.js';
import { type CallerNamespaceRule, ConfigError, parseConfig } from '../../../shared/config.js';
import type { Job } from '../../../shared/jobs/job.js';
import { jobIdFor } from '../../../shared/jobs/job-id.js';
import { jobFixture } from '../../support/job-fixture.js';
import { testConfig } from '../../support/test-config.js';
import { apiEvent, FUNCTION_ENV, lambdaContext, namespaceArb, setFunctionEnv } from '../fuzz/fixtures.js';

const ROLE = 'arn:aws:sts::123456789012:assumed-role/flyte-task-role';
const ADMIN = 'arn:aws:iam::123456789012:role/admin';
/** The role id every apiEvent() carries as `identity.user` (its sessions are `AROAEXAMPLEEXAMPLE123:<session>`). */
const FIXTURE_ROLE_ID = 'AROAEXAMPLEEXAMPLE123';
/** An IAM user's unique id, as API Gateway reports it in `identity.user` / `identity.caller`. */
const USER_ID = 'AIDAEXAMPLEUSER45678';
const MAP = {
  [`${ROLE}/*`]: ['team-a', 'team-b'],
  [`${ROLE}/special-session`]: ['team-c'],
  [ADMIN]: ['*'],
  [FIXTURE_ROLE_ID]: ['team-d'],
  [USER_ID]: ['team-a'],
};

// The handler reads its config from the environment once: the map is set before it is loaded.
setFunctionEnv({ CALLER_NAMESPACES: JSON.stringify(MAP) });
const { handler } = await import('../../../functions/api/handler.js');

const rulesOf = (map: unknown): CallerNamespaceRule[] | undefined =>
  parseConfig({ ...FUNCTION_ENV, CALLER_NAMESPACES: JSON.stringify(map) }).CALLER_NAMESPACES;
const as = (userArn: string | null, caller: string | null = null, user: string | null = null) => ({
  requestContext: { identity: { userArn, user, caller } },
});
/** An event API Gateway identified by nothing at all: no ARN, no unique id. */
const anonymous = (event: APIGatewayProxyEvent): APIGatewayProxyEvent => ({
  ...event,
  requestContext: {
    ...event.requestContext,
    identity: { ...event.requestContext.identity, userArn: null, user: null, caller: null },
  },
});

describe('Config: CALLER_NAMESPACES', () => {
  it('is undefined when unset or blank, and the opt-out is off unless set', () => {
    expect(parseConfig(FUNCTION_ENV).CALLER_NAMESPACES).toBeUndefined();
    expect(parseConfig({ ...FUNCTION_ENV, CALLER_NAMESPACES: '  ' }).CALLER_NAMESPACES).toBeUndefined();
    expect(parseConfig(FUNCTION_ENV).INSECURE_ANY_CALLER_ANY_NAMESPACE).toBe(false);
    expect(
      parseConfig({ ...FUNCTION_ENV, INSECURE_ANY_CALLER_ANY_NAMESPACE: 'true' }).INSECURE_ANY_CALLER_ANY_NAMESPACE,
    ).toBe(true);
  });

  it('parses exact, prefix and principal-id entries', () => {
    expect(rulesOf(MAP)).toEqual([
      { kind: 'arn-prefix', principal: `${ROLE}/`, namespaces: ['team-a', 'team-b'] },
      { kind: 'arn', principal: `${ROLE}/special-session`, namespaces: ['team-c'] },
      { kind: 'arn', principal: ADMIN, namespaces: '*' },
      { kind: 'principal-id', principal: FIXTURE_ROLE_ID, namespaces: ['team-d'] },
      { kind: 'principal-id', principal: USER_ID, namespaces: ['team-a'] },
    ]);
    expect(rulesOf({})).toEqual([]);
  });

  // The ARNs carry a well-formed 12-digit account, so each case is refused for the reason it names.
  it.each([
    ['not JSON', '{"arn:aws:iam::123456789012:role/secret-looking-value":'],
    ['an array', '["arn:aws:iam::123456789012:role/secret-looking-value"]'],
    ['a list that is not a list', '{"arn:aws:iam::123456789012:role/secret-looking-value":"team-a"}'],
    ['a namespace that is not one', '{"arn:aws:iam::123456789012:role/secret-looking-value":["Team_A"]}'],
    ['a * inside the ARN', '{"arn:aws:iam::123456789012:role/*/secret-looking-value":["team-a"]}'],
    ['a * that is not after a /', '{"arn:aws:iam::123456789012:role/secret-looking-value-*":["team-a"]}'],
    ['an account that is not 12 digits', '{"arn:aws:iam::1:role/secret-looking-value":["team-a"]}'],
    ['a principal id of another kind', '{"ASIASECRETLOOKINGVALUE":["team-a"]}'],
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
    expect((error as Error).message).not.toContain('SECRETLOOKINGVALUE');
  });
});

describe('Function: callerOf()', () => {
  it('takes userArn, else the unique id (user, else caller), else nobody', () => {
    expect(callerOf(as(ADMIN, 'AROA:x'))).toBe(ADMIN);
    expect(callerOf(as(null, 'AROA:x'))).toBe('AROA:x');
    expect(callerOf(as(null, 'AROA:from-caller', 'AROA:from-user'))).toBe('AROA:from-user');
    expect(callerOf(as(null, 'AROA:from-caller', '  '))).toBe('AROA:from-caller');
    expect(callerOf(as('  ', '', ''))).toBeUndefined();
    expect(callerOf({})).toBeUndefined();
    expect(callerOf({ requestContext: { identity: null } })).toBeUndefined();
  });
});

describe('Function: callerMayUse() and assertCallerMayUse()', () => {
  const rules = testConfig({ CALLER_NAMESPACES: rulesOf(MAP) });
  const unset = testConfig({ CALLER_NAMESPACES: undefined });
  const optedOut = testConfig({ CALLER_NAMESPACES: undefined, INSECURE_ANY_CALLER_ANY_NAMESPACE: true });

  it('fails closed when the map is unset and the operator did not opt out: CallerRulesMissingError', () => {
    expect(unset.INSECURE_ANY_CALLER_ANY_NAMESPACE).toBe(false);
    expect(() => callerMayUse(as(ADMIN), 'team-a', unset)).toThrow(CallerRulesMissingError);
    expect(() => assertCallerMayUse(as(ADMIN), 'team-a', unset)).toThrow(CallerRulesMissingError);
    expect(() => assertCallerIdentified(as(ADMIN), unset)).toThrow(CallerRulesMissingError);
    expect(() => assertCallerIdentified(as(null), unset)).toThrow(/CALLER_NAMESPACES is not set/);
  });

  it('lets everyone use everything under INSECURE_ANY_CALLER_ANY_NAMESPACE, unidentified callers too', () => {
    expect(callerMayUse(as(null), 'team-z', optedOut)).toBe(true);
    expect(() => assertCallerMayUse(as(null), 'team-z', optedOut)).not.toThrow();
    expect(assertCallerIdentified(as(null), optedOut)).toBeUndefined();
  });

  it('applies the rules when they are set, even with the opt-out also set', () => {
    const both = testConfig({ CALLER_NAMESPACES: rulesOf(MAP), INSECURE_ANY_CALLER_ANY_NAMESPACE: true });
    expect(callerMayUse(as(`${ROLE}/s`), 'team-c', both)).toBe(false);
    expect(() => assertCallerIdentified(as(null), both)).toThrow(/not identified/);
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
    expect(callerMayUse(as(ADMIN), 'team-a', testConfig({ CALLER_NAMESPACES: [] }))).toBe(false);
    // The rest of an ARN under a `/*` key must not be empty: the path itself names no principal.
    expect(callerMayUse(as(`${ROLE}/`), 'team-a', rules)).toBe(false);
  });

  it('matches principal ids (identity.user, else caller), a role id covering its sessions', () => {
    expect(callerMayUse(as(null, null, `${FIXTURE_ROLE_ID}:botocore-session-9`), 'team-d', rules)).toBe(true);
    expect(callerMayUse(as(null, `${FIXTURE_ROLE_ID}:botocore-session-9`), 'team-d', rules)).toBe(true);
    expect(callerMayUse(as(null, null, USER_ID), 'team-a', rules)).toBe(true);
    expect(callerMayUse(as(null, null, USER_ID), 'team-d', rules)).toBe(false);
    // A longer id sharing the prefix is another principal.
    expect(callerMayUse(as(null, null, `${FIXTURE_ROLE_ID}4:s`), 'team-d', rules)).toBe(false);
    expect(callerMayUse(as(null, null, `${USER_ID}9`), 'team-a', rules)).toBe(false);
    // ARN and id of one request add up.
    const both = as(`${ROLE}/s`, null, `${FIXTURE_ROLE_ID}:s`);
    expect(['team-a', 'team-b', 'team-c', 'team-d'].map((ns) => callerMayUse(both, ns, rules))).toEqual([
      true,
      true,
      false,
      true,
    ]);
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
            (caller.startsWith(`${ROLE}/`) && caller.length > `${ROLE}/`.length && ['team-a', 'team-b'].includes(ns)) ||
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

  it('POST: without a userArn, the principal id decides (identity.user, else caller)', async () => {
    // apiEvent() stamps identity.user with a session of FIXTURE_ROLE_ID, bound to team-d.
    const byUser = await invoke(apiEvent('POST', '/v1/jobs', { body: request('team-d'), userArn: null }));
    expect(byUser.status).toBe(202);
    const refused = await invoke(apiEvent('POST', '/v1/jobs', { body: request('team-a'), userArn: null }));
    expect(refused).toEqual({
      status: 403,
      body: {
        error: {
          code: 'Forbidden',
          message: `caller ${FIXTURE_ROLE_ID}:botocore-session-1 may not use namespace 'team-a'`,
          field: 'namespace',
        },
      },
    });
    const userOnlyAsCaller = anonymous(apiEvent('POST', '/v1/jobs', { body: request('team-a') }));
    userOnlyAsCaller.requestContext.identity.caller = USER_ID;
    expect((await invoke(userOnlyAsCaller)).status).toBe(202);
  });

  it('POST: refuses a caller identified by nothing, before anything is stored or sent', async () => {
    const nobody = await invoke(anonymous(apiEvent('POST', '/v1/jobs', { body: request('team-a') })));
    expect(nobody.status).toBe(403);
    expect(nobody.body.error.code).toBe('Forbidden');
    expect(nobody.body.error.message).toMatch(/not identified/);
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
      const result = await invoke(anonymous(apiEvent(method, `/v1/jobs/${id}`)));
      expect(result.status).toBe(403);
      expect(result.body.error.message).toMatch(/not identified/);
    }
    expect(doc.commandCalls(GetCommand)).toHaveLength(0);
  });
});
