import { request as httpsRequest } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type EmulatorServer,
  type EmulatorServerOptions,
  FaultQueue,
  startEmulatorServer,
} from '../../../infra/local/emulators/emulator-server.js';
import { createEmulatorCertificates } from '../../../infra/local/emulators/emulator-tls.js';

interface Entry {
  method: string;
  path: string;
  status: number;
  note?: string;
}

describe('emulator server skeleton', () => {
  const servers: EmulatorServer<Entry>[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function start(overrides: Partial<EmulatorServerOptions<Entry>> = {}): Promise<EmulatorServer<Entry>> {
    const server = await startEmulatorServer<Entry>({
      handle: (x) => {
        x.log.note = 'handled';
        return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: `${x.method} ${x.text()}` };
      },
      record: (x, status) => ({ method: x.method, path: x.url.pathname, status, ...x.log }),
      ...overrides,
    });
    servers.push(server);
    return server;
  }

  it('listens on 127.0.0.1 on a free port, hands the body to the handler and logs the request', async () => {
    const server = await start();
    const response = await fetch(`${server.url}/things?x=1`, { method: 'POST', body: 'hello' });

    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('10');
    expect(await response.text()).toBe('POST hello');
    expect(server.requests).toEqual([{ method: 'POST', path: '/things', status: 200, note: 'handled' }]);
  });

  it('answers a body over the limit with 413 and never calls the handler', async () => {
    let called = false;
    const server = await start({
      maxBodyBytes: 8,
      handle: () => {
        called = true;
        return { status: 200 };
      },
    });
    const response = await fetch(server.url, { method: 'POST', body: 'x'.repeat(100) });

    expect(response.status).toBe(413);
    expect(called).toBe(false);
    expect(server.requests.at(-1)?.status).toBe(413);
  });

  it('plays queued faults per route, then falls back to "any", then serves normally', async () => {
    const faults = new FaultQueue<'a' | 'b'>();
    const server = await start({
      fault: (x) => faults.take(x.url.pathname === '/a' ? 'a' : 'b'),
      faultReply: (fault) => ({ status: fault.status, body: `fault ${fault.status}` }),
    });
    faults.inject('a', [{ status: 503 }]);
    faults.inject('any', [{ status: 429 }]);

    const first = await fetch(`${server.url}/a`);
    const second = await fetch(`${server.url}/a`);
    const third = await fetch(`${server.url}/a`);

    expect([first.status, await first.text()]).toEqual([503, 'fault 503']);
    expect(second.status).toBe(429);
    expect(third.status).toBe(200);
    expect(faults.pending('a') + faults.pending('any')).toBe(0);
    expect(server.requests.map((r) => [r.status, r.note])).toEqual([
      [503, undefined],
      [429, undefined],
      [200, 'handled'],
    ]);
  });

  it('resets before or after handling, and logs status 0', async () => {
    const queue: ('reset' | 'reset-after')[] = ['reset', 'reset-after'];
    const server = await start({ fault: () => queue.shift() });

    await expect(fetch(server.url)).rejects.toThrow();
    await expect(fetch(server.url)).rejects.toThrow();
    expect(server.requests.map((r) => [r.status, r.note])).toEqual([
      [0, undefined],
      [0, 'handled'],
    ]);
  });

  it('delays an answer, sends a slow body late, and leaves a hung request to the client or close()', async () => {
    const queue = [{ delayMs: 150 }, { slowBodyMs: 150 }, 'hang' as const];
    const server = await start({ fault: () => queue.shift() });

    const started = Date.now();
    expect((await fetch(server.url)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    const slow = await fetch(server.url);
    const headersAt = Date.now();
    expect(slow.status).toBe(200);
    await slow.text();
    expect(Date.now() - headersAt).toBeGreaterThanOrEqual(100);

    const hung = fetch(server.url, { signal: AbortSignal.timeout(200) });
    await expect(hung).rejects.toThrow();
    expect(server.requests.at(-1)?.status).toBe(0);
  });

  it('answers a throwing handler with internalError (default 500)', async () => {
    const server = await start({
      handle: () => {
        throw new Error('boom');
      },
    });
    const response = await fetch(server.url);

    expect(response.status).toBe(500);
    expect(await response.text()).toContain('boom');
    expect(server.requests.at(-1)?.status).toBe(500);
  });

  it("destroys the socket when internalError answers 'reset', recording 0", async () => {
    const server = await start({
      handle: () => {
        throw new Error('boom');
      },
      internalError: () => 'reset',
    });

    await expect(fetch(server.url)).rejects.toThrow();
    expect(server.requests.at(-1)?.status).toBe(0);
  });

  it('sends headers only for HEAD', async () => {
    const server = await start();
    const response = await fetch(server.url, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('serves TLS with a generated CA that a verifying client trusts', async () => {
    const certificates = createEmulatorCertificates();
    const server = await start({ tls: { key: certificates.key, cert: certificates.cert } });
    const get = (ca?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest(server.url, { ca }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });

    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(certificates.caCert).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(await get(certificates.caCert)).toBe(200);
    await expect(get(createEmulatorCertificates().caCert)).rejects.toThrow(/self.signed|unable to verify|certificate/i);
  });
});
