/**
 * A jobs table on dynalite over a real socket, with the same key schema and indexes as the stack's (and the local
 * stack's), for use-case tests against the real DynamoDB job store. A fresh table per test keeps each sweep's view
 * of the liveness index to that test's jobs.
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll } from 'vitest';
import { createJobsTable } from '../../infra/local/jobs-table.js';

export function useDynalite(): { client(): DynamoDBClient; createTable(): Promise<string> } {
  const server = dynalite({ createTableMs: 0 });
  let client: DynamoDBClient | undefined;
  let tables = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const current = () => {
    if (!client) throw new Error('dynalite is used before beforeAll started it');
    return client;
  };
  return {
    client: current,
    async createTable() {
      const name = `jobs-${++tables}`;
      await createJobsTable(current(), name);
      return name;
    },
  };
}

/** The environment every function needs; tests add what they exercise. */
export const BASE_ENV = {
  JOBS_TABLE_NAME: 'jobs',
  SUBMIT_QUEUE_URL: 'http://127.0.0.1:1/000000000000/submit',
  POLL_QUEUE_URL: 'http://127.0.0.1:1/000000000000/poll',
  CANCEL_QUEUE_URL: 'http://127.0.0.1:1/000000000000/cancel',
  FLYTE_DATABRICKS_INSTANCE: 'dbc-1.cloud.databricks.com',
};
