/**
 * The local stack's physical names for the template's resources, as CloudFormation would give them
 * (`<stack>-<logicalId>`, without CloudFormation's random suffix so they read well in logs), with the ARNs and ids
 * Ref and Fn::GetAtt return: the scope the template's intrinsics resolve in. Queue URLs are known only once the
 * queues exist, so they are added by the caller (withQueueUrls).
 */
import { createHash } from 'node:crypto';
import type { IntrinsicScope, PhysicalResource } from './intrinsics.js';
import type { StackTemplate, TemplateResource } from './stack-template.js';

export interface LocalIdentity {
  region: string;
  accountId: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A stable IAM-shaped unique id (`AROA` + 17 base32 characters for a role) derived from a name. */
export function uniqueIdFor(prefix: 'AROA' | 'AIDA', name: string): string {
  const digest = createHash('sha256').update(name).digest();
  return prefix + [...digest.subarray(0, 17)].map((byte) => BASE32[byte % 32]).join('');
}

export function physicalNameOf(stackName: string, logicalId: string): string {
  return `${stackName}-${logicalId}`;
}

/** Every resource's physical value; `queueUrls` by queue logical id once they exist. */
export function physicalResources(
  template: StackTemplate,
  where: LocalIdentity,
  queueUrls: ReadonlyMap<string, string> = new Map(),
): IntrinsicScope {
  const { region, accountId } = where;
  const resources = new Map<string, PhysicalResource>();
  for (const resource of template.resources) {
    resources.set(resource.logicalId, physicalResource(template.stackName, resource, where, queueUrls));
  }
  return {
    resources,
    pseudo: {
      'AWS::Region': region,
      'AWS::AccountId': accountId,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': template.stackName,
      'AWS::StackId': `arn:aws:cloudformation:${region}:${accountId}:stack/${template.stackName}/local`,
      'AWS::NoValue': '',
    },
  };
}

function physicalResource(
  stackName: string,
  resource: TemplateResource,
  { region, accountId }: LocalIdentity,
  queueUrls: ReadonlyMap<string, string>,
): PhysicalResource {
  const name = physicalNameOf(stackName, resource.logicalId);
  switch (resource.type) {
    case 'AWS::DynamoDB::Table': {
      const tableName = String(resource.properties.TableName ?? name);
      return { ref: tableName, attributes: { Arn: `arn:aws:dynamodb:${region}:${accountId}:table/${tableName}` } };
    }
    case 'AWS::SQS::Queue': {
      const queueName = String(resource.properties.QueueName ?? physicalNameOf(stackName, resource.logicalId));
      return {
        // Before the queues exist their URL is unknown; resolving one then is a bug the error names.
        ref: queueUrls.get(resource.logicalId) ?? `<queue ${resource.logicalId} not created yet>`,
        attributes: { Arn: `arn:aws:sqs:${region}:${accountId}:${queueName}`, QueueName: queueName },
      };
    }
    case 'AWS::Lambda::Function': {
      const functionName = String(resource.properties.FunctionName ?? name);
      return {
        ref: functionName,
        attributes: { Arn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}` },
      };
    }
    case 'AWS::IAM::Role': {
      const roleName = String(resource.properties.RoleName ?? name);
      return {
        ref: roleName,
        attributes: { Arn: `arn:aws:iam::${accountId}:role/${roleName}`, RoleId: uniqueIdFor('AROA', roleName) },
      };
    }
    case 'AWS::Logs::LogGroup': {
      const groupName = String(resource.properties.LogGroupName ?? name);
      return {
        ref: groupName,
        attributes: { Arn: `arn:aws:logs:${region}:${accountId}:log-group:${groupName}:*` },
      };
    }
    case 'AWS::ApiGateway::RestApi': {
      const apiId = createHash('sha256').update(name).digest('hex').slice(0, 10);
      return { ref: apiId, attributes: { RootResourceId: `${apiId}-root` } };
    }
    default:
      return { ref: name, attributes: { Arn: `arn:aws:local:${region}:${accountId}:${name}` } };
  }
}
