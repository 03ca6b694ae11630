import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import dynalite from 'dynalite';
import { createSqsServer } from 'local-aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IntrinsicScope, Json } from '../../../infra/local/template/intrinsics.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../../infra/local/template/local-context.js';
import { physicalResources } from '../../../infra/local/template/physical-resources.js';
import { readStackTemplate, type StackTemplate } from '../../../infra/local/template/stack-template.js';
import { synthLocalTemplate } from '../../../infra/local/template/synth-local-template.js';
import { createTemplateQueues, createTemplateTable } from '../../../infra/local/template/template-resources.js';

const HOST = '127.0.0.1';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const byName = <T extends { IndexName?: string | undefined }>(items: T[] | undefined) =>
  [...(items ?? [])].sort((a, b) => String(a.IndexName).localeCompare(String(b.IndexName)));

describe('template resources on the local emulators', () => {
  const dynamoServer = dynalite({ createTableMs: 0 });
  let sqsServer: Server;
  let dynamodb: DynamoDBClient;
  let sqs: SQSClient;
  let template: StackTemplate;
  let scope: IntrinsicScope;

  beforeAll(async () => {
    const { cdkOut, stackName } = await synthLocalTemplate();
    template = readStackTemplate(cdkOut, stackName);
    scope = physicalResources(template, { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID });
    await new Promise<void>((resolve) => dynamoServer.listen(0, HOST, resolve));
    dynamodb = new DynamoDBClient({
      region: LOCAL_REGION,
      endpoint: `http://${HOST}:${(dynamoServer.address() as AddressInfo).port}`,
      credentials,
    });
    sqsServer = await createSqsServer({ port: 0, hostname: HOST, emulateQueueCreationLifecycle: false });
    sqs = new SQSClient({
      region: LOCAL_REGION,
      endpoint: `http://${HOST}:${(sqsServer.address() as AddressInfo).port}`,
      credentials,
    });
  });
  afterAll(async () => {
    dynamodb?.destroy();
    sqs?.destroy();
    await new Promise<void>((resolve) => dynamoServer.close(() => resolve()));
    if (sqsServer) await new Promise<void>((resolve) => sqsServer.close(() => resolve()));
  });

  it("creates the tables with the template's key schema, attributes and GSIs", async () => {
    expect(template.tables.length).toBeGreaterThanOrEqual(2);
    for (const table of template.tables) {
      const name = scope.resources.get(table.logicalId)?.ref ?? '';
      await createTemplateTable(dynamodb, table, name);
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
      const props = table.properties;
      expect(Table?.TableName).toBe(name);
      expect(Table?.KeySchema).toEqual(props.KeySchema);
      expect(
        [...(Table?.AttributeDefinitions ?? [])].sort((a, b) =>
          String(a.AttributeName).localeCompare(String(b.AttributeName)),
        ),
      ).toEqual(
        [...props.AttributeDefinitions].sort((a: Json, b: Json) => a.AttributeName.localeCompare(b.AttributeName)),
      );
      expect(Table?.BillingModeSummary?.BillingMode ?? 'PROVISIONED').toBe(props.BillingMode ?? 'PROVISIONED');
      const gsis = byName(Table?.GlobalSecondaryIndexes).map((gsi) => ({
        IndexName: gsi.IndexName,
        KeySchema: gsi.KeySchema,
        Projection: gsi.Projection,
      }));
      expect(gsis).toEqual(byName(props.GlobalSecondaryIndexes ?? []));
    }
    const jobs = template.tables.find((t) => t.logicalId.startsWith('JobsTable'));
    expect(jobs?.properties.GlobalSecondaryIndexes.map((gsi: Json) => gsi.IndexName).sort()).toEqual([
      'byLiveness',
      'byNamespace',
      'liveByWorkspace',
    ]);
  });

  it("creates the queues with the template's visibility timeouts and redrive policies", async () => {
    const urls = await createTemplateQueues(sqs, template, scope);
    expect([...urls.keys()].sort()).toEqual(template.queues.map((q) => q.logicalId).sort());
    for (const queue of template.queues) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: urls.get(queue.logicalId), AttributeNames: ['All'] }),
      );
      expect(Number(Attributes?.VisibilityTimeout)).toBe(queue.properties.VisibilityTimeout ?? 30);
      expect(Attributes?.QueueArn).toBe(scope.resources.get(queue.logicalId)?.attributes.Arn);
      if (queue.properties.MessageRetentionPeriod !== undefined) {
        expect(Number(Attributes?.MessageRetentionPeriod)).toBe(queue.properties.MessageRetentionPeriod);
      }
      const redrive = queue.properties.RedrivePolicy;
      if (redrive) {
        const deadLetter = redrive.deadLetterTargetArn['Fn::GetAtt'][0];
        expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
          deadLetterTargetArn: scope.resources.get(deadLetter)?.attributes.Arn,
          maxReceiveCount: redrive.maxReceiveCount,
        });
        expect(scope.resources.get(deadLetter)?.attributes.Arn).toMatch(
          new RegExp(`^arn:aws:sqs:us-east-1:123456789012:${template.stackName}-.*DeadLetterQueue`),
        );
      } else {
        expect(Attributes?.RedrivePolicy).toBeUndefined();
      }
    }
  });

  it('the visibility and redrive count overrides apply to the work queues only', async () => {
    // A second stack's names, so these queues do not collide with the previous test's.
    const other: StackTemplate = { ...template, stackName: 'Override' };
    const otherScope = physicalResources(other, { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID });
    const urls = await createTemplateQueues(sqs, other, otherScope, {
      visibilityTimeoutSeconds: 7,
      maxReceiveCount: 2,
    });
    const work = template.queues.filter((q) => q.redrive);
    const deadLetters = template.queues.filter((q) => !q.redrive);
    expect(work).toHaveLength(3);
    expect(deadLetters).toHaveLength(3);
    for (const queue of template.queues) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: urls.get(queue.logicalId), AttributeNames: ['All'] }),
      );
      expect(Attributes?.QueueArn).toContain(':Override-');
      expect(Number(Attributes?.VisibilityTimeout)).toBe(
        queue.redrive ? 7 : (queue.properties.VisibilityTimeout ?? 30),
      );
      if (queue.redrive) {
        expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
          deadLetterTargetArn: otherScope.resources.get(queue.redrive.deadLetterLogicalId)?.attributes.Arn,
          maxReceiveCount: 2,
        });
      } else {
        expect(Attributes?.RedrivePolicy).toBeUndefined();
      }
    }
  });
});
