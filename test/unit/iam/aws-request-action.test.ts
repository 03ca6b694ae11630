import { describe, expect, it } from 'vitest';
import { type AwsHttpRequest, awsRequestAction } from '../../../infra/local/iam/aws-request-action.js';

const context = { region: 'us-east-1', accountId: '123456789012' };
const json = (target: string, body: unknown): AwsHttpRequest => ({
  method: 'POST',
  url: new URL('http://localhost/'),
  headers: { 'x-amz-target': target },
  body: Buffer.from(JSON.stringify(body)),
});
const form = (body: string, path = '/'): AwsHttpRequest => ({
  method: 'POST',
  url: new URL(`http://localhost${path}`),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: Buffer.from(body),
});
const checks = async (...args: Parameters<typeof awsRequestAction>) =>
  (await awsRequestAction(...args)).checks.map((c) => `${c.action} ${c.resource}`);

describe('awsRequestAction', () => {
  it('names a DynamoDB index, and every item of a transaction with its single-item action', async () => {
    expect(
      await checks('dynamodb', json('DynamoDB_20120810.Query', { TableName: 't', IndexName: 'byNs' }), context),
    ).toEqual(['dynamodb:Query arn:aws:dynamodb:us-east-1:123456789012:table/t/index/byNs']);
    const transaction = json('DynamoDB_20120810.TransactWriteItems', {
      TransactItems: [
        { Put: { TableName: 'a' } },
        { Update: { TableName: 'b' } },
        { ConditionCheck: { TableName: 'a' } },
      ],
    });
    expect(await checks('dynamodb', transaction, context)).toEqual([
      'dynamodb:PutItem arn:aws:dynamodb:us-east-1:123456789012:table/a',
      'dynamodb:UpdateItem arn:aws:dynamodb:us-east-1:123456789012:table/b',
      'dynamodb:ConditionCheckItem arn:aws:dynamodb:us-east-1:123456789012:table/a',
    ]);
  });

  it('reads SQS queues from the JSON body and from the query protocol', async () => {
    const url = 'http://127.0.0.1:9/123456789012/submit';
    expect(await checks('sqs', json('AmazonSQS.SendMessageBatch', { QueueUrl: url }), context)).toEqual([
      'sqs:SendMessage arn:aws:sqs:us-east-1:123456789012:submit',
    ]);
    const query = await awsRequestAction(
      'sqs',
      form('Action=DeleteMessage&ReceiptHandle=x', '/123456789012/poll'),
      context,
    );
    expect(query.queryProtocol).toBe(true);
    expect(query.checks[0]?.resource).toBe('arn:aws:sqs:us-east-1:123456789012:poll');
    expect(query.checks[0]?.context['aws:SecureTransport']).toBe('true');
  });

  it('resolves a secret name through the lookup, keeping the name for the message', async () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:flyte/a/b-AbCdEf';
    const action = await awsRequestAction(
      'secretsmanager',
      json('secretsmanager.GetSecretValue', { SecretId: 'flyte/a/b' }),
      {
        ...context,
        secretArn: (id) => (id === 'flyte/a/b' ? arn : undefined),
      },
    );
    expect(action.checks).toEqual([
      {
        action: 'secretsmanager:GetSecretValue',
        resource: arn,
        context: { 'aws:SecureTransport': 'true' },
        messageResource: 'flyte/a/b',
      },
    ]);
  });

  it('gives GetWebIdentityToken its condition keys and GetCallerIdentity no check', async () => {
    const token = await awsRequestAction(
      'sts',
      form(
        'Action=GetWebIdentityToken&Version=2011-06-15&Audience.member.1=a&Audience.member.2=b&SigningAlgorithm=RS256',
      ),
      context,
    );
    expect(token.checks[0]?.context).toMatchObject({
      'sts:IdentityTokenAudience': ['a', 'b'],
      'sts:DurationSeconds': '300',
      'sts:SigningAlgorithm': 'RS256',
    });
    expect(
      (await awsRequestAction('sts', form('Action=GetCallerIdentity&Version=2011-06-15'), context)).checks,
    ).toEqual([]);
  });

  it('maps EKS GET /clusters/{name} to eks:DescribeCluster', async () => {
    const request: AwsHttpRequest = {
      method: 'GET',
      url: new URL('http://x/clusters/local-eks'),
      headers: {},
      body: Buffer.alloc(0),
    };
    expect(await checks('eks', request, context)).toEqual([
      'eks:DescribeCluster arn:aws:eks:us-east-1:123456789012:cluster/local-eks',
    ]);
  });
});
