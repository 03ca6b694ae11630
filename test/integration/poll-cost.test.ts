/**
 * What a poll costs, counted at the wire on the local stack (the measurement `npm run bench` reports, smaller): an
 * unchanged poll makes one Jobs API call, one SQS send, one DynamoDB read and no write. The polls run in the stack's
 * own poll function (its built bundle, its own execution environment, its role's IAM), fed poll messages the test
 * sends as the poll role; the functions' requests are counted at their gateways (bench/poll-bench-stack.ts, which
 * `npm run bench` uses too).
 */
import { describe, expect, it } from 'vitest';
import { measurePollCalls } from '../../bench/poll-bench-stack.js';

describe('Poll cost at the wire', () => {
  it('an unchanged poll: 1 runs/get, 1 SendMessage, 1 GetItem, no job write, 1 ledger write, no token request', {
    timeout: 90_000,
  }, async () => {
    const calls = await measurePollCalls({ jobs: 10, rounds: 3 });
    expect(calls.polls).toBe(30);
    expect(calls).toMatchObject({
      databricksCallsPerPoll: 1,
      sqsSendsPerPoll: 1,
      dynamoReadsPerPoll: 1,
      dynamoWritesPerPoll: 0,
      // Its slot in the workspace's call budget: one conditional write to the ledger, nothing read.
      ledgerWritesPerPoll: 1,
      ledgerReadsPerPoll: 0,
      tokenRequestsPerPoll: 0,
    });
    // The workspace's live-job list is one Query per container per minute: the measurement runs one poll
    // environment (eventSourceConcurrency: 1), so at most one in a window this short.
    const { Query: queries = 0, ...perPoll } = calls.operations.dynamodb;
    expect(queries).toBeLessThanOrEqual(1);
    expect(perPoll).toEqual({ GetItem: 30 });
    expect(calls.operations.sqs).toEqual({ SendMessage: 30 });
  });
});
