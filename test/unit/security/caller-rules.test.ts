/**
 * The CALLER_NAMESPACES rules themselves (shared/caller-namespaces.ts), for both front doors: what a key may be
 * (exact ARN, ARN ending in `/*`, IAM unique id), what it matches, and failing closed when nothing is configured.
 */
import { describe, expect, it } from 'vitest';
import { principalOf } from '../../../functions/api/caller-namespaces.js';
import {
  type CallerNamespaceRule,
  type CallerNamespacesSettings,
  CallerRulesMissingError,
  callersRestricted,
  parseCallerNamespaces,
  principalMayUse,
} from '../../../shared/caller-namespaces.js';
import { testConfig } from '../../support/test-config.js';

const ACCOUNT = '123456789012';
const TASK_ROLE_SESSIONS = `arn:aws:sts::${ACCOUNT}:assumed-role/flyte-task/*`;
const ROLE_ID = 'AROAEXAMPLEROLE12345';
const USER_ID = 'AIDAEXAMPLEUSER12345';

function rules(map: Record<string, string[]>): CallerNamespaceRule[] {
  const parsed = parseCallerNamespaces(JSON.stringify(map));
  if (typeof parsed === 'string') throw new Error(`unexpected refusal: ${parsed}`);
  return parsed;
}
const settings = (map: Record<string, string[]>): CallerNamespacesSettings =>
  testConfig({ CALLER_NAMESPACES: rules(map) });

describe('Function: parseCallerNamespaces()', () => {
  it('tells the three kinds of key apart', () => {
    expect(
      rules({
        [`arn:aws:iam::${ACCOUNT}:role/flyte-task`]: ['team-a'],
        [TASK_ROLE_SESSIONS]: ['team-b', 'team-b'],
        [ROLE_ID]: ['*', 'team-c'],
        [USER_ID]: [],
      }),
    ).toEqual([
      { kind: 'arn', principal: `arn:aws:iam::${ACCOUNT}:role/flyte-task`, namespaces: ['team-a'] },
      { kind: 'arn-prefix', principal: `arn:aws:sts::${ACCOUNT}:assumed-role/flyte-task/`, namespaces: ['team-b'] },
      { kind: 'principal-id', principal: ROLE_ID, namespaces: '*' },
      { kind: 'principal-id', principal: USER_ID, namespaces: [] },
    ]);
  });

  it.each([
    ['a * that is not after a / (would match flyte-admin)', `arn:aws:iam::${ACCOUNT}:role/flyte-*`],
    ['a * inside the path', `arn:aws:sts::${ACCOUNT}:assumed-role/*/session`],
    ['two trailing stars', `arn:aws:sts::${ACCOUNT}:assumed-role/flyte-task/**`],
    ['a bare *', '*'],
    ['an access key id rather than a principal id', 'ASIAEXAMPLEKEY123456'],
    ['a principal id that is too short', 'AROA1234'],
    ['a lower-case principal id', 'aroaexampleidlower12'],
    ['an ARN of another service', `arn:aws:s3::${ACCOUNT}:bucket/x`],
  ])('refuses %s, naming the entry, never the key', (_what, key) => {
    const result = parseCallerNamespaces(JSON.stringify({ [`arn:aws:iam::${ACCOUNT}:role/ok`]: ['a'], [key]: ['a'] }));
    expect(typeof result).toBe('string');
    expect(result).toMatch(/^entry 2: the caller must be an IAM ARN, an ARN whose last segment is \* after a \//);
    // (A bare * is in the message's own wording.)
    if (key !== '*') expect(result).not.toContain(key);
  });
});

describe('Function: principalMayUse()', () => {
  it('matches an exact ARN exactly', () => {
    const config = settings({ [`arn:aws:iam::${ACCOUNT}:user/alice`]: ['team-a'] });
    expect(principalMayUse({ arn: `arn:aws:iam::${ACCOUNT}:user/alice` }, 'team-a', config)).toBe(true);
    expect(principalMayUse({ arn: `arn:aws:iam::${ACCOUNT}:user/alice` }, 'team-b', config)).toBe(false);
    expect(principalMayUse({ arn: `arn:aws:iam::${ACCOUNT}:user/alice2` }, 'team-a', config)).toBe(false);
    expect(principalMayUse({ arn: `arn:aws:iam::${ACCOUNT}:user/ALICE` }, 'team-a', config)).toBe(false);
    // An id is no ARN.
    expect(principalMayUse({ id: `arn:aws:iam::${ACCOUNT}:user/alice` }, 'team-a', config)).toBe(false);
  });

  it('matches every session under a /* key, never a sibling role sharing the prefix', () => {
    const config = settings({ [TASK_ROLE_SESSIONS]: ['team-a'] });
    const session = (role: string, name: string) => ({ arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${name}` });
    expect(principalMayUse(session('flyte-task', 'botocore-session-1'), 'team-a', config)).toBe(true);
    expect(principalMayUse(session('flyte-task', 'a/b'), 'team-a', config)).toBe(true);
    expect(principalMayUse(session('flyte-task-admin', 'botocore-session-1'), 'team-a', config)).toBe(false);
    expect(principalMayUse(session('flyte-tas', 'k/x'), 'team-a', config)).toBe(false);
    // The path itself, with nothing after it, names no principal.
    expect(principalMayUse({ arn: `arn:aws:sts::${ACCOUNT}:assumed-role/flyte-task/` }, 'team-a', config)).toBe(false);
    expect(principalMayUse({ arn: `arn:aws:sts::${ACCOUNT}:assumed-role/flyte-task` }, 'team-a', config)).toBe(false);
    // Another account's role of the same name.
    expect(principalMayUse({ arn: 'arn:aws:sts::999999999999:assumed-role/flyte-task/s' }, 'team-a', config)).toBe(
      false,
    );
  });

  it("matches a role's unique id and its sessions, never a longer id with the same prefix", () => {
    const config = settings({ [ROLE_ID]: ['team-a'], [USER_ID]: ['team-b'] });
    expect(principalMayUse({ id: ROLE_ID }, 'team-a', config)).toBe(true);
    expect(principalMayUse({ id: `${ROLE_ID}:botocore-session-1` }, 'team-a', config)).toBe(true);
    expect(principalMayUse({ id: `${ROLE_ID}X:botocore-session-1` }, 'team-a', config)).toBe(false);
    expect(principalMayUse({ id: `${ROLE_ID}X` }, 'team-a', config)).toBe(false);
    expect(principalMayUse({ id: ROLE_ID.slice(0, -1) }, 'team-a', config)).toBe(false);
    expect(principalMayUse({ id: USER_ID }, 'team-b', config)).toBe(true);
    expect(principalMayUse({ id: USER_ID }, 'team-a', config)).toBe(false);
    // An ARN is no id.
    expect(principalMayUse({ arn: ROLE_ID }, 'team-a', config)).toBe(false);
  });

  it('adds up the namespaces of every rule the ARN and the id match', () => {
    const config = settings({ [TASK_ROLE_SESSIONS]: ['team-a'], [ROLE_ID]: ['team-b'] });
    const principal = { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/flyte-task/s`, id: `${ROLE_ID}:s` };
    expect(['team-a', 'team-b', 'team-c'].map((ns) => principalMayUse(principal, ns, config))).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('with no rules and no opt-out, throws CallerRulesMissingError (fail closed), naming both settings', () => {
    const unset = testConfig({ CALLER_NAMESPACES: undefined });
    expect(() => principalMayUse({ arn: `arn:aws:iam::${ACCOUNT}:role/admin` }, 'team-a', unset)).toThrow(
      CallerRulesMissingError,
    );
    expect(() => callersRestricted(unset)).toThrow(CallerRulesMissingError);
    expect(() => callersRestricted(unset)).toThrow(
      /CALLER_NAMESPACES is not set.*INSECURE_ANY_CALLER_ANY_NAMESPACE=true/,
    );
  });

  it('under INSECURE_ANY_CALLER_ANY_NAMESPACE, lets anyone use anything', () => {
    const open = testConfig({ CALLER_NAMESPACES: undefined, INSECURE_ANY_CALLER_ANY_NAMESPACE: true });
    expect(callersRestricted(open)).toBe(false);
    expect(principalMayUse({}, 'team-z', open)).toBe(true);
    expect(principalMayUse({ id: 'AIDAANYONEATALL12345' }, 'team-a', open)).toBe(true);
  });

  it('with an empty rule set, lets nobody use anything (rules are set: the opt-out does not apply)', () => {
    const empty = testConfig({ CALLER_NAMESPACES: [], INSECURE_ANY_CALLER_ANY_NAMESPACE: true });
    expect(callersRestricted(empty)).toBe(true);
    expect(principalMayUse({ arn: `arn:aws:iam::${ACCOUNT}:role/admin`, id: ROLE_ID }, 'team-a', empty)).toBe(false);
  });
});

describe('Function: principalOf()', () => {
  const event = (identity: Record<string, string | null>) => ({ requestContext: { identity } });

  it('takes the ARN from userArn and the id from user, else caller', () => {
    expect(principalOf(event({ userArn: 'arn:x', user: `${ROLE_ID}:s`, caller: 'ignored' }))).toEqual({
      arn: 'arn:x',
      id: `${ROLE_ID}:s`,
    });
    expect(principalOf(event({ userArn: null, user: null, caller: USER_ID }))).toEqual({
      arn: undefined,
      id: USER_ID,
    });
    expect(principalOf(event({ userArn: ' ', user: ' ', caller: ' ' }))).toBeUndefined();
    expect(principalOf({ requestContext: null })).toBeUndefined();
  });
});
