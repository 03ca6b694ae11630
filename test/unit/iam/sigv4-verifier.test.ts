import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import {
  type SigV4Request,
  type SigV4VerifyOptions,
  verifySigV4Request,
} from '../../../infra/local/iam/sigv4-verifier.js';

const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' };
const signer = (service: string) =>
  new SignatureV4({ credentials, region: 'us-east-1', service, sha256: Hash.bind(null, 'sha256') });
const options = (service: string): SigV4VerifyOptions => ({
  region: 'us-east-1',
  service,
  credentials: { AKIAEXAMPLE: 'secret' },
});

/** The SDK's signed request as a server receives it. */
function received(signed: {
  method: string;
  path: string;
  query?: Record<string, unknown>;
  headers: Record<string, string>;
  body?: unknown;
}): SigV4Request {
  const url = new URL(`http://127.0.0.1:9${signed.path}`);
  for (const [key, value] of Object.entries(signed.query ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(one));
  }
  const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: signed.method, url, headers, body: Buffer.from(String(signed.body ?? '')) };
}

describe('verifySigV4Request', () => {
  const base = {
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 9,
    path: '/',
    query: { b: ['2', '1'], a: 'x y' },
    headers: {
      host: '127.0.0.1:9',
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'DynamoDB_20120810.GetItem',
    },
    body: '{"TableName":"t"}',
  };

  it('accepts the SDK header signature and reports the signer', async () => {
    const result = verifySigV4Request(received(await signer('dynamodb').sign(base)), options('dynamodb'));
    expect(result).toEqual({
      ok: true,
      identity: {
        accessKeyId: 'AKIAEXAMPLE',
        region: 'us-east-1',
        service: 'dynamodb',
        sessionToken: undefined,
        presigned: false,
      },
    });
  });

  it('refuses a body altered after signing, a wrong secret, an unknown key and a foreign scope', async () => {
    const request = received(await signer('dynamodb').sign(base));
    const kind = (r: SigV4Request, o = options('dynamodb')) => {
      const result = verifySigV4Request(r, o);
      return result.ok ? 'ok' : result.failure.kind;
    };
    expect(kind({ ...request, body: Buffer.from('{"TableName":"other"}') })).toBe('mismatch');
    expect(kind(request, { ...options('dynamodb'), credentials: { AKIAEXAMPLE: 'other' } })).toBe('mismatch');
    expect(kind(request, { ...options('dynamodb'), credentials: {} })).toBe('unknown-key');
    expect(kind(request, options('sqs'))).toBe('scope');
    expect(kind({ ...request, headers: {} })).toBe('missing');
  });

  it('accepts a presigned URL (an EKS token GetCallerIdentity) and checks its 15-minute window', async () => {
    const presigned = await signer('sts').presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 9,
        path: '/',
        query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
        headers: { host: '127.0.0.1:9', 'x-k8s-aws-id': 'local-eks' },
      },
      { expiresIn: 60 },
    );
    const request = received(presigned);
    const result = verifySigV4Request(request, options('sts'));
    expect(result.ok && result.identity.presigned).toBe(true);
    const later = verifySigV4Request(request, { ...options('sts'), clock: () => Date.now() + 16 * 60_000 });
    expect(later.ok ? '' : later.failure.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    const tampered = new URL(request.url);
    tampered.searchParams.set('Action', 'GetSessionToken');
    expect(verifySigV4Request({ ...request, url: tampered }, options('sts')).ok).toBe(false);
  });
});
