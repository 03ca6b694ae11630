/**
 * A stack deployed with neither CALLER_NAMESPACES nor INSECURE_ANY_CALLER_ANY_NAMESPACE: the API refuses every job
 * route with 500 (a deployment to fix, logged), before reading or writing anything. Its own file: the handler reads
 * its configuration from the environment once.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { jobIdFor } from '../../../shared/jobs/job-id.js';
import { apiEvent, lambdaContext, setFunctionEnv } from '../fuzz/fixtures.js';

setFunctionEnv();
delete process.env.CALLER_NAMESPACES;
delete process.env.INSECURE_ANY_CALLER_ANY_NAMESPACE;
const { handler } = await import('../../../functions/api/handler.js');

describe('Handler: the API with no caller rules and no opt-out', () => {
  const doc = mockClient(DynamoDBDocumentClient);
  const dynamodb = mockClient(DynamoDBClient);
  const sqs = mockClient(SQSClient);
  afterAll(() => {
    doc.restore();
    dynamodb.restore();
    sqs.restore();
  });
  // The logger writes JSON lines to stdout or stderr: captured, so the test can read what the operator will see.
  let logged: string[] = [];
  beforeEach(() => {
    doc.reset();
    dynamodb.reset();
    sqs.reset();
    logged = [];
    const capture = (chunk: unknown) => {
      logged.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture as never);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture as never);
    return () => vi.restoreAllMocks();
  });

  const invoke = async (event: APIGatewayProxyEvent) => {
    const response = (await handler(event, lambdaContext('api'))) as APIGatewayProxyResult;
    return { status: response.statusCode, body: JSON.parse(response.body) };
  };
  const body = JSON.stringify({
    namespace: 'team-a',
    executionId: 'exec-1',
    task: { databricksConf: { existing_cluster_id: 'c' } },
  });
  const id = jobIdFor('team-a', 'exec-1');
  const listing = () => ({ ...apiEvent('GET', '/v1/jobs'), queryStringParameters: { namespace: 'team-a' } });

  it.each<[string, () => APIGatewayProxyEvent]>([
    ['POST /v1/jobs', () => apiEvent('POST', '/v1/jobs', { body })],
    ['GET /v1/jobs/{id}', () => apiEvent('GET', `/v1/jobs/${id}`)],
    ['DELETE /v1/jobs/{id}', () => apiEvent('DELETE', `/v1/jobs/${id}`)],
    ['GET /v1/jobs?namespace=', listing],
  ])('%s answers 500 without internals, touching nothing, and logs why', async (_route, event) => {
    const result = await invoke(event());
    vi.restoreAllMocks();
    expect(logged.join('')).toMatch(/"name":"CallerRulesMissingError".*CALLER_NAMESPACES is not set/);
    expect(result).toEqual({
      status: 500,
      body: { error: { code: 'InternalError', message: 'Internal error; see the function logs' } },
    });
    expect(doc.commandCalls(GetCommand)).toHaveLength(0);
    expect(doc.commandCalls(PutCommand)).toHaveLength(0);
    expect(doc.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(doc.commandCalls(QueryCommand)).toHaveLength(0);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });
});
