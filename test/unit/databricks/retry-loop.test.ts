import { describe, expect, it, vi } from 'vitest';
import { healthGate, PROBE_TIMEOUT_MS, WorkspaceHealth } from '../../../shared/databricks/workspace-health.js';
import {
  type AttemptContext,
  type AttemptResult,
  type RetryPolicy,
  runWithRetries,
} from '../../../shared/http/retry-loop.js';
import { DeferError, MIN_ATTEMPT_TIME_MS } from '../../../shared/invocation-deadline.js';

const POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000, requestTimeoutMs: 30_000 };
const NOW = Date.parse('2026-10-21T07:28:00Z');

class GaveUp extends Error {
  constructor(
    readonly lastFailure: string,
    readonly attempts: number,
  ) {
    super(`failed after ${attempts} attempts: ${lastFailure}`);
  }
}

type Step = AttemptResult<string, string> | Error;

/** Runs the loop over scripted outcomes, recording each attempt's context and each sleep. */
async function run(steps: Step[], policy: Partial<RetryPolicy> = {}, random = () => 1) {
  const contexts: AttemptContext[] = [];
  const sleeps: number[] = [];
  const retries: Array<{ attempt: number; delayMs: number; failure: string }> = [];
  const attempt = vi.fn(async (context: AttemptContext) => {
    contexts.push(context);
    const step = steps.shift();
    if (step === undefined) throw new Error('no step scripted');
    if (step instanceof Error) throw step;
    return step;
  });
  const outcome = await runWithRetries(attempt, {
    policy: { ...POLICY, ...policy },
    giveUp: (lastFailure, attempts) => new GaveUp(lastFailure, attempts),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random,
    now: () => NOW,
    onRetry: (event) => retries.push(event),
  }).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return { outcome, contexts, sleeps, retries, calls: attempt.mock.calls.length };
}

const transient = (failure: string, retryAfter?: string): AttemptResult<string, string> => ({
  outcome: 'transient',
  failure,
  retryAfter,
});
const success = (value: string): AttemptResult<string, string> => ({ outcome: 'success', value });

describe('runWithRetries: attempt counting', () => {
  it('returns the first success without sleeping', async () => {
    const { outcome, calls, sleeps } = await run([success('ok')]);
    expect(outcome).toEqual({ value: 'ok' });
    expect(calls).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it('numbers attempts from 1 and succeeds after transient failures', async () => {
    const { outcome, contexts, retries } = await run([transient('a'), transient('b'), success('ok')]);
    expect(outcome).toEqual({ value: 'ok' });
    expect(contexts.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(retries.map((r) => [r.attempt, r.failure])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  it('gives up after maxAttempts with the last failure and the attempt count, never attempting more', async () => {
    const steps = ['1', '2', '3', '4', '5', '6'].map((f) => transient(f));
    const { outcome, calls, sleeps } = await run(steps);
    expect(calls).toBe(4);
    expect(sleeps).toHaveLength(3);
    expect((outcome as { error: GaveUp }).error).toMatchObject({ lastFailure: '4', attempts: 4 });
    expect((outcome as { error: GaveUp }).error.message).toBe('failed after 4 attempts: 4');
  });

  it.each([1, 2, 5])('makes exactly maxAttempts=%i attempts when every one fails', async (maxAttempts) => {
    const steps = Array.from({ length: 10 }, (_, i) => transient(`f${i + 1}`));
    const { outcome, calls, sleeps } = await run(steps, { maxAttempts });
    expect(calls).toBe(maxAttempts);
    expect(sleeps).toHaveLength(maxAttempts - 1);
    expect((outcome as { error: GaveUp }).error).toMatchObject({
      attempts: maxAttempts,
      lastFailure: `f${maxAttempts}`,
    });
  });

  it('propagates a thrown (permanent) error at once', async () => {
    const permanent = new Error('400 bad request');
    const { outcome, calls, sleeps } = await run([transient('a'), permanent, success('never')]);
    expect(outcome).toEqual({ error: permanent });
    expect(calls).toBe(2);
    expect(sleeps).toHaveLength(1);
  });

  it('repeats once without counting an attempt or sleeping', async () => {
    const steps: Step[] = [{ outcome: 'repeat' }, transient('1'), transient('2'), transient('3'), transient('4')];
    const { outcome, contexts, sleeps } = await run(steps);
    expect(contexts.map((c) => c.attempt)).toEqual([1, 1, 2, 3, 4]);
    expect(sleeps).toHaveLength(3);
    expect((outcome as { error: GaveUp }).error).toMatchObject({ attempts: 4, lastFailure: '4' });
  });

  it('refuses a second free repeat instead of looping', async () => {
    const { outcome, calls } = await run([{ outcome: 'repeat' }, { outcome: 'repeat' }, success('never')]);
    expect((outcome as { error: Error }).error.message).toMatch(/more than 1 immediate repeat/);
    expect(calls).toBe(2);
  });
});

describe('runWithRetries: backoff', () => {
  it('doubles the full-jitter ceiling per failed attempt, up to maxDelayMs', async () => {
    const steps = Array.from({ length: 6 }, () => transient('x'));
    const { sleeps } = await run(steps, { maxAttempts: 6, maxDelayMs: 1000 });
    expect(sleeps).toEqual([100, 200, 400, 800, 1000]);
  });

  it('draws the delay from the injected random', async () => {
    const { sleeps } = await run([transient('x'), transient('x'), success('ok')], {}, () => 0.5);
    expect(sleeps).toEqual([50, 100]);
  });

  it('reports each delay to onRetry before sleeping', async () => {
    const { retries, sleeps } = await run([transient('x'), success('ok')], {}, () => 0.5);
    expect(retries).toEqual([{ attempt: 1, delayMs: 50, failure: 'x' }]);
    expect(sleeps).toEqual([50]);
  });
});

describe('runWithRetries: Retry-After', () => {
  it('uses Retry-After seconds as a floor over the jitter', async () => {
    const { sleeps } = await run([transient('429', '0'), transient('429', '3'), success('ok')], {
      maxDelayMs: 10_000,
    });
    expect(sleeps).toEqual([100, 3000]);
  });

  it('honours an HTTP-date Retry-After against the injected clock', async () => {
    const { sleeps } = await run([transient('503', 'Wed, 21 Oct 2026 07:28:07 GMT'), success('ok')], {
      maxDelayMs: 10_000,
    });
    expect(sleeps).toEqual([7000]);
  });

  it('waits out a Retry-After up to retryAfterCapMs (else maxDelayMs); a longer one defers the record instead', async () => {
    expect((await run([transient('429', '5'), success('ok')], { retryAfterCapMs: 5000 })).sleeps).toEqual([5000]);
    const longer = await run([transient('429', '3600'), success('ok')]);
    expect(longer.outcome).toEqual({ error: expect.any(DeferError) });
    expect((longer.outcome as { error: DeferError }).error.delaySeconds).toBe(900);
    expect(longer.sleeps).toEqual([]);
    const beyondCap = await run([transient('429', '6'), success('ok')], { retryAfterCapMs: 5000 });
    expect((beyondCap.outcome as { error: DeferError }).error.delaySeconds).toBe(6);
  });

  it('ignores an unparseable Retry-After', async () => {
    const { sleeps } = await run([transient('429', 'soon'), success('ok')]);
    expect(sleeps).toEqual([100]);
  });
});

describe('runWithRetries: per-attempt timeout', () => {
  it('hands every attempt its own AbortSignal, the same one however often it is asked for', async () => {
    const { contexts } = await run([transient('a'), { outcome: 'repeat' }, success('ok')]);
    const signals = contexts.map((c) => c.timeoutSignal());
    expect(signals.every((s) => s instanceof AbortSignal && !s.aborted)).toBe(true);
    expect(new Set(signals).size).toBe(3);
    expect(contexts[0]?.timeoutSignal()).toBe(signals[0]);
  });

  it('aborts a hung attempt after requestTimeoutMs with a TimeoutError, then retries with a fresh signal', async () => {
    const reasons: unknown[] = [];
    let attempts = 0;
    const value = await runWithRetries<string, string>(
      async ({ timeoutSignal }) => {
        attempts++;
        const signal = timeoutSignal();
        if (attempts === 1) {
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          reasons.push(signal.reason);
          return { outcome: 'transient', failure: 'timeout' };
        }
        expect(signal.aborted).toBe(false);
        return { outcome: 'success', value: 'second' };
      },
      {
        policy: { ...POLICY, requestTimeoutMs: 20 },
        giveUp: (f, n) => new GaveUp(f, n),
        sleep: async () => undefined,
      },
    );
    expect(value).toBe('second');
    expect(attempts).toBe(2);
    expect(reasons).toHaveLength(1);
    expect((reasons[0] as DOMException).name).toBe('TimeoutError');
  });

  it('starts the timeout when the attempt first asks for the signal, not when the attempt starts', async () => {
    let abortedAtStart: boolean | undefined;
    await runWithRetries<string, string>(
      async ({ timeoutSignal }) => {
        await new Promise((resolve) => setTimeout(resolve, 40)); // e.g. fetching a token first
        const signal = timeoutSignal();
        abortedAtStart = signal.aborted;
        return { outcome: 'success', value: 'ok' };
      },
      { policy: { ...POLICY, requestTimeoutMs: 20 }, giveUp: (f, n) => new GaveUp(f, n) },
    );
    expect(abortedAtStart).toBe(false);
  });
});

describe('runWithRetries: within the invocation deadline', () => {
  const base = {
    policy: POLICY,
    giveUp: (lastFailure: string, attempts: number) => new GaveUp(lastFailure, attempts),
    now: () => NOW,
    random: () => 1,
  };
  const settle = (promise: Promise<unknown>) =>
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );

  it('starts no attempt with less than MIN_ATTEMPT_TIME_MS left: the record is deferred, nothing is called', async () => {
    const attempt = vi.fn(async () => success('ok'));
    const result = await settle(
      runWithRetries(attempt, { ...base, remainingMs: () => MIN_ATTEMPT_TIME_MS - 1, what: 'Databricks runs/get' }),
    );
    expect(result).toEqual({ error: expect.any(DeferError) });
    expect((result as { error: DeferError }).error.message).toMatch(/No time left .* Databricks runs\/get/);
    expect(attempt).not.toHaveBeenCalled();
  });

  it("sizes each attempt's timeout to the time left, never the policy's when less is left", async () => {
    const timeouts: number[] = [];
    let left = 5000;
    await runWithRetries(
      async ({ timeoutSignal }) => {
        const signal = timeoutSignal();
        timeouts.push(left);
        expect(signal.aborted).toBe(false);
        return success('ok');
      },
      { ...base, remainingMs: () => left },
    );
    expect(timeouts).toEqual([5000]);
    left = 1500;
    const started = Date.now();
    const aborted = await settle(
      runWithRetries(
        ({ timeoutSignal }) =>
          new Promise((_, reject) => {
            timeoutSignal().addEventListener('abort', () => reject(timeoutSignal().reason));
          }),
        { ...base, remainingMs: () => left },
      ),
    );
    // The 30 s policy timeout was cut to what was left: the attempt ended long before 30 s.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect((aborted as { error: Error }).error.name).toBe('TimeoutError');
  });

  it('defers instead of sleeping past the deadline between attempts', async () => {
    const sleeps: number[] = [];
    const result = await settle(
      runWithRetries(async () => transient('503'), {
        ...base,
        policy: { ...POLICY, baseDelayMs: 4000, maxDelayMs: 4000 },
        remainingMs: () => 3000,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      }),
    );
    expect((result as { error: DeferError }).error).toBeInstanceOf(DeferError);
    expect((result as { error: DeferError }).error.delaySeconds).toBe(4);
    expect(sleeps).toEqual([]);
  });

  it('asks the workspace health before each attempt and tells it how each went', async () => {
    const events: string[] = [];
    const health = {
      admit: () => events.push('admit'),
      succeeded: () => events.push('ok'),
      failed: (timedOut: boolean) => events.push(timedOut ? 'timed out' : 'failed'),
      released: () => events.push('released'),
    };
    const steps: Step[] = [transient('503'), success('ok')];
    await runWithRetries(async () => steps.shift() as AttemptResult<string, string>, {
      ...base,
      health,
      sleep: async () => undefined,
    });
    expect(events).toEqual(['admit', 'failed', 'admit', 'ok']);
  });

  it('an unhealthy workspace is not called: its DeferError ends the call', async () => {
    const attempt = vi.fn(async () => success('ok'));
    const health = {
      admit: () => {
        throw new DeferError('unhealthy', 30, { reason: 'workspace-unhealthy' });
      },
      succeeded: () => undefined,
      failed: () => undefined,
      released: () => undefined,
    };
    const result = await settle(runWithRetries(attempt, { ...base, health }));
    expect((result as { error: DeferError }).error.delaySeconds).toBe(30);
    expect(attempt).not.toHaveBeenCalled();
  });
});

describe('runWithRetries and the workspace call budget', () => {
  const base = {
    policy: POLICY,
    giveUp: (lastFailure: string, attempts: number) => new GaveUp(lastFailure, attempts),
    sleep: async () => undefined,
    random: () => 0,
  };

  it('gives every attempt a slot, a credential refresh’s repeat included, taken right before its request', async () => {
    const steps: AttemptResult<string, string>[] = [
      { outcome: 'transient', failure: '503' },
      { outcome: 'repeat' },
      { outcome: 'success', value: 'ok' },
    ];
    const order: string[] = [];
    const budget = {
      take: vi.fn(async () => {
        order.push('slot');
      }),
    };
    const attempt = vi.fn(async ({ takeSlot }: AttemptContext) => {
      order.push('token');
      await takeSlot();
      order.push('request');
      return steps.shift() as AttemptResult<string, string>;
    });
    await expect(runWithRetries(attempt, { ...base, budget, remainingMs: () => 60_000 })).resolves.toBe('ok');
    expect(order).toEqual(['token', 'slot', 'request', 'token', 'slot', 'request', 'token', 'slot', 'request']);
    expect(budget.take).toHaveBeenCalledWith(60_000);
  });

  it('makes no request when the budget defers the call, and does not count it for or against the workspace', async () => {
    const budget = {
      take: vi.fn(async () => Promise.reject(new DeferError('booked 40 s ahead', 40, { reason: 'budget' }))),
    };
    const health = { admit: vi.fn(), succeeded: vi.fn(), failed: vi.fn(), released: vi.fn() };
    const request = vi.fn();
    const attempt = vi.fn(async ({ takeSlot }: AttemptContext) => {
      await takeSlot();
      request();
      return { outcome: 'success', value: 'ok' } as const;
    });
    await expect(runWithRetries(attempt, { ...base, budget, health })).rejects.toMatchObject({ delaySeconds: 40 });
    expect(request).not.toHaveBeenCalled();
    expect(health.succeeded).not.toHaveBeenCalled();
    expect(health.failed).not.toHaveBeenCalled();
    // An admitted probe is handed back, so the next call can probe.
    expect(health.released).toHaveBeenCalledTimes(1);
  });

  it('defers instead of requesting when waiting for the slot used up the invocation', async () => {
    let left = 10_000;
    const budget = {
      take: vi.fn(async () => {
        left = MIN_ATTEMPT_TIME_MS - 1;
      }),
    };
    const request = vi.fn();
    const attempt = vi.fn(async ({ takeSlot }: AttemptContext) => {
      await takeSlot();
      request();
      return { outcome: 'success', value: 'ok' } as const;
    });
    const error = await runWithRetries(attempt, { ...base, budget, remainingMs: () => left }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeferError);
    expect(request).not.toHaveBeenCalled();
  });

  it('refuses an attempt that skipped its slot: a bug that would break the budget', async () => {
    const budget = { take: vi.fn(async () => undefined) };
    const attempt = vi.fn(async () => ({ outcome: 'success', value: 'ok' }) as const);
    await expect(runWithRetries(attempt, { ...base, budget })).rejects.toThrow(/without its budget slot/);
  });
});

describe('runWithRetries and a probe of an unhealthy workspace (real WorkspaceHealth)', () => {
  const WS = 'https://dbc-probe.cloud.databricks.com';
  const base = {
    policy: POLICY,
    giveUp: (lastFailure: string, attempts: number) => new GaveUp(lastFailure, attempts),
    sleep: async () => undefined,
    random: () => 0,
  };
  const openWorkspace = () => {
    let now = NOW;
    const health = new WorkspaceHealth({ failuresToOpen: 1, firstBackoffMs: 10_000, maxBackoffMs: 40_000 }, () => now);
    health.failed(WS);
    now += 10_000;
    return { health, gate: healthGate(health, WS), later: (ms: number) => (now += ms) };
  };

  it('a probe whose credential is refreshed once is not refused by its own probing', async () => {
    const { health, gate } = openWorkspace();
    const steps: AttemptResult<string, string>[] = [{ outcome: 'repeat' }, { outcome: 'success', value: 'ok' }];
    await expect(
      runWithRetries(async () => steps.shift() as AttemptResult<string, string>, { ...base, health: gate }),
    ).resolves.toBe('ok');
    expect(health.isUnhealthy(WS)).toBe(false);
  });

  it('a probe deferred by the budget hands the probe back: the next call probes', async () => {
    const { health, gate } = openWorkspace();
    const budget = { take: async () => Promise.reject(new DeferError('booked', 5, { reason: 'budget' })) };
    const deferred = runWithRetries(
      async ({ takeSlot }: AttemptContext) => {
        await takeSlot();
        return success('never');
      },
      { ...base, health: gate, budget },
    );
    await expect(deferred).rejects.toBeInstanceOf(DeferError);
    const next = runWithRetries(async () => success('ok'), { ...base, health: gate });
    await expect(next).resolves.toBe('ok');
    expect(health.isUnhealthy(WS)).toBe(false);
  });

  it('a probe that never reports back is given up on after PROBE_TIMEOUT_MS', () => {
    const { health, later } = openWorkspace();
    health.admit(WS);
    expect(() => health.admit(WS)).toThrow(DeferError);
    later(PROBE_TIMEOUT_MS);
    expect(() => health.admit(WS)).not.toThrow();
  });
});
