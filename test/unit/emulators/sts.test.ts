import {
  GetCallerIdentityCommand,
  GetWebIdentityTokenCommand,
  OutboundWebIdentityFederationDisabledException,
  SessionDurationEscalationException,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StsEmulator, startSts } from '../../../infra/local/emulators/sts.js';

const KEY_ID = 'AKIACONNECTOR';
const SECRET = 'connector-secret';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/flyte-databricks-connector';

describe('STS emulator', () => {
  let sts: StsEmulator;
  let client: STSClient;

  const clientWith = (accessKeyId: string, secretAccessKey: string): STSClient =>
    new STSClient({
      endpoint: sts.url,
      region: 'us-east-1',
      credentials: { accessKeyId, secretAccessKey },
      maxAttempts: 1,
    });
  const failureOf = async (call: Promise<unknown>): Promise<STSServiceException> => {
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(STSServiceException);
    return err as STSServiceException;
  };

  beforeAll(async () => {
    sts = await startSts({
      credentials: { [KEY_ID]: SECRET, AKIAOTHER: 'other-secret' },
      roleArnFor: (keyId) => (keyId === KEY_ID ? ROLE_ARN : `arn:aws:iam::123456789012:user/${keyId}`),
    });
    client = clientWith(KEY_ID, SECRET);
  });
  afterAll(async () => {
    client.destroy();
    await sts.close();
  });

  it('issues an RS256 web identity token that verifies against the issuer JWKS', async () => {
    const before = Math.floor(Date.now() / 1000);
    const out = await client.send(
      new GetWebIdentityTokenCommand({ Audience: ['databricks'], SigningAlgorithm: 'RS256', DurationSeconds: 900 }),
    );
    const token = out.WebIdentityToken ?? '';
    const discovery = (await (await fetch(`${sts.issuer}/.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
      id_token_signing_alg_values_supported: string[];
    };
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: sts.issuer,
      audience: 'databricks',
      algorithms: ['RS256'],
    });

    expect(discovery.jwks_uri).toBe(`${sts.url}/.well-known/jwks.json`);
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['RS256', 'ES384']);
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: sts.issuers.RS256.kid });
    expect(payload).toMatchObject({
      iss: sts.issuer,
      sub: ROLE_ARN,
      aud: 'databricks',
      'https://sts.amazonaws.com/': { aws_account: '123456789012', source_region: 'us-east-1' },
    });
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect((payload.exp as number) - (payload.iat as number)).toBe(900);
    expect(out.Expiration).toBeInstanceOf(Date);
    expect(out.Expiration?.getTime()).toBe((payload.exp as number) * 1000);
    expect(sts.issued.at(-1)).toMatchObject({
      accessKeyId: KEY_ID,
      subject: ROLE_ARN,
      audience: ['databricks'],
      durationSeconds: 900,
      signingAlgorithm: 'RS256',
      token,
    });
  });

  it('defaults the duration to 300 s and lists several audiences in aud', async () => {
    const out = await client.send(new GetWebIdentityTokenCommand({ Audience: ['a', 'b'], SigningAlgorithm: 'RS256' }));
    const { payload } = await jwtVerify(
      out.WebIdentityToken ?? '',
      createRemoteJWKSet(new URL(`${sts.url}/.well-known/jwks.json`)),
      {
        audience: 'b',
      },
    );

    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
    expect(payload.aud).toEqual(['a', 'b']);
  });

  it('signs with ES384 when asked, verifiable from the same JWKS', async () => {
    const out = await client.send(
      new GetWebIdentityTokenCommand({
        Audience: ['databricks'],
        SigningAlgorithm: 'ES384',
        Tags: [{ Key: 'job', Value: 'j-1' }],
      }),
    );
    const token = out.WebIdentityToken ?? '';
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${sts.url}/.well-known/jwks.json`)), {
      issuer: sts.issuer,
      algorithms: ['ES384'],
    });

    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES384', kid: sts.issuers.ES384.kid });
    expect(payload['https://sts.amazonaws.com/']).toMatchObject({ request_tags: { job: 'j-1' } });
  });

  it('rejects other signing algorithms with ValidationError', async () => {
    const hs = await failureOf(
      client.send(new GetWebIdentityTokenCommand({ Audience: ['databricks'], SigningAlgorithm: 'HS256' })),
    );
    const long = await failureOf(
      client.send(new GetWebIdentityTokenCommand({ Audience: ['databricks'], SigningAlgorithm: 'RS2566' })),
    );

    expect(hs.name).toBe('ValidationError');
    expect(hs.$fault).toBe('client');
    expect(hs.$metadata.httpStatusCode).toBe(400);
    expect(hs.message).toContain("'HS256'");
    expect(long.name).toBe('ValidationError');
    expect(long.message).toBe(
      "1 validation error detected: Value 'RS2566' at 'signingAlgorithm' failed to satisfy constraint: Member must have length less than or equal to 5",
    );
  });

  it('rejects durations outside 60..3600 with ValidationError', async () => {
    const short = await failureOf(
      client.send(new GetWebIdentityTokenCommand({ Audience: ['x'], SigningAlgorithm: 'RS256', DurationSeconds: 30 })),
    );
    const long = await failureOf(
      client.send(
        new GetWebIdentityTokenCommand({ Audience: ['x'], SigningAlgorithm: 'RS256', DurationSeconds: 3601 }),
      ),
    );

    expect(short.name).toBe('ValidationError');
    expect(short.message).toBe(
      "1 validation error detected: Value '30' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60",
    );
    expect(long.name).toBe('ValidationError');
    expect(long.message).toContain('less than or equal to 3600');
  });

  it('rejects an empty or oversized audience list with ValidationError', async () => {
    const empty = await failureOf(
      client.send(new GetWebIdentityTokenCommand({ Audience: [], SigningAlgorithm: 'RS256' })),
    );
    const many = await failureOf(
      client.send(
        new GetWebIdentityTokenCommand({
          Audience: Array.from({ length: 11 }, (_, i) => `a${i}`),
          SigningAlgorithm: 'RS256',
        }),
      ),
    );
    expect(empty.name).toBe('ValidationError');
    expect(empty.message).toContain('greater than or equal to 1');
    expect(many.name).toBe('ValidationError');
    expect(many.message).toContain('less than or equal to 10');
  });

  it('denies audiences outside the emulated sts:IdentityTokenAudience condition with AccessDenied', async () => {
    sts.setAllowedAudiences(['databricks']);
    try {
      const denied = await failureOf(
        client.send(new GetWebIdentityTokenCommand({ Audience: ['evil'], SigningAlgorithm: 'RS256' })),
      );
      const allowed = await client.send(
        new GetWebIdentityTokenCommand({ Audience: ['databricks'], SigningAlgorithm: 'RS256' }),
      );

      expect(denied.name).toBe('AccessDenied');
      expect(denied.$metadata.httpStatusCode).toBe(403);
      expect(denied.message).toContain('is not authorized to perform: sts:GetWebIdentityToken');
      expect(allowed.WebIdentityToken).toBeTruthy();
    } finally {
      sts.setAllowedAudiences(undefined);
    }
  });

  it('raises OutboundWebIdentityFederationDisabledException when the account has not enabled it', async () => {
    sts.setOutboundFederationEnabled(false);
    try {
      const err = await failureOf(
        client.send(new GetWebIdentityTokenCommand({ Audience: ['databricks'], SigningAlgorithm: 'RS256' })),
      );
      expect(err).toBeInstanceOf(OutboundWebIdentityFederationDisabledException);
      expect(err.name).toBe('OutboundWebIdentityFederationDisabledException');
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(err.message).toContain('not enabled for this account');
    } finally {
      sts.setOutboundFederationEnabled(true);
    }
  });

  it('rejects wrongly signed and unknown-key requests like STS', async () => {
    const wrongSecret = clientWith(KEY_ID, 'not-the-secret');
    const unknownKey = clientWith('AKIAUNKNOWN', SECRET);
    try {
      const mismatch = await failureOf(wrongSecret.send(new GetCallerIdentityCommand({})));
      const unknown = await failureOf(unknownKey.send(new GetCallerIdentityCommand({})));

      expect(mismatch.name).toBe('SignatureDoesNotMatch');
      expect(mismatch.$metadata.httpStatusCode).toBe(403);
      expect(mismatch.message).toMatch(/^The request signature we calculated does not match/);
      expect(unknown.name).toBe('InvalidClientTokenId');
      expect(unknown.message).toBe('The security token included in the request is invalid.');
    } finally {
      wrongSecret.destroy();
      unknownKey.destroy();
    }
  });

  it('answers an unsigned request with a MissingAuthenticationToken ErrorResponse', async () => {
    const response = await fetch(sts.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetWebIdentityToken&Version=2011-06-15&Audience.member.1=databricks&SigningAlgorithm=RS256',
    });
    const text = await response.text();

    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toBe('text/xml');
    expect(text).toContain('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">');
    expect(text).toContain('<Type>Sender</Type>');
    expect(text).toContain('<Code>MissingAuthenticationToken</Code>');
    expect(text).toContain('<Message>Request is missing Authentication Token</Message>');
    expect(text).toMatch(/<RequestId>[0-9a-f-]{36}<\/RequestId>/);
  });

  it('rejects a request signed more than 15 minutes off the server clock', async () => {
    const skewed = await startSts({ credentials: { [KEY_ID]: SECRET }, clock: () => Date.now() + 20 * 60_000 });
    const skewedClient = new STSClient({
      endpoint: skewed.url,
      region: 'us-east-1',
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
      // One attempt: on a skew error the SDK would correct its clock from the Date header and retry.
      maxAttempts: 1,
    });
    try {
      const err = await failureOf(skewedClient.send(new GetCallerIdentityCommand({})));
      expect(err.name).toBe('SignatureDoesNotMatch');
      expect(err.message).toMatch(
        /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
      );
    } finally {
      skewedClient.destroy();
      await skewed.close();
    }
  });

  it('raises SessionDurationEscalationException when the token would outlive the caller session', async () => {
    const short = await startSts({ credentials: { [KEY_ID]: SECRET }, sessionExpiresAt: () => Date.now() + 120_000 });
    const shortClient = new STSClient({
      endpoint: short.url,
      region: 'us-east-1',
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
      maxAttempts: 1,
    });
    try {
      const err = await failureOf(
        shortClient.send(
          new GetWebIdentityTokenCommand({ Audience: ['databricks'], SigningAlgorithm: 'RS256', DurationSeconds: 300 }),
        ),
      );
      const ok = await shortClient.send(
        new GetWebIdentityTokenCommand({ Audience: ['databricks'], SigningAlgorithm: 'RS256', DurationSeconds: 60 }),
      );
      expect(err).toBeInstanceOf(SessionDurationEscalationException);
      expect(ok.WebIdentityToken).toBeTruthy();
    } finally {
      shortClient.destroy();
      await short.close();
    }
  });

  it('answers GetCallerIdentity with the assumed-role session of a role key, and the user of a user key', async () => {
    const other = clientWith('AKIAOTHER', 'other-secret');
    try {
      const role = await client.send(new GetCallerIdentityCommand({}));
      const user = await other.send(new GetCallerIdentityCommand({}));

      expect(role).toMatchObject({
        Account: '123456789012',
        Arn: `arn:aws:sts::123456789012:assumed-role/flyte-databricks-connector/${KEY_ID}`,
      });
      expect(role.UserId).toMatch(new RegExp(`^AROA[A-Z2-7]{17}:${KEY_ID}$`));
      expect(user).toMatchObject({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/AKIAOTHER' });
      expect(user.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    } finally {
      other.destroy();
    }
  });

  it('accepts a presigned (query-string) GetCallerIdentity GET, and refuses it once tampered', async () => {
    const host = new URL(sts.url).host;
    const signer = new SignatureV4({
      service: 'sts',
      region: 'us-east-1',
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
      sha256: Hash.bind(null, 'sha256'),
    });
    const signed = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: '/',
        query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
        headers: { host },
      },
      { expiresIn: 60 },
    );
    const query = new URLSearchParams(signed.query as Record<string, string>).toString();
    const ok = await fetch(`${sts.url}/?${query}`);
    const tampered = await fetch(`${sts.url}/?${query.replace('GetCallerIdentity', 'GetWebIdentityToken')}`);

    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain(
      `<Arn>arn:aws:sts::123456789012:assumed-role/flyte-databricks-connector/${KEY_ID}</Arn>`,
    );
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('injects STS faults the SDK surfaces as named errors', async () => {
    sts.injectFaults('GetWebIdentityToken', [{ status: 400, code: 'Throttling', message: 'Rate exceeded' }]);
    const err = await failureOf(
      client.send(new GetWebIdentityTokenCommand({ Audience: ['databricks'], SigningAlgorithm: 'RS256' })),
    );
    expect(err.name).toBe('Throttling');
    expect(err.message).toBe('Rate exceeded');
    expect(sts.requests.at(-1)).toMatchObject({ action: 'GetWebIdentityToken', status: 400, code: 'Throttling' });
  });

  it("'reset' destroys the socket and is recorded as 0; the issuer's routes are not recorded", async () => {
    sts.injectFaults('any', ['reset']);
    await expect(
      client.send(new GetWebIdentityTokenCommand({ Audience: ['databricks'], SigningAlgorithm: 'RS256' })),
    ).rejects.toThrow();
    expect(sts.requests.at(-1)).toEqual({ method: 'POST', action: 'GetWebIdentityToken', status: 0 });
    const count = sts.requests.length;
    expect((await fetch(`${sts.url}/.well-known/jwks.json`)).status).toBe(200);
    expect((await fetch(`${sts.url}/nope`)).status).toBe(404);
    expect(sts.requests.slice(count)).toEqual([
      { method: 'GET', action: undefined, status: 404, code: 'UnknownOperationException' },
    ]);
  });
});
