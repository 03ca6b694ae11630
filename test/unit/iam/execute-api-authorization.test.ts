import { describe, expect, it } from 'vitest';
import { authorizeExecuteApi, executeApiArn } from '../../../infra/local/iam/execute-api-authorization.js';
import { IamPrincipals } from '../../../infra/local/iam/iam-principals.js';

const ACCOUNT = '123456789012';
const TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/flyte-task-role`;
/** The template's AWS::ApiGateway::RestApi Policy with apiAllowedPrincipalArns = [flyte-task-role]. */
const API_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Action: 'execute-api:Invoke',
      Effect: 'Allow' as const,
      Principal: { AWS: TASK_ROLE },
      Resource: 'execute-api:/*',
    },
    {
      Action: 'execute-api:Invoke',
      Condition: { ArnNotLike: { 'aws:PrincipalArn': [TASK_ROLE] } },
      Effect: 'Deny' as const,
      Principal: { AWS: '*' },
      Resource: 'execute-api:/*',
    },
  ],
};
const invokeAll = {
  name: 'Invoke',
  document: {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow' as const, Action: 'execute-api:Invoke', Resource: '*' }],
  },
};
const request = {
  region: 'us-east-1',
  accountId: ACCOUNT,
  apiId: 'a1b2c3d4e5',
  stage: 'local',
  method: 'post',
  path: '/v1/jobs',
};

describe('execute-api:Invoke at the front door', () => {
  const principals = new IamPrincipals({
    accountId: ACCOUNT,
    principals: [
      {
        name: 'FlyteTask',
        accessKeyId: 'AKIATASK',
        secretAccessKey: 's',
        principalArn: TASK_ROLE,
        uniqueId: 'AROATASKTASKTASKTASK',
        policies: [],
      },
      {
        name: 'Admin',
        accessKeyId: 'AKIAADMIN',
        secretAccessKey: 's',
        principalArn: `arn:aws:iam::${ACCOUNT}:role/admin`,
        uniqueId: 'AROAADMINADMINADMINA',
        policies: [invokeAll],
      },
      {
        name: 'Nobody',
        accessKeyId: 'AKIANOBODY',
        secretAccessKey: 's',
        principalArn: `arn:aws:iam::${ACCOUNT}:user/nobody`,
        uniqueId: 'AIDANOBODYNOBODYNOBO',
        policies: [],
      },
    ],
  });
  const caller = (key: string) => {
    const found = principals.byAccessKeyId(key);
    if (!found) throw new Error(key);
    return found;
  };

  it('names the method ARN as API Gateway does', () => {
    expect(executeApiArn(request)).toBe(`arn:aws:execute-api:us-east-1:${ACCOUNT}:a1b2c3d4e5/local/POST/v1/jobs`);
  });

  it('lets the allowed role in through the resource policy alone', async () => {
    await expect(authorizeExecuteApi(principals, caller('AKIATASK'), request, API_POLICY)).resolves.toBeUndefined();
  });

  it('denies any other principal, its own Invoke grant notwithstanding, with a 403 Message', async () => {
    const denial = await authorizeExecuteApi(principals, caller('AKIAADMIN'), request, API_POLICY);
    expect(denial?.status).toBe(403);
    expect(JSON.parse(denial?.body ?? '{}')).toEqual({
      Message:
        `User: arn:aws:sts::${ACCOUNT}:assumed-role/admin/AKIAADMIN is not authorized to perform: execute-api:Invoke ` +
        `on resource: ${executeApiArn(request)} with an explicit deny in a resource-based policy`,
    });
  });

  it('without a resource policy, decides by identity policies', async () => {
    await expect(authorizeExecuteApi(principals, caller('AKIAADMIN'), request)).resolves.toBeUndefined();
    const denial = await authorizeExecuteApi(principals, caller('AKIANOBODY'), request);
    expect(JSON.parse(denial?.body ?? '{}').Message).toBe(
      `User: arn:aws:iam::${ACCOUNT}:user/nobody is not authorized to perform: execute-api:Invoke on resource: ` +
        `${executeApiArn(request)} because no identity-based policy allows the execute-api:Invoke action`,
    );
  });
});
