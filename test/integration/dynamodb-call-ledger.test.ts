/**
 * The workspace call ledger on dynalite over a real socket: several containers (ledger instances) reserving at once
 * get distinct slots spaced by their cost, a workspace booked past a call's wait reserves nothing, and workspaces
 * keep separate ledgers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createWorkspaceBudgetTable } from '../../infra/local/jobs-table.js';
import { DynamoDbCallLedger } from '../../shared/databricks/dynamodb-call-ledger.js';
import { useDynalite } from '../support/dynalite.js';

const dynamo = useDynalite();
let tables = 0;

async function budgetTable(): Promise<string> {
  const name = `budget-${++tables}`;
  await createWorkspaceBudgetTable(dynamo.client(), name);
  return name;
}

/** A clock frozen at `atMs`, so slots depend on the ledger alone. */
const frozen = (atMs: number) => () => atMs * 1000;
const T0 = Date.UTC(2026, 11, 6, 12);

describe('DynamoDbCallLedger', () => {
  let table: string;
  beforeAll(async () => {
    table = await budgetTable();
  });

  it('gives 60 concurrent calls from three containers 60 distinct slots, 50 ms apart', async () => {
    const containers = [0, 1, 2].map(() => new DynamoDbCallLedger(dynamo.client(), table, frozen(T0)));
    const reservations = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (containers[i % 3] as DynamoDbCallLedger).reserve('https://ws-a', { costUs: 50_000, maxWaitUs: 10_000_000 }),
      ),
    );
    const slots = reservations.map((r) => ('slotUs' in r ? r.slotUs : Number.NaN)).sort((a, b) => a - b);
    expect(slots.every(Number.isFinite)).toBe(true);
    expect(slots[0]).toBe(T0 * 1000);
    expect(slots.slice(1).map((slot, i) => slot - (slots[i] as number))).toEqual(Array(59).fill(50_000));
  });

  it('refuses, reserving nothing, once the booking is further ahead than the call may wait', async () => {
    const ledger = new DynamoDbCallLedger(dynamo.client(), table, frozen(T0));
    // ws-b: book 1 s ahead (ten 100 ms calls), then ask with a wait of 0.5 s.
    for (let i = 0; i < 10; i++) await ledger.reserve('https://ws-b', { costUs: 100_000, maxWaitUs: 2_000_000 });
    const refused = await ledger.reserve('https://ws-b', { costUs: 100_000, maxWaitUs: 500_000 });
    expect(refused).toEqual({ bookedUntilUs: T0 * 1000 + 1_000_000 });
    // Another container, fresh, sees the same booking and also reserves nothing.
    const other = new DynamoDbCallLedger(dynamo.client(), table, frozen(T0));
    expect(await other.reserve('https://ws-b', { costUs: 100_000, maxWaitUs: 500_000 })).toEqual(refused);
    // A wait long enough gets the slot right after the booking: the refusals took nothing.
    expect(await other.reserve('https://ws-b', { costUs: 100_000, maxWaitUs: 2_000_000 })).toEqual({
      slotUs: T0 * 1000 + 1_000_000,
    });
  });

  it('starts an idle workspace at the present again, whatever was booked long ago', async () => {
    const early = new DynamoDbCallLedger(dynamo.client(), table, frozen(T0));
    await early.reserve('https://ws-c', { costUs: 50_000, maxWaitUs: 0 });
    const later = new DynamoDbCallLedger(dynamo.client(), table, frozen(T0 + 60_000));
    expect(await later.reserve('https://ws-c', { costUs: 50_000, maxWaitUs: 0 })).toEqual({
      slotUs: (T0 + 60_000) * 1000,
    });
    // A container that saw the workspace busy tries the busy write first; later, idle again, it takes the present.
    let clockMs = T0 + 120_000;
    const container = new DynamoDbCallLedger(dynamo.client(), table, () => clockMs * 1000);
    await container.reserve('https://ws-c', { costUs: 50_000, maxWaitUs: 1_000_000 });
    expect(await container.reserve('https://ws-c', { costUs: 50_000, maxWaitUs: 1_000_000 })).toEqual({
      slotUs: clockMs * 1000 + 50_000,
    });
    clockMs += 30_000;
    expect(await container.reserve('https://ws-c', { costUs: 50_000, maxWaitUs: 1_000_000 })).toEqual({
      slotUs: clockMs * 1000,
    });
  });

  it('keeps a ledger per workspace', async () => {
    const ledger = new DynamoDbCallLedger(dynamo.client(), table, frozen(T0));
    for (let i = 0; i < 5; i++) await ledger.reserve('https://ws-d', { costUs: 1_000_000, maxWaitUs: 10_000_000 });
    expect(await ledger.reserve('https://ws-e', { costUs: 1_000_000, maxWaitUs: 0 })).toEqual({ slotUs: T0 * 1000 });
  });
});
