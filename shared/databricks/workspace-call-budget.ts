/**
 * One budget for every Databricks call a workspace gets from the connector: runs/submit, runs/get, runs/cancel and
 * token requests together stay within WORKSPACE_API_BUDGET_RPS, and an endpoint with a lower limit of its own
 * (WORKSPACE_ENDPOINT_BUDGETS_RPS) within that, across every container of every function.
 *
 * How: a ledger per workspace (shared/databricks/dynamodb-call-ledger.ts, one DynamoDB item) holds the time at which
 * the workspace's next call may be made, its "theoretical arrival time" in the generic cell rate algorithm (GCRA). A
 * call reserves the slot at max(that time, now) and moves the time on by its cost, 1/limit seconds (1/20 s at 20
 * req/s; 1/10 s for a runs/submit limited to 10 req/s, which so also counts as two calls against the workspace's
 * budget). Slots are thus spaced by their cost: no second, aligned or not, holds more calls than the budget, which
 * is also what a token-bucket rate limiter on the Databricks side lets through without a 429. A call waits in the
 * invocation until its slot (at most MAX_WAIT_MS, and never past the invocation's deadline); when the ledger is
 * booked further ahead than that, nothing is reserved and the record is deferred (a DeferError: it comes back as a
 * new SQS message when the booking has drained, spending no receive).
 *
 * Why not the poll pacing's rank slots alone (shared/jobs/workspace-pacing.ts): they place the polls of the jobs a
 * snapshot lists, but a job started since shares a neighbour's second, and submits and cancels are not in any
 * layout; with jobs starting and ending all hour the busiest second reached 35 calls against 20. Pacing still
 * spreads the polls so the ledger seldom makes a call wait; the ledger is what makes the budget a guarantee.
 *
 * Cost: one DynamoDB UpdateItem per call on a workspace that is not busy (1 WCU), one when it is (the container
 * remembers that it is, and adds to the booking directly), and a failed conditional write plus a consistent read
 * when the call is deferred. See the README's Performance section.
 */
import { DeferError } from '../invocation-deadline.js';

/** The calls a workspace gets, each with its own optional limit. */
export const BUDGETED_ENDPOINTS = ['runs/submit', 'runs/get', 'runs/get-output', 'runs/cancel', 'token'] as const;
export type BudgetedEndpoint = (typeof BUDGETED_ENDPOINTS)[number];

/** The longest a call waits in the invocation for its slot; a ledger booked further ahead defers the record. */
export const MAX_WAIT_MS = 10_000;
/** Time kept after the slot for the call itself: a slot later than the deadline less this defers. */
const CALL_ROOM_MS = 2000;

/** The outcome of a reservation: the slot (epoch microseconds) to call at, or how far the workspace is booked. */
export type Reservation = { slotUs: number } | { bookedUntilUs: number };

/** A call's reservation: its cost in ledger time, and how long after now its slot may be. */
export interface LedgerRequest {
  costUs: number;
  maxWaitUs: number;
}

/**
 * A workspace's ledger: reserves, atomically across containers, the first slot from now (the ledger's clock, in
 * epoch µs) for a call of `costUs`, unless that slot would be more than `maxWaitUs` away. Keys are workspace origins.
 */
export interface CallLedger {
  reserve(key: string, request: LedgerRequest): Promise<Reservation>;
}

/** The GCRA step on a ledger's time `tatUs` (undefined: never used): the slot, and the time it moves to. */
export function reserveSlot(
  tatUs: number | undefined,
  request: { nowUs: number; costUs: number; latestUs: number },
): { slotUs: number; nextTatUs: number } | { bookedUntilUs: number } {
  const slotUs = tatUs === undefined || tatUs <= request.nowUs ? request.nowUs : tatUs;
  if (slotUs > request.latestUs) return { bookedUntilUs: slotUs };
  return { slotUs, nextTatUs: slotUs + request.costUs };
}

/** A ledger in this process only: exact for one container (tests, the bench's simulations, no table configured). */
export class InMemoryCallLedger implements CallLedger {
  private readonly tats = new Map<string, number>();
  constructor(private readonly nowUs: () => number = () => Date.now() * 1000) {}
  async reserve(key: string, request: LedgerRequest): Promise<Reservation> {
    return this.reserveNow(key, request);
  }
  /** The same, synchronously (the bench's virtual clock). */
  reserveNow(key: string, request: LedgerRequest): Reservation {
    const nowUs = this.nowUs();
    const step = reserveSlot(this.tats.get(key), { nowUs, ...request, latestUs: nowUs + request.maxWaitUs });
    if ('bookedUntilUs' in step) return step;
    this.tats.set(key, step.nextTatUs);
    return { slotUs: step.slotUs };
  }
}

export interface CallBudgetSettings {
  /** WORKSPACE_API_BUDGET_RPS: every call to one workspace, together. */
  budgetRps: number;
  /** Lower limits of single endpoints (WORKSPACE_ENDPOINT_BUDGETS_RPS); an endpoint's calls cost 1/its limit. */
  endpointRps?: Partial<Record<BudgetedEndpoint, number>>;
}

/**
 * The share of a limit the ledger books, in percent. A call is made when its slot comes, but a timer that fires late
 * (a busy event loop, a GC pause) sends a few calls of one second in the next; spacing slots for 90 % of the limit
 * leaves room for them, so the workspace still never sees more than its limit in a second.
 */
export const BOOKED_SHARE_PERCENT = 90;

/** A call's cost in ledger time (µs): 1/(90 % of the limit) s, the lower of the workspace's and the endpoint's. */
export function callCostUs(settings: CallBudgetSettings, endpoint: BudgetedEndpoint): number {
  const limit = Math.min(settings.budgetRps, settings.endpointRps?.[endpoint] ?? Number.POSITIVE_INFINITY);
  return Math.ceil((100 * 1_000_000) / (BOOKED_SHARE_PERCENT * limit));
}

export interface WorkspaceCallBudgetOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export class WorkspaceCallBudget {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly ledger: CallLedger,
    readonly settings: CallBudgetSettings,
    options: WorkspaceCallBudgetOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /**
   * Waits for this call's slot on the workspace of `origin`. Throws a DeferError, having reserved nothing, when the
   * workspace is booked further ahead than the call may wait (MAX_WAIT_MS, and `remainingMs` less room for the call).
   */
  async take(origin: string, endpoint: BudgetedEndpoint, remainingMs: number): Promise<void> {
    const waitMs = Math.max(0, Math.min(MAX_WAIT_MS, remainingMs - CALL_ROOM_MS));
    const reservation = await this.ledger.reserve(origin, {
      costUs: callCostUs(this.settings, endpoint),
      maxWaitUs: waitMs * 1000,
    });
    const nowMs = this.now();
    if ('bookedUntilUs' in reservation) {
      // Back when the booking seen now has drained, spread a little so the deferred calls do not return as one.
      const aheadS = Math.max(1, reservation.bookedUntilUs / 1000 - nowMs) / 1000;
      throw new DeferError(
        `Databricks ${endpoint}: the workspace's API budget (${this.settings.budgetRps} req/s) is booked ` +
          `${Math.ceil(aheadS)} s ahead`,
        aheadS * (1 + 0.25 * this.random()),
        { reason: 'budget' },
      );
    }
    const delayMs = reservation.slotUs / 1000 - nowMs;
    if (delayMs > 0) await this.sleep(delayMs);
  }
}

/** The retry loop's view of the budget for calls to one endpoint of `origin`; none without a budget. */
export function budgetGate(
  budget: WorkspaceCallBudget | null | undefined,
  origin: string,
  endpoint: BudgetedEndpoint,
): { take(remainingMs: number): Promise<void> } | undefined {
  if (!budget) return undefined;
  return { take: (remainingMs) => budget.take(origin, endpoint, remainingMs) };
}

/**
 * Parses WORKSPACE_ENDPOINT_BUDGETS_RPS: `runs/submit=10,runs/cancel=5`. Returns the limits or a problem naming the
 * entry.
 */
export function parseEndpointBudgets(
  text: string,
): { value: Partial<Record<BudgetedEndpoint, number>> } | { problem: string } {
  const value: Partial<Record<BudgetedEndpoint, number>> = {};
  for (const entry of text.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const match = /^([a-z/-]+)=(\d+)$/.exec(entry);
    const endpoint = match?.[1] as BudgetedEndpoint | undefined;
    if (!match || !endpoint || !BUDGETED_ENDPOINTS.includes(endpoint)) {
      return { problem: `"${entry.slice(0, 40)}" is not <endpoint>=<requests a second> (${BUDGETED_ENDPOINTS})` };
    }
    const rps = Number(match[2]);
    if (rps < 1) return { problem: `${endpoint} must be at least 1 request a second` };
    value[endpoint] = rps;
  }
  return { value };
}
