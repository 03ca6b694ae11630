import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOidcIssuer,
  type ServedOidcIssuer,
  serveOidcIssuer,
} from '../../../infra/local/emulators/oidc-issuer.js';

describe('OIDC issuer', () => {
  let served: ServedOidcIssuer;

  beforeAll(async () => {
    served = await serveOidcIssuer({ algorithm: 'RS256' });
  });
  afterAll(async () => {
    await served.close();
  });

  it('serves a discovery document whose jwks_uri verifies the tokens it signs', async () => {
    const discovery = (await (await fetch(`${served.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    const token = await served.issuer.sign({
      sub: 'system:serviceaccount:flyte:connector',
      aud: 'databricks',
      expiresInSeconds: 600,
    });
    const { payload, protectedHeader } = await jwtVerify(
      token,
      createRemoteJWKSet(new URL(String(discovery.jwks_uri))),
      {
        issuer: served.url,
        audience: 'databricks',
      },
    );

    expect(discovery).toEqual({
      issuer: served.url,
      jwks_uri: `${served.url}/.well-known/jwks.json`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
    expect(protectedHeader).toEqual({ alg: 'RS256', kid: served.issuer.kid });
    expect(payload.sub).toBe('system:serviceaccount:flyte:connector');
    expect((payload.exp as number) - (payload.iat as number)).toBe(600);
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('publishes public keys only, with kid, use and alg', async () => {
    const response = await fetch(`${served.url}/.well-known/jwks.json`);
    const jwks = (await response.json()) as { keys: Record<string, unknown>[] };

    expect(response.headers.get('content-type')).toBe('application/jwk-set+json');
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', kid: served.issuer.kid, use: 'sig', alg: 'RS256', e: 'AQAB' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
    expect(jwks.keys[0]).not.toHaveProperty('p');
  });

  it('answers other paths with 404', async () => {
    const response = await fetch(`${served.url}/keys`);
    expect(response.status).toBe(404);
  });

  it('rejects expired tokens and tokens for another audience at verification', async () => {
    const jwks = createLocalJWKSet(served.issuer.jwks());
    const expired = await served.issuer.sign({ sub: 's', aud: 'databricks', expiresInSeconds: -60 });
    const valid = await served.issuer.sign({ sub: 's', aud: ['a', 'b'], expiresInSeconds: 60 });

    await expect(jwtVerify(expired, jwks, { issuer: served.url })).rejects.toBeInstanceOf(errors.JWTExpired);
    await expect(jwtVerify(valid, jwks, { audience: 'databricks' })).rejects.toBeInstanceOf(
      errors.JWTClaimValidationFailed,
    );
    expect((await jwtVerify(valid, jwks, { audience: 'b' })).payload.aud).toEqual(['a', 'b']);
  });

  it('keeps the old key published after rotation unless told to drop it', async () => {
    const issuer = await createOidcIssuer({ issuerUrl: 'https://issuer.example/', kid: 'k1' });
    const before = await issuer.sign({ sub: 's', aud: 'x', expiresInSeconds: 60 });
    const kid2 = await issuer.rotateKey({ kid: 'k2' });
    const after = await issuer.sign({ sub: 's', aud: 'x', expiresInSeconds: 60 });

    expect(issuer.issuer).toBe('https://issuer.example');
    expect(kid2).toBe('k2');
    expect(decodeProtectedHeader(before).kid).toBe('k1');
    expect(decodeProtectedHeader(after).kid).toBe('k2');
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual(['k2', 'k1']);
    await expect(jwtVerify(before, createLocalJWKSet(issuer.jwks()))).resolves.toBeDefined();

    await issuer.rotateKey({ kid: 'k3', keepPrevious: false });
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual(['k3']);
    await expect(jwtVerify(before, createLocalJWKSet(issuer.jwks()))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  });

  it.each(['ES256', 'ES384'] as const)('signs with %s and advertises it', async (algorithm) => {
    const issuer = await createOidcIssuer({ issuerUrl: 'https://issuer.example', algorithm, typ: 'JWT' });
    const token = await issuer.sign({ sub: 's', aud: 'x', expiresInSeconds: 60, notBefore: false, jti: false });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(issuer.jwks()), {
      algorithms: [algorithm],
    });

    expect(protectedHeader).toMatchObject({ alg: algorithm, typ: 'JWT' });
    expect(issuer.jwks().keys[0]).toMatchObject({ kty: 'EC', crv: algorithm === 'ES256' ? 'P-256' : 'P-384' });
    expect(issuer.discovery().id_token_signing_alg_values_supported).toEqual([algorithm]);
    expect(payload).not.toHaveProperty('nbf');
    expect(payload).not.toHaveProperty('jti');
  });

  it('HS256 publishes no key; a JWKS-based verifier refuses the symmetric algorithm', async () => {
    const issuer = await createOidcIssuer({ issuerUrl: 'https://issuer.example', algorithm: 'HS256' });
    const token = await issuer.sign({ sub: 's', aud: 'databricks', expiresInSeconds: 60 });

    expect(decodeProtectedHeader(token).alg).toBe('HS256');
    expect(issuer.jwks()).toEqual({ keys: [] });
    await expect(jwtVerify(token, createLocalJWKSet(issuer.jwks()))).rejects.toBeInstanceOf(errors.JOSENotSupported);
  });

  it('lets extra claims override standard ones for negative tests', async () => {
    const issuer = await createOidcIssuer({ issuerUrl: 'https://issuer.example' });
    const token = await issuer.sign({
      sub: 's',
      aud: 'x',
      expiresInSeconds: 60,
      extra: { iss: 'https://evil.example', custom: { a: 1 } },
    });
    const { payload } = await jwtVerify(token, createLocalJWKSet(issuer.jwks()));

    expect(payload.iss).toBe('https://evil.example');
    expect(payload.custom).toEqual({ a: 1 });
    await expect(jwtVerify(token, createLocalJWKSet(issuer.jwks()), { issuer: issuer.issuer })).rejects.toBeInstanceOf(
      errors.JWTClaimValidationFailed,
    );
  });
});
