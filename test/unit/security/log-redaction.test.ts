/**
 * Log redaction: real log lines captured from the suite's Powertools logger (and a child of it) never carry a
 * credential, whether under a secret-looking key, under an innocent one, inside a message, or in an error's
 * message, stack or cause; what is not a credential survives untouched.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isSecretKey, REDACTED, redactingJsonReplacer, redactString } from '../../../shared/log-redaction.js';
import { createLogger, logger } from '../../../shared/logger.js';

const PAT = `dapi${'0123456789abcdef'.repeat(2)}`;
const PAT_WITH_SUFFIX = `dapi${'fedcba9876543210'.repeat(2)}-2`;
const OAUTH_SECRET = `dose${'a1b2c3d4'.repeat(4)}`;
const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6dGVhbS1hOmRhdGFicmlja3MifQ.c2lnbmF0dXJlLWJ5dGVz';
const EKS_TOKEN = 'k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9uPUdldENhbGxlcklkZW50aXR5';
const SECRETS = [PAT, PAT_WITH_SUFFIX, OAUTH_SECRET, JWT, EKS_TOKEN, 'hunter2-password-value', 'cookie-value-123'];

/** Every line the logger writes, parsed. */
let lines: string[] = [];
const capture = (chunk: unknown) => {
  lines.push(String(chunk));
  return true;
};

beforeEach(() => {
  lines = [];
  vi.spyOn(process.stdout, 'write').mockImplementation(capture as never);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture as never);
});
afterEach(() => {
  vi.restoreAllMocks();
});

const output = () => lines.join('');
const records = () =>
  lines
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
const expectNoSecret = () => {
  const text = output();
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  expect(text).not.toMatch(/dapi[0-9a-f]{16}|dose[0-9a-f]{16}|eyJ[\w-]+\.eyJ/);
};

describe('Function: isSecretKey()', () => {
  it.each([
    'token',
    'Token',
    'access_token',
    'subject_token',
    'refresh_token',
    'client_secret',
    'clientSecret',
    'password',
    'DB_PASSWORD',
    'authorization',
    'Authorization',
    'cookie',
    'Set-Cookie',
    'x-amz-security-token',
    'X-Amz-Security-Token',
    'sessionToken',
    'secretAccessKey',
    'apiKey',
    'FLYTE_DATABRICKS_ACCESS_TOKEN',
    'DATABRICKS_CLIENT_SECRET',
  ])('%s is secret', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each(['jobId', 'namespace', 'idempotency_token', 'nextToken', 'tokenFile', 'secretName', 'message', 'auth', ''])(
    '%s is not',
    (key) => {
      expect(isSecretKey(key)).toBe(false);
    },
  );
});

describe('Function: redactString()', () => {
  it.each([
    [`token ${PAT} refused`, `token ${REDACTED} refused`],
    [`suffix ${PAT_WITH_SUFFIX}.`, `suffix ${REDACTED}.`],
    [`secret=${OAUTH_SECRET}`, `secret=${REDACTED}`],
    [`subject ${JWT} expired`, `subject ${REDACTED} expired`],
    [`Authorization: Bearer ${JWT}`, `Authorization: Bearer ${REDACTED}`],
    ['Authorization: Bearer abcdefghijklmnop1234', `Authorization: Bearer ${REDACTED}`],
    ['Authorization: Basic Y2xpZW50OnNlY3JldC12YWx1ZQ==', `Authorization: Basic ${REDACTED}`],
    [`kube token ${EKS_TOKEN}`, `kube token ${REDACTED}`],
    [
      'grant_type=client_credentials&client_secret=s3cr3t&scope=all-apis',
      `grant_type=client_credentials&client_secret=${REDACTED}&scope=all-apis`,
    ],
    [
      'body {"access_token":"abc.def","token_type":"Bearer","expires_in":3600}',
      `body {"access_token":"${REDACTED}","token_type":"Bearer","expires_in":3600}`,
    ],
  ])('%s', (text, expected) => {
    expect(redactString(text)).toBe(expected);
  });

  it.each([
    'Job fdl-3f0c2a9b8e7d6c5b4a3928170615f4e3d2c1b0a9 is RUNNING',
    'caller arn:aws:sts::123456789012:assumed-role/flyte-task-role/botocore-session-1',
    "pat (namespace 'team-a', Secrets Manager secret 'flyte/team-a/databricks-token')",
    'a dose of reality; dapi is a prefix; eyJ alone',
    'Databricks rejected the token; refreshing it and retrying once',
    'Bearer token refresh failed',
  ])('leaves "%s" alone', (text) => {
    expect(redactString(text)).toBe(text);
  });
});

describe('Function: redactingJsonReplacer()', () => {
  it('redacts nested secret keys and credential-looking values under innocent keys', () => {
    const value = {
      headers: { Authorization: `Bearer ${PAT}`, 'x-amz-security-token': 'IQoJb3JpZ2luX2VjE' },
      deep: [{ config: { client_secret: { nested: 'x' }, innocent: OAUTH_SECRET, hasToken: true, token: null } }],
      count: 3,
    };
    expect(JSON.parse(JSON.stringify(value, redactingJsonReplacer))).toEqual({
      headers: { Authorization: REDACTED, 'x-amz-security-token': REDACTED },
      deep: [{ config: { client_secret: REDACTED, innocent: REDACTED, hasToken: true, token: null } }],
      count: 3,
    });
  });
});

describe('Logger: every line is redacted', () => {
  it('masks secret keys at any depth and credentials under innocent keys, keeping the rest', () => {
    logger.warn('Token exchange answered', {
      jobId: 'fdl-0123',
      request: { headers: { Authorization: `Bearer ${JWT}`, Cookie: 'session=cookie-value-123' } },
      form: { client_secret: OAUTH_SECRET, subject_token: JWT, grant_type: 'token-exchange' },
      config: { DB_PASSWORD: 'hunter2-password-value' },
      innocent: PAT,
      list: [EKS_TOKEN, 'plain'],
    });
    expectNoSecret();
    const [record] = records();
    expect(record).toMatchObject({
      level: 'WARN',
      message: 'Token exchange answered',
      jobId: 'fdl-0123',
      request: { headers: { Authorization: REDACTED, Cookie: REDACTED } },
      form: { client_secret: REDACTED, subject_token: REDACTED, grant_type: 'token-exchange' },
      config: { DB_PASSWORD: REDACTED },
      innocent: REDACTED,
      list: [REDACTED, 'plain'],
    });
  });

  it('masks credentials inside the message itself', () => {
    logger.error(`Databricks refused ${PAT} for job fdl-1`);
    expectNoSecret();
    expect(records()[0]?.message).toBe(`Databricks refused ${REDACTED} for job fdl-1`);
  });

  it("masks an Error's message, stack, cause and own properties", () => {
    const cause = new Error(`token endpoint said {"access_token":"${JWT}"}`);
    const error = new Error(`401 with Authorization: Bearer ${PAT}`, { cause });
    Object.assign(error, { response: { headers: { 'set-cookie': 'cookie-value-123' }, body: `id_token=${JWT}` } });
    expect(error.stack).toContain(PAT);
    logger.error('Record failed', { error });
    logger.error('Record failed', error);
    expectNoSecret();
    const [first, second] = records();
    const logged = first?.error as { message: string; stack: string; cause: { message: string }; response: unknown };
    expect(logged.message).toBe(`401 with Authorization: Bearer ${REDACTED}`);
    expect(logged.stack).toContain(`Bearer ${REDACTED}`);
    expect(logged.stack).toContain('log-redaction.test.ts');
    expect(logged.cause.message).toBe(`token endpoint said {"access_token":"${REDACTED}"}`);
    expect(logged.response).toEqual({ headers: { 'set-cookie': REDACTED }, body: `id_token=${REDACTED}` });
    expect(JSON.stringify(second)).toContain(REDACTED);
  });

  it('applies to child loggers (one per SQS record) and their persistent keys', () => {
    const child = logger.createChild({ persistentKeys: { messageId: 'm-1', access_token: JWT } });
    child.error('Record failed', { error: { name: 'AuthConfigError', message: `bad PAT ${PAT}` } });
    expectNoSecret();
    expect(records()[0]).toMatchObject({
      messageId: 'm-1',
      access_token: REDACTED,
      error: { name: 'AuthConfigError', message: `bad PAT ${REDACTED}` },
    });
  });

  it('applies at every level, debug included, and to loggers made with createLogger()', () => {
    const debug = createLogger({ logLevel: 'DEBUG' });
    debug.debug('subject token read', { token: JWT, path: '/var/run/secrets/databricks/token' });
    debug.info(`PAT ${PAT_WITH_SUFFIX}`);
    expectNoSecret();
    expect(records()).toHaveLength(2);
    expect(records()[0]).toMatchObject({ token: REDACTED, path: '/var/run/secrets/databricks/token' });
  });
});
