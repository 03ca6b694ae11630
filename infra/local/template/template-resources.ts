/**
 * Creates the template's tables and queues on the local emulators, from the template's own properties: key
 * schema, attribute definitions, GSIs and billing mode; visibility timeout, retention and redrive policy. What the
 * emulators cannot do is said here, once: dynalite has no TTL (items never expire locally) and ignores SSE and PITR;
 * local-aws-sqs has no SSE.
 */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type IntrinsicScope, resolveString } from './intrinsics.js';
import type { StackTemplate, TemplateQueue, TemplateTable } from './stack-template.js';

/** Creates one table as the template declares it, under `tableName`. */
export async function createTemplateTable(
  dynamodb: DynamoDBClient,
  table: TemplateTable,
  tableName: string,
): Promise<void> {
  const props = table.properties;
  const gsis = props.GlobalSecondaryIndexes as CreateTableCommand['input']['GlobalSecondaryIndexes'];
  const lsis = props.LocalSecondaryIndexes as CreateTableCommand['input']['LocalSecondaryIndexes'];
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: props.AttributeDefinitions,
      KeySchema: props.KeySchema,
      ...(gsis?.length ? { GlobalSecondaryIndexes: gsis } : {}),
      ...(lsis?.length ? { LocalSecondaryIndexes: lsis } : {}),
      BillingMode: props.BillingMode ?? 'PROVISIONED',
      ...(props.ProvisionedThroughput ? { ProvisionedThroughput: props.ProvisionedThroughput } : {}),
    }),
  );
}

export interface QueueOverrides {
  /** Replaces every work queue's visibility timeout (tests redeliver in seconds, not minutes). */
  visibilityTimeoutSeconds?: number;
  /**
   * Replaces every work queue's redrive maxReceiveCount; the functions' MAX_RECEIVE_COUNT must equal it
   * (local-overrides.ts's timing.maxReceiveCount: set both together).
   */
  maxReceiveCount?: number;
}

/**
 * Creates every queue (dead-letter queues first, so redrive policies can name them) and returns their URLs by
 * logical id. `scope` resolves the redrive policies' ARNs.
 */
export async function createTemplateQueues(
  sqs: SQSClient,
  template: StackTemplate,
  scope: IntrinsicScope,
  overrides: QueueOverrides = {},
): Promise<Map<string, string>> {
  const urls = new Map<string, string>();
  const ordered = [...template.queues].sort((a, b) => Number(Boolean(a.redrive)) - Number(Boolean(b.redrive)));
  for (const queue of ordered) {
    const name = scope.resources.get(queue.logicalId)?.attributes.QueueName;
    if (!name) throw new Error(`${queue.logicalId}: no local queue name`);
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: queueAttributes(queue, scope, overrides) }),
    );
    if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
    urls.set(queue.logicalId, QueueUrl);
  }
  return urls;
}

function queueAttributes(
  queue: TemplateQueue,
  scope: IntrinsicScope,
  overrides: QueueOverrides,
): Record<string, string> {
  const visibility = queue.redrive ? (overrides.visibilityTimeoutSeconds ?? queue.visibilityTimeoutSeconds) : undefined;
  return {
    VisibilityTimeout: String(visibility ?? queue.visibilityTimeoutSeconds),
    ...(queue.messageRetentionSeconds !== undefined
      ? { MessageRetentionPeriod: String(queue.messageRetentionSeconds) }
      : {}),
    ...(queue.redrive
      ? {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: resolveString(
              { 'Fn::GetAtt': [queue.redrive.deadLetterLogicalId, 'Arn'] },
              scope,
              `${queue.logicalId}.RedrivePolicy`,
            ),
            maxReceiveCount: overrides.maxReceiveCount ?? queue.redrive.maxReceiveCount,
          }),
        }
      : {}),
  };
}

/** A queue URL with its origin replaced by `endpoint`'s (the SQS client sends to the queue URL's host). */
export function viaEndpoint(queueUrl: string, endpoint: string): string {
  const url = new URL(queueUrl);
  url.host = new URL(endpoint).host;
  return url.toString();
}
