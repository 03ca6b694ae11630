import { describe, expect, it } from 'vitest';
import { TokenCache } from '../../../shared/auth/token-cache.js';
import type { TokenResult } from '../../../shared/auth/token-endpoint.js';
import { AuthConfigError, ConnectorError } from '../../../shared/errors.js';

function clock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** A fetcher that hands out tok-1, tok-2, ... with the given lifetime, counting calls. */
function issuer(expiresInSeconds: number) {
  let calls = 0;
  const fetch = async (): Promise<TokenResult> => ({ accessToken: `tok-${++calls}`, expiresInSeconds });
  return { fetch, calls: () => calls };
}

describe('Class: TokenCache', () => {
  it.each([
    // lifetime s, reused until (ms after fetch), margin = min(60 s, lifetime / 2)
    [3600, 3_540_000],
    [300, 240_000],
    [90, 45_000],
    [60, 30_000],
    [10, 5_000],
  ])('reuses a %i s token until the margin before expiry', async (lifetime, reusedUntil) => {
    const time = clock();
    const cache = new TokenCache({ now: time.now });
    const source = issuer(lifetime);
    await expect(cache.get('k', source.fetch)).resolves.toBe('tok-1');
    time.advance(reusedUntil - 1);
    await expect(cache.get('k', source.fetch)).resolves.toBe('tok-1');
    time.advance(1);
    await expect(cache.get('k', source.fetch)).resolves.toBe('tok-2');
    expect(source.calls()).toBe(2);
  });

  it('never reuses a token that came with no lifetime', async () => {
    const cache = new TokenCache({ now: clock().now });
    const source = issuer(0);
    await cache.get('k', source.fetch);
    await expect(cache.get('k', source.fetch)).resolves.toBe('tok-2');
  });

  it('counts the lifetime from before the request, so a slow fetch cannot stretch it', async () => {
    const time = clock();
    const cache = new TokenCache({ now: time.now });
    let calls = 0;
    const slow = async (): Promise<TokenResult> => {
      time.advance(50_000);
      return { accessToken: `tok-${++calls}`, expiresInSeconds: 120 };
    };
    await cache.get('k', slow);
    // Issued during a request started at t0: refresh at t0 + 120 s - 60 s; 50 s have gone by already.
    time.advance(9_999);
    await expect(cache.get('k', slow)).resolves.toBe('tok-1');
    time.advance(1);
    await expect(cache.get('k', slow)).resolves.toBe('tok-2');
  });

  it('keeps one fetch in flight per key; concurrent callers share it', async () => {
    const cache = new TokenCache({ now: clock().now });
    let release: (value: TokenResult) => void = () => undefined;
    let calls = 0;
    const fetch = () => {
      calls++;
      return new Promise<TokenResult>((resolve) => {
        release = resolve;
      });
    };
    const pending = [cache.get('k', fetch), cache.get('k', fetch), cache.get('k', fetch)];
    const other = cache.get('other', async () => ({ accessToken: 'other-token', expiresInSeconds: 3600 }));
    release({ accessToken: 'shared', expiresInSeconds: 3600 });
    await expect(Promise.all(pending)).resolves.toEqual(['shared', 'shared', 'shared']);
    await expect(other).resolves.toBe('other-token');
    expect(calls).toBe(1);
  });

  it('does not cache a failed fetch, and shares the failure with concurrent callers', async () => {
    const cache = new TokenCache({ now: clock().now });
    let calls = 0;
    const failing = async (): Promise<TokenResult> => {
      calls++;
      throw new AuthConfigError('refused');
    };
    const results = await Promise.allSettled([cache.get('k', failing), cache.get('k', failing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toBe(1);
    await expect(cache.get('k', async () => ({ accessToken: 'ok', expiresInSeconds: 60 }))).resolves.toBe('ok');
    expect(cache.size).toBe(1);
  });

  it('inside the margin, falls back to the still-valid token on a transient failure only', async () => {
    const time = clock();
    const cache = new TokenCache({ now: time.now });
    await cache.get('k', async () => ({ accessToken: 'old', expiresInSeconds: 600 }));
    time.advance(570_000); // 30 s before expiry
    const transient = async (): Promise<TokenResult> => {
      throw new ConnectorError('503', { permanent: false });
    };
    await expect(cache.get('k', transient)).resolves.toBe('old');
    const permanent = async (): Promise<TokenResult> => {
      throw new AuthConfigError('secret revoked');
    };
    await expect(cache.get('k', permanent)).rejects.toThrow('secret revoked');
  });

  it('never returns an expired token, even when the refresh fails', async () => {
    const time = clock();
    const cache = new TokenCache({ now: time.now });
    await cache.get('k', async () => ({ accessToken: 'old', expiresInSeconds: 600 }));
    time.advance(600_000);
    const transient = async (): Promise<TokenResult> => {
      throw new ConnectorError('503', { permanent: false });
    };
    await expect(cache.get('k', transient)).rejects.toThrow('503');
  });

  it('invalidate() drops the key only, and a fetch started before it is not stored', async () => {
    const cache = new TokenCache({ now: clock().now });
    const a = issuer(3600);
    const b = issuer(3600);
    await cache.get('a', a.fetch);
    await cache.get('b', b.fetch);
    cache.invalidate('a');
    await expect(cache.get('a', a.fetch)).resolves.toBe('tok-2');
    await expect(cache.get('b', b.fetch)).resolves.toBe('tok-1');

    let release: (value: TokenResult) => void = () => undefined;
    cache.invalidate('c');
    const stale = cache.get('c', () => new Promise<TokenResult>((resolve) => (release = resolve)));
    cache.invalidate('c');
    release({ accessToken: 'from-before-invalidate', expiresInSeconds: 3600 });
    await expect(stale).resolves.toBe('from-before-invalidate');
    await expect(cache.get('c', async () => ({ accessToken: 'fresh', expiresInSeconds: 3600 }))).resolves.toBe('fresh');
  });
});
