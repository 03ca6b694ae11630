/**
 * The item size DynamoDB counts, by the Developer Guide's rules ("DynamoDB item sizes and formats"): known sizes
 * worked out by hand, names counted, nested lists weighing more than their JSON, and the limit agreeing with what
 * dynalite enforces over a real socket.
 */
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DYNAMODB_ITEM_LIMIT_BYTES, dynamoItemSize, MAX_NEW_JOB_ITEM_BYTES } from '../../../shared/jobs/item-size.js';
import { useDynalite } from '../../support/dynalite.js';
import { taskPaddedTo } from '../../support/item-padding.js';
import { jobFixture } from '../../support/job-fixture.js';

describe('Function: dynamoItemSize()', () => {
  it('adds up a small item as the rules say', () => {
    const item = { id: 'abc', n: 123, b: true, z: null, l: [1, 'xy'], m: { k: 'v' } };
    // id: 2 + 3; n: 1 + (2 + 1); b: 1 + 1; z: 1 + 1; l: 1 + 3 + (1 + 2) + (1 + 2); m: 1 + 3 + (1 + 1 + 1)
    expect(dynamoItemSize(item)).toBe(5 + 4 + 2 + 2 + 10 + 7);
  });

  it('counts attribute names and map keys in UTF-8 bytes, and strings too', () => {
    expect(dynamoItemSize({ é: 'ü€' })).toBe(2 + 2 + 3);
    expect(dynamoItemSize({ a: { ключ: '' } })).toBe(1 + 3 + 1 + 8);
    expect(dynamoItemSize({ a: 'x' })).toBeLessThan(dynamoItemSize({ aLongerAttributeName: 'x' }));
  });

  it('counts numbers by their significant digits, two to a byte, plus one', () => {
    const size = (n: number) => dynamoItemSize({ n }) - 1;
    expect(size(0)).toBe(1);
    expect(size(7)).toBe(2);
    expect(size(100)).toBe(2);
    expect(size(0.001)).toBe(2);
    expect(size(-1.5)).toBe(2);
    expect(size(12_345)).toBe(4);
    expect(size(1e-7)).toBe(2);
    expect(size(Number.MAX_SAFE_INTEGER)).toBe(9);
  });

  it('counts binary values by their bytes, sets by their members, and leaves undefined out', () => {
    expect(dynamoItemSize({ b: new Uint8Array(5) })).toBe(1 + 5);
    expect(dynamoItemSize({ s: new Set(['a', 'bc']) })).toBe(1 + 3);
    expect(dynamoItemSize({ s: new Set([1, 22]) })).toBe(1 + 2 + 2);
    expect(dynamoItemSize({ a: 'x', gone: undefined })).toBe(2);
    expect(dynamoItemSize({ l: [] })).toBe(1 + 3);
  });

  it('weighs nested lists of small numbers at 1.75 times their JSON', () => {
    const lists = Array.from({ length: 10_000 }, () => [1]);
    const json = JSON.stringify(lists).length;
    const item = dynamoItemSize({ extra: lists }) - 'extra'.length;
    expect(item).toBe(3 + 10_000 * 7);
    expect(item / json).toBeGreaterThan(1.74);
  });

  it('leaves new jobs room below the DynamoDB limit', () => {
    expect(DYNAMODB_ITEM_LIMIT_BYTES).toBe(400 * 1024);
    expect(MAX_NEW_JOB_ITEM_BYTES).toBe(360 * 1024);
  });
});

describe('Function: dynamoItemSize(), against dynalite', () => {
  const dynamo = useDynalite();
  let doc: DynamoDBDocumentClient;
  let table: string;
  beforeAll(async () => {
    doc = DynamoDBDocumentClient.from(dynamo.client(), { marshallOptions: { removeUndefinedValues: true } });
    table = await dynamo.createTable();
  });

  it('agrees to the byte with the limit dynalite enforces, nested lists included', async () => {
    const padded = (executionId: string, bytes: number) => {
      const job = jobFixture({ executionId });
      return { ...job, task: taskPaddedTo(job, bytes, { request: true }) };
    };
    const fits = padded('at-limit', DYNAMODB_ITEM_LIMIT_BYTES);
    const over = padded('over-limit', DYNAMODB_ITEM_LIMIT_BYTES + 1);

    await expect(doc.send(new PutCommand({ TableName: table, Item: fits }))).resolves.toBeDefined();
    await expect(doc.send(new PutCommand({ TableName: table, Item: over }))).rejects.toThrow(/Item size/);
  });
});
