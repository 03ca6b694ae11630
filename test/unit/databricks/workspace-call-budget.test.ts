/**
 * The workspace call budget: the GCRA step, the budget's waits and deferrals on a virtual clock, and the endpoint
 * limits' parsing. The DynamoDB ledger is tested against dynalite in test/integration/dynamodb-call-ledger.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  callCostUs,
  InMemoryCallLedger,
  MAX_WAIT_MS,
  parseEndpointBudgets,
  reserveSlot,
  WorkspaceCallBudget,
} from '../../../shared/databricks/workspace-call-budget.js';
import { DeferError } from '../../../shared/invocation-deadline.js';

const ORIGIN = 'https://dbc-a.cloud.databricks.com';

/** A virtual clock whose sleeps advance it, and the times (ms) calls were let through. */
function virtualBudget(budgetRps: number, endpointRps: Record<string, number> = {}) {
  let nowMs = Date.UTC(2026, 11, 6);
  const ledger = new InMemoryCallLedger(() => nowMs * 1000);
  const budget = new WorkspaceCallBudget(
    ledger,
    { budgetRps, endpointRps },
    {
      now: () => nowMs,
      // Sleeps of concurrent calls overlap on a real clock; here each call runs alone from the same start.
      sleep: async () => undefined,
      random: () => 0,
    },
  );
  return {
    budget,
    ledger,
    advance: (ms: number) => {
      nowMs += ms;
    },
    now: () => nowMs,
  };
}

describe('reserveSlot (the GCRA step)', () => {
  it('gives an idle or unused ledger the present, and moves it on by the cost', () => {
    expect(reserveSlot(undefined, { nowUs: 1000, costUs: 50, latestUs: 2000 })).toEqual({
      slotUs: 1000,
      nextTatUs: 1050,
    });
    expect(reserveSlot(400, { nowUs: 1000, costUs: 50, latestUs: 2000 })).toEqual({ slotUs: 1000, nextTatUs: 1050 });
  });

  it('queues a busy ledger’s call at its time, and refuses a slot later than the latest', () => {
    expect(reserveSlot(1500, { nowUs: 1000, costUs: 50, latestUs: 2000 })).toEqual({ slotUs: 1500, nextTatUs: 1550 });
    expect(reserveSlot(2001, { nowUs: 1000, costUs: 50, latestUs: 2000 })).toEqual({ bookedUntilUs: 2001 });
  });
});

describe('WorkspaceCallBudget', () => {
  it('spaces 100 simultaneous calls by their cost: no second holds more than the ledger books', async () => {
    const { ledger, now } = virtualBudget(20);
    const slots: number[] = [];
    for (let i = 0; i < 100; i++) {
      const reservation = await ledger.reserve(ORIGIN, { costUs: 50_000, maxWaitUs: 60_000_000 });
      if (!('slotUs' in reservation)) throw new Error('booked');
      slots.push(reservation.slotUs / 1000);
    }
    const perSecond = new Map<number, number>();
    for (const slot of slots) perSecond.set(Math.floor(slot / 1000), (perSecond.get(Math.floor(slot / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBe(20);
    // Also for any window of a second, not only aligned ones: consecutive slots are 50 ms apart.
    expect(slots.slice(1).every((slot, i) => slot - (slots[i] as number) === 50)).toBe(true);
    expect(slots[0]).toBe(now());
  });

  it('makes an endpoint with a lower limit cost more of the workspace’s time, booking 90 % of each limit', () => {
    expect(callCostUs({ budgetRps: 20 }, 'runs/get')).toBe(55_556);
    expect(callCostUs({ budgetRps: 20, endpointRps: { 'runs/submit': 5 } }, 'runs/submit')).toBe(222_223);
    expect(callCostUs({ budgetRps: 20, endpointRps: { 'runs/submit': 5 } }, 'runs/get')).toBe(55_556);
    // A limit above the workspace's changes nothing.
    expect(callCostUs({ budgetRps: 20, endpointRps: { token: 100 } }, 'token')).toBe(55_556);
    expect(callCostUs({ budgetRps: 3 }, 'runs/get')).toBe(370_371);
  });

  it('defers, reserving nothing, a call whose slot is further ahead than it may wait', async () => {
    const { budget, ledger } = virtualBudget(1);
    // Book the workspace MAX_WAIT_MS ahead: nine 1.11 s slots (90 % of 1 req/s) take it to 10.0000009 s.
    for (let i = 0; i < 9; i++) await budget.take(ORIGIN, 'runs/get', 60_000);
    const deferred = await budget.take(ORIGIN, 'runs/get', 60_000).catch((error: unknown) => error);
    expect(deferred).toBeInstanceOf(DeferError);
    expect((deferred as DeferError).delaySeconds).toBeGreaterThanOrEqual(MAX_WAIT_MS / 1000);
    expect((deferred as DeferError).message).toMatch(/API budget \(1 req\/s\) is booked \d+ s ahead/);
    // Nothing was reserved by the refusal: the next free slot is still the one right after the booking.
    const next = await ledger.reserve(ORIGIN, { costUs: 1_000_000, maxWaitUs: 20_000_000 });
    expect(next).toEqual({ slotUs: expect.any(Number) });
  });

  it('waits no longer than the invocation has left, less room for the call', async () => {
    const { budget } = virtualBudget(1);
    await budget.take(ORIGIN, 'runs/get', 60_000);
    await budget.take(ORIGIN, 'runs/get', 60_000);
    // The next slot is 2 s away; with 3 s left and 2 s kept for the call, only 1 s may be waited.
    await expect(budget.take(ORIGIN, 'runs/get', 3000)).rejects.toBeInstanceOf(DeferError);
    await expect(budget.take(ORIGIN, 'runs/get', 5000)).resolves.toBeUndefined();
  });

  it('keeps workspaces apart: one booked solid does not slow another', async () => {
    const { budget } = virtualBudget(1);
    for (let i = 0; i < 5; i++) await budget.take(ORIGIN, 'runs/get', 60_000);
    const other = await budget.take('https://dbc-b.cloud.databricks.com', 'runs/get', 1500).catch((e: unknown) => e);
    expect(other).toBeUndefined();
  });

  it('sleeps until the slot on a real timer', async () => {
    const sleeps: number[] = [];
    const budget = new WorkspaceCallBudget(
      new InMemoryCallLedger(),
      { budgetRps: 10 },
      {
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      },
    );
    await budget.take(ORIGIN, 'runs/get', 60_000);
    await budget.take(ORIGIN, 'runs/get', 60_000);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(0);
    expect(sleeps[0]).toBeLessThanOrEqual(112);
  });
});

describe('parseEndpointBudgets (WORKSPACE_ENDPOINT_BUDGETS_RPS)', () => {
  it('reads endpoint=limit pairs', () => {
    expect(parseEndpointBudgets('')).toEqual({ value: {} });
    expect(parseEndpointBudgets(' runs/submit=10 , token=5')).toEqual({ value: { 'runs/submit': 10, token: 5 } });
  });

  it('names the entry it cannot read', () => {
    expect(parseEndpointBudgets('runs/list=3')).toEqual({ problem: expect.stringContaining('"runs/list=3"') });
    expect(parseEndpointBudgets('runs/submit=ten')).toEqual({ problem: expect.stringContaining('runs/submit=ten') });
    expect(parseEndpointBudgets('runs/submit=0')).toEqual({
      problem: 'runs/submit must be at least 1 request a second',
    });
  });
});
