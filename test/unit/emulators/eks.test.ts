import { afterEach, describe, expect, it } from 'vitest';
import { type EksEmulator, startEks } from '../../../infra/local/emulators/eks.js';

describe('EKS emulator', () => {
  let eks: EksEmulator | undefined;
  afterEach(async () => {
    await eks?.close();
  });

  it('describes its one cluster; other names and paths are 404 with the error type header', async () => {
    const cluster = { name: 'demo', endpoint: 'https://127.0.0.1:1', caData: 'Q0E=', oidcIssuer: 'https://oidc' };
    eks = await startEks({ region: 'us-east-1', accountId: '123456789012', cluster });

    const ok = await fetch(`${eks.url}/clusters/demo`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      cluster: {
        name: 'demo',
        arn: 'arn:aws:eks:us-east-1:123456789012:cluster/demo',
        endpoint: cluster.endpoint,
        status: 'ACTIVE',
        certificateAuthority: { data: 'Q0E=' },
        identity: { oidc: { issuer: 'https://oidc' } },
      },
    });
    const missing = await fetch(`${eks.url}/clusters/other`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(await missing.json()).toEqual({ message: 'No cluster found for name: other.', clusterName: 'other' });
    const wrong = await fetch(`${eks.url}/clusters/demo`, { method: 'DELETE' });
    expect(wrong.status).toBe(404);
    expect(wrong.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(await wrong.json()).toEqual({ message: 'Not Found: DELETE /clusters/demo' });
  });
});
