import { createHash, createHmac } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { createEksToken, EKS_TOKEN_LIFETIME_MS, stsHostname } from '../../../shared/kube/eks-token.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const signedAt = new Date('2026-03-04T05:06:07Z');

function decode(token: string): URL {
  expect(token.startsWith('k8s-aws-v1.')).toBe(true);
  const payload = token.slice('k8s-aws-v1.'.length);
  expect(payload).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no '=' padding
  return new URL(Buffer.from(payload, 'base64url').toString('utf8'));
}

/** SigV4 for a presigned GET, computed from scratch with node:crypto: does the URL carry a valid signature? */
function expectedSignature(url: URL, clusterName: string, secretAccessKey: string): string {
  const params = [...url.searchParams.entries()].filter(([key]) => key !== 'X-Amz-Signature');
  const enc = (v: string) =>
    encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalQuery = params
    .map(([k, v]) => [enc(k), enc(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signedHeaders = url.searchParams.get('X-Amz-SignedHeaders') ?? '';
  const headerValues: Record<string, string> = { host: url.host, 'x-k8s-aws-id': clusterName };
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((h) => `${h}:${headerValues[h]}\n`)
    .join('');
  const emptyPayload = createHash('sha256').update('').digest('hex');
  const canonicalRequest = ['GET', '/', canonicalQuery, canonicalHeaders, signedHeaders, emptyPayload].join('\n');
  const amzDate = url.searchParams.get('X-Amz-Date') ?? '';
  const [, date, region, service] = (url.searchParams.get('X-Amz-Credential') ?? '').split('/') as string[];
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secretAccessKey}`)
    .update(date ?? '')
    .digest();
  for (const part of [region ?? '', service ?? '', 'aws4_request'])
    key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

describe('Function: createEksToken()', () => {
  it('presigns STS GetCallerIdentity for the cluster, as aws-iam-authenticator does', async () => {
    const { token } = await createEksToken({
      clusterName: 'flyte-prod',
      region: 'eu-west-1',
      credentials,
      now: () => signedAt,
    });

    const url = decode(token);
    expect(url.protocol).toBe('https:');
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    const q = url.searchParams;
    expect(q.get('Action')).toBe('GetCallerIdentity');
    expect(q.get('Version')).toBe('2011-06-15');
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20260304/eu-west-1/sts/aws4_request');
    expect(q.get('X-Amz-Date')).toBe('20260304T050607Z');
    expect(q.get('X-Amz-Expires')).toBe('60');
    expect(q.get('X-Amz-SignedHeaders')?.split(';')).toEqual(['host', 'x-k8s-aws-id']);
    expect(q.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    // Only the parameters the authenticator whitelists.
    expect([...q.keys()].sort()).toEqual([
      'Action',
      'Version',
      'X-Amz-Algorithm',
      'X-Amz-Credential',
      'X-Amz-Date',
      'X-Amz-Expires',
      'X-Amz-Signature',
      'X-Amz-SignedHeaders',
    ]);
  });

  it('carries a signature that verifies, both from scratch and by re-presigning at the same date', async () => {
    const { token } = await createEksToken({
      clusterName: 'flyte-prod',
      region: 'us-east-1',
      credentials,
      now: () => signedAt,
    });
    const url = decode(token);
    const signature = url.searchParams.get('X-Amz-Signature');

    expect(signature).toBe(expectedSignature(url, 'flyte-prod', credentials.secretAccessKey));
    // Bound to the cluster: the same URL signed for another cluster name would not verify.
    expect(signature).not.toBe(expectedSignature(url, 'other-cluster', credentials.secretAccessKey));

    const signer = new SignatureV4({
      service: 'sts',
      region: 'us-east-1',
      credentials,
      sha256: Hash.bind(null, 'sha256'),
    });
    const again = await signer.presign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname: 'sts.us-east-1.amazonaws.com',
        path: '/',
        query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
        headers: { host: 'sts.us-east-1.amazonaws.com', 'x-k8s-aws-id': 'flyte-prod' },
      },
      { expiresIn: 60, signingDate: signedAt },
    );
    expect(again.query?.['X-Amz-Signature']).toBe(signature);
  });

  it('signs the session token of temporary credentials into the URL', async () => {
    const temporary = { ...credentials, sessionToken: 'FwoGZXIvYXdzEXAMPLE+/=session' };
    const { token } = await createEksToken({
      clusterName: 'c',
      region: 'us-west-2',
      credentials: async () => temporary,
      now: () => signedAt,
    });
    const url = decode(token);
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe(temporary.sessionToken);
    expect(url.searchParams.get('X-Amz-Signature')).toBe(expectedSignature(url, 'c', credentials.secretAccessKey));
  });

  it('expires 14 minutes after signing', async () => {
    const { expiresAt } = await createEksToken({
      clusterName: 'c',
      region: 'us-east-1',
      credentials,
      now: () => signedAt,
    });
    expect(expiresAt.getTime() - signedAt.getTime()).toBe(14 * 60_000);
    expect(EKS_TOKEN_LIFETIME_MS).toBe(840_000);
  });

  it('uses the partition of the region for the STS host', () => {
    expect(stsHostname('ap-southeast-2')).toBe('sts.ap-southeast-2.amazonaws.com');
    expect(stsHostname('cn-north-1')).toBe('sts.cn-north-1.amazonaws.com.cn');
  });

  it('falls back to the AWS SDK default credential chain (here: the environment)', async () => {
    // vitest.config.ts sets AWS_ACCESS_KEY_ID=local / AWS_SECRET_ACCESS_KEY=local (the local stack's operator) for
    // every test process.
    const { token } = await createEksToken({ clusterName: 'c', region: 'us-east-1', now: () => signedAt });
    const url = decode(token);
    expect(url.searchParams.get('X-Amz-Credential')).toBe('local/20260304/us-east-1/sts/aws4_request');
    expect(url.searchParams.get('X-Amz-Signature')).toBe(expectedSignature(url, 'c', 'local'));
  });
});
