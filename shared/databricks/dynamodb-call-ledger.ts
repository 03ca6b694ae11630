/**
 * The workspaces' call ledgers in DynamoDB (the workspace budget table): one item per workspace origin, holding the
 * time (epoch µs) its next call may be made (see workspace-call-budget.ts). DynamoDB has no max(), so the GCRA step
 * is one of two conditional writes:
 *
 * - idle (the time is past or absent): SET it to now + cost, if it is still at or before now; the slot is now;
 * - busy (the time is ahead): ADD the cost, if it is still ahead and not past the latest slot the call accepts; the
 *   slot is the time before the ADD.
 *
 * The container remembers which one the workspace was in at its last call and tries that first, so a call costs one
 * write either way. When both conditions fail the booking is past the latest slot (or moved under us): one
 * consistent read tells which, and reserves nothing. Items expire a day after their last call (the table's TTL).
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { CallLedger, LedgerRequest, Reservation } from './workspace-call-budget.js';

const EXPIRE_AFTER_SECONDS = 86_400;
/** Rounds of idle/busy attempts before a call gives up on a workspace whose ledger keeps moving under it. */
const MAX_ROUNDS = 3;

export class DynamoDbCallLedger implements CallLedger {
  /** The ledger time this container saw last, per workspace: whether to try the busy write first. */
  private readonly seen = new Map<string, number>();
  /** The reservation in flight per workspace: a container's calls reserve one after another (see reserve). */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
    private readonly nowUs: () => number = () => Date.now() * 1000,
  ) {}

  /**
   * One reservation at a time per workspace in this container: a batch's ten polls of one workspace would otherwise
   * all try the idle write at once and nine of them fail it; in turn, each knows what the one before it saw.
   */
  reserve(key: string, request: LedgerRequest): Promise<Reservation> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(
      () => this.reserveInTurn(key, request),
      () => this.reserveInTurn(key, request),
    );
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return next;
  }

  private async reserveInTurn(key: string, request: LedgerRequest): Promise<Reservation> {
    // Now, not when the call asked: its turn may have come after others'.
    const nowUs = this.nowUs();
    const { costUs } = request;
    const latestUs = nowUs + request.maxWaitUs;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const seen = this.seen.get(key);
      if (seen === undefined || seen <= nowUs) {
        if (await this.takeIdle(key, nowUs, costUs)) {
          this.seen.set(key, nowUs + costUs);
          return { slotUs: nowUs };
        }
      }
      const tat = await this.addToBooking(key, nowUs, costUs, latestUs);
      if (tat !== undefined) {
        this.seen.set(key, tat);
        return { slotUs: tat - costUs };
      }
      const current = await this.read(key);
      this.seen.set(key, current ?? 0);
      if (current !== undefined && current > latestUs) return { bookedUntilUs: current };
    }
    // Contended past reason (or a clock far behind the others'): come back in a moment.
    return { bookedUntilUs: latestUs + 1_000_000 };
  }

  private async takeIdle(key: string, nowUs: number, costUs: number): Promise<boolean> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { workspace: { S: key } },
          UpdateExpression: 'SET tatUs = :next, expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(tatUs) OR tatUs <= :now',
          ExpressionAttributeValues: {
            ':next': { N: String(nowUs + costUs) },
            ':now': { N: String(nowUs) },
            ':expires': { N: String(expiresAt(nowUs)) },
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The ledger time after adding the call's cost; undefined when the condition failed. */
  private async addToBooking(key: string, nowUs: number, costUs: number, latestUs: number) {
    try {
      const result = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { workspace: { S: key } },
          UpdateExpression: 'ADD tatUs :cost SET expiresAt = :expires',
          ConditionExpression: 'tatUs > :now AND tatUs <= :latest',
          ExpressionAttributeValues: {
            ':cost': { N: String(costUs) },
            ':now': { N: String(nowUs) },
            ':latest': { N: String(latestUs) },
            ':expires': { N: String(expiresAt(nowUs)) },
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const tat = Number(result.Attributes?.tatUs?.N);
      if (!Number.isSafeInteger(tat)) throw new Error(`workspace budget table: ${key} has no numeric tatUs`);
      return tat;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  private async read(key: string): Promise<number | undefined> {
    const result = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { workspace: { S: key } },
        ConsistentRead: true,
        ProjectionExpression: 'tatUs',
      }),
    );
    const tat = result.Item?.tatUs?.N;
    return tat === undefined ? undefined : Number(tat);
  }
}

function expiresAt(nowUs: number): number {
  return Math.floor(nowUs / 1_000_000) + EXPIRE_AFTER_SECONDS;
}
