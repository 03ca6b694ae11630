/**
 * Creates the jobs table (and the workspace budget table) on a local DynamoDB (dynalite) with the same key schema and indexes (namespace, liveness,
 * live jobs by workspace)
 * as the CDK stack's table (infra/constructs/jobs-table.ts): the local stack and the store's tests both use it.
 * dynalite has no TTL; a GSI is sparse there as on DynamoDB, so an item without the sort key is not in the index.
 */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NAMESPACE_INDEX } from '../../shared/jobs/job-store.js';
import { LIVE_BY_WORKSPACE_INDEX, LIVENESS_INDEX } from '../../shared/jobs/liveness.js';

export async function createJobsTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'jobId', AttributeType: 'S' },
        { AttributeName: 'namespace', AttributeType: 'S' },
        { AttributeName: 'createdAt', AttributeType: 'S' },
        { AttributeName: 'liveShard', AttributeType: 'S' },
        { AttributeName: 'heartbeatAt', AttributeType: 'S' },
        { AttributeName: 'liveHost', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: NAMESPACE_INDEX,
          KeySchema: [
            { AttributeName: 'namespace', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: LIVENESS_INDEX,
          KeySchema: [
            { AttributeName: 'liveShard', KeyType: 'HASH' },
            { AttributeName: 'heartbeatAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
        {
          IndexName: LIVE_BY_WORKSPACE_INDEX,
          KeySchema: [
            { AttributeName: 'liveHost', KeyType: 'HASH' },
            { AttributeName: 'jobId', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** The workspace budget table (infra/constructs/workspace-budget-table.ts): one ledger item per workspace. */
export async function createWorkspaceBudgetTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'workspace', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'workspace', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}
