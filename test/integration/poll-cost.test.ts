/**
 * What a poll costs, counted at the wire on the local stack (the measurement `npm run bench` reports, smaller): an
 * unchanged poll makes one Jobs API call, one SQS send, one DynamoDB read and no write.
 */
import { describe, expect, it } from 'vitest';
import { measurePollCalls } from '../../bench/poll-calls.js';

describe('Poll cost at the wire', () => {
  it('an unchanged poll: 1 runs/get, 1 SendMessage, 1 GetItem, no job write, 1 ledger write, no token request', async () => {
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
    // The workspace's live-job list is one Query per container per minute: at most one in a window this short.
    const { Query: queries = 0, ...perPoll } = calls.operations.dynamodb;
    expect(queries).toBeLessThanOrEqual(1);
    expect(perPoll).toEqual({ GetItem: 30 });
    expect(calls.operations.sqs).toEqual({ SendMessage: 30 });
  });
});
