import { beforeAll, describe, expect, it } from 'vitest';
import { resolveIntrinsics } from '../../../infra/local/template/intrinsics.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../../infra/local/template/local-context.js';
import { physicalNameOf, physicalResources, uniqueIdFor } from '../../../infra/local/template/physical-resources.js';
import { readStackTemplate, type StackTemplate } from '../../../infra/local/template/stack-template.js';
import { synthLocalTemplate } from '../../../infra/local/template/synth-local-template.js';

const where = { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID };
const ROLE_ID = /^AROA[A-Z2-7]{17}$/;

describe('physicalResources', () => {
  let template: StackTemplate;
  beforeAll(async () => {
    const { cdkOut, stackName } = await synthLocalTemplate();
    template = readStackTemplate(cdkOut, stackName);
  });
  const stack = () => template.stackName;

  it('names every resource <stack>-<logicalId>', () => {
    expect(physicalNameOf('S', 'L')).toBe('S-L');
    const scope = physicalResources(template, where);
    expect([...scope.resources.keys()].sort()).toEqual(template.resources.map((r) => r.logicalId).sort());
  });

  it('gives the pseudo parameters of the local account', () => {
    const { pseudo } = physicalResources(template, where);
    expect(pseudo).toMatchObject({
      'AWS::Region': 'us-east-1',
      'AWS::AccountId': '123456789012',
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stack(),
    });
  });

  it('tables: name and ARN', () => {
    const scope = physicalResources(template, where);
    for (const table of template.tables) {
      const name = `${stack()}-${table.logicalId}`;
      expect(scope.resources.get(table.logicalId)).toEqual({
        ref: name,
        attributes: { Arn: `arn:aws:dynamodb:us-east-1:123456789012:table/${name}` },
      });
    }
  });

  it('functions: name and ARN', () => {
    const scope = physicalResources(template, where);
    expect(template.functions).toHaveLength(5);
    for (const fn of template.functions) {
      const name = `${stack()}-${fn.logicalId}`;
      expect(scope.resources.get(fn.logicalId)).toEqual({
        ref: name,
        attributes: { Arn: `arn:aws:lambda:us-east-1:123456789012:function:${name}` },
      });
    }
  });

  it('roles: name, ARN and a stable AROA id', () => {
    const first = physicalResources(template, where);
    const again = physicalResources(template, where);
    const ids = new Set<string>();
    for (const role of template.roles) {
      const name = `${stack()}-${role.logicalId}`;
      const physical = first.resources.get(role.logicalId);
      expect(physical?.ref).toBe(name);
      expect(physical?.attributes.Arn).toBe(`arn:aws:iam::123456789012:role/${name}`);
      expect(physical?.attributes.RoleId).toMatch(ROLE_ID);
      expect(physical?.attributes.RoleId).toBe(uniqueIdFor('AROA', name));
      expect(again.resources.get(role.logicalId)?.attributes.RoleId).toBe(physical?.attributes.RoleId);
      ids.add(physical?.attributes.RoleId ?? '');
    }
    expect(ids.size).toBe(template.roles.length);
  });

  it('uniqueIdFor is stable, IAM-shaped and differs by name', () => {
    expect(uniqueIdFor('AROA', 'a')).toBe(uniqueIdFor('AROA', 'a'));
    expect(uniqueIdFor('AROA', 'a')).not.toBe(uniqueIdFor('AROA', 'b'));
    expect(uniqueIdFor('AROA', 'a')).toMatch(ROLE_ID);
    expect(uniqueIdFor('AIDA', 'a')).toMatch(/^AIDA[A-Z2-7]{17}$/);
  });

  it('queues: name and ARN, and the URL only once supplied', () => {
    const before = physicalResources(template, where);
    const urls = new Map(template.queues.map((q) => [q.logicalId, `http://127.0.0.1:9/123456789012/${q.logicalId}`]));
    const after = physicalResources(template, where, urls);
    for (const queue of template.queues) {
      const name = `${stack()}-${queue.logicalId}`;
      expect(after.resources.get(queue.logicalId)).toEqual({
        ref: urls.get(queue.logicalId),
        attributes: { Arn: `arn:aws:sqs:us-east-1:123456789012:${name}`, QueueName: name },
      });
      expect(before.resources.get(queue.logicalId)?.ref).toContain('not created yet');
      expect(before.resources.get(queue.logicalId)?.attributes.Arn).toBe(`arn:aws:sqs:us-east-1:123456789012:${name}`);
    }
  });

  it("resolves every function's environment and role policies", () => {
    const urls = new Map(template.queues.map((q) => [q.logicalId, `http://127.0.0.1:9/123456789012/${q.logicalId}`]));
    const scope = physicalResources(template, where, urls);
    const submit = template.functions.find((fn) => fn.logicalId === 'SubmitFunction');
    const env = resolveIntrinsics(submit?.environment, scope);
    const submitQueue = template.eventSources.find((s) => s.functionLogicalId === 'SubmitFunction')?.queueLogicalId;
    expect(env.SUBMIT_QUEUE_URL).toBe(urls.get(submitQueue ?? ''));
    expect(env.JOBS_TABLE_NAME).toMatch(new RegExp(`^${stack()}-JobsTable`));
    for (const value of Object.values(env)) expect(typeof value).toBe('string');
    for (const role of template.roles) {
      const resolved = JSON.stringify(resolveIntrinsics(role.policies, scope));
      expect(resolved).not.toContain('Fn::');
      expect(resolved).not.toContain('"Ref"');
    }
  });

  it('the API has a stable id and a root resource id', () => {
    const api = template.apis[0];
    const scope = physicalResources(template, where);
    const physical = scope.resources.get(api?.logicalId ?? '');
    expect(physical?.ref).toMatch(/^[0-9a-f]{10}$/);
    expect(physical?.attributes.RootResourceId).toBe(`${physical?.ref}-root`);
    expect(physicalResources(template, where).resources.get(api?.logicalId ?? '')?.ref).toBe(physical?.ref);
  });

  it('honours explicit names', () => {
    const named: StackTemplate = {
      ...template,
      resources: [
        { logicalId: 'T', type: 'AWS::DynamoDB::Table', properties: { TableName: 'jobs' } },
        { logicalId: 'Q', type: 'AWS::SQS::Queue', properties: { QueueName: 'submit' } },
        { logicalId: 'F', type: 'AWS::Lambda::Function', properties: { FunctionName: 'fn' } },
        { logicalId: 'R', type: 'AWS::IAM::Role', properties: { RoleName: 'role' } },
      ],
    };
    const scope = physicalResources(named, where);
    expect(scope.resources.get('T')?.ref).toBe('jobs');
    expect(scope.resources.get('Q')?.attributes.QueueName).toBe('submit');
    expect(scope.resources.get('F')?.attributes.Arn).toBe('arn:aws:lambda:us-east-1:123456789012:function:fn');
    expect(scope.resources.get('R')?.attributes).toEqual({
      Arn: 'arn:aws:iam::123456789012:role/role',
      RoleId: uniqueIdFor('AROA', 'role'),
    });
  });
});
