/**
 * The jobs table and the workspace budget table on a local DynamoDB (dynalite), created from the synthesized
 * template's own definitions (key schema, attributes, GSIs), never from a second copy: the store's tests and the
 * local stack get exactly the indexes `cdk deploy` creates. dynalite has no TTL; a GSI is sparse there as on DynamoDB.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readStackTemplate, type TemplateTable } from './template/stack-template.js';
import { synthLocalTemplate } from './template/synth-local-template.js';
import { createTemplateTable } from './template/template-resources.js';

/** The template's table whose logical id starts with `prefix` (CDK appends a hash). */
async function templateTable(prefix: string): Promise<TemplateTable> {
  const { cdkOut, stackName } = await synthLocalTemplate();
  const table = readStackTemplate(cdkOut, stackName).tables.find((t) => t.logicalId.startsWith(prefix));
  if (!table) throw new Error(`the synthesized template has no ${prefix} table`);
  return table;
}

export async function createJobsTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  await createTemplateTable(dynamodb, await templateTable('JobsTable'), tableName);
}

/** The workspace budget table (infra/constructs/workspace-budget-table.ts): one ledger item per workspace. */
export async function createWorkspaceBudgetTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  await createTemplateTable(dynamodb, await templateTable('WorkspaceBudgetTable'), tableName);
}
