/**
 * API Gateway's IAM authorization of a signed caller (`authorizationType: AWS_IAM`): `execute-api:Invoke` on
 * `arn:aws:execute-api:<region>:<acct>:<api id>/<stage>/<METHOD>/<path>`, decided by the caller's identity policies
 * and the API's resource policy (the template's AWS::ApiGateway::RestApi `Policy`, present when
 * apiAllowedPrincipalArns is set). The resource policy's `execute-api:/...` resources are the short form API Gateway
 * expands to the API's own ARN when it stores the policy (API Gateway developer guide, "Create and attach an API
 * Gateway resource policy to an API"); they are expanded here the same way.
 *
 * A denied caller gets HTTP 403 `{"Message":"User: <caller> is not authorized to perform: execute-api:Invoke on
 * resource: <arn>"}` with the explicit-deny / no-policy tail of ./access-denied-message.ts (body key `Message`,
 * capital M: ASFHyP3/hyp3 #2283, aws-samples/aws-cross-account-private-api-demo #1, guardian/manage-frontend #483;
 * x-amzn-ErrorType AccessDeniedException assumed, as for API Gateway's other IAM failures).
 */

import type { PolicyDocument, PolicyStatement } from './iam-policy-evaluation.js';
import type { IamPrincipal, IamPrincipals } from './iam-principals.js';

export interface ExecuteApiRequest {
  region: string;
  accountId: string;
  apiId: string;
  stage: string;
  method: string;
  /** The resource path requested, e.g. `/v1/jobs/abc` (leading slash optional). */
  path: string;
}

export interface ExecuteApiDenial {
  status: 403;
  headers: Record<string, string>;
  body: string;
}

/** `arn:aws:execute-api:<region>:<acct>:<api id>/<stage>/<METHOD>/<path without leading slash>`. */
export function executeApiArn(request: ExecuteApiRequest): string {
  const path = request.path.replace(/^\/+/, '');
  return `arn:aws:execute-api:${request.region}:${request.accountId}:${request.apiId}/${request.stage}/${request.method.toUpperCase()}/${path}`;
}

/** The API's resource policy with `execute-api:/<rest>` resources expanded to this API's ARNs. */
export function expandApiPolicy(policy: PolicyDocument, request: ExecuteApiRequest): PolicyDocument {
  const base = `arn:aws:execute-api:${request.region}:${request.accountId}:${request.apiId}`;
  const expand = (value: string | string[] | undefined): string | string[] | undefined => {
    if (value === undefined) return undefined;
    const one = (resource: string) =>
      resource.startsWith('execute-api:/') ? `${base}/${resource.slice('execute-api:/'.length)}` : resource;
    return Array.isArray(value) ? value.map(one) : one(value);
  };
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  return {
    ...policy,
    Statement: statements.map((statement): PolicyStatement => {
      const { Resource, NotResource, ...rest } = statement;
      const resource = expand(Resource);
      const notResource = expand(NotResource);
      return {
        ...rest,
        ...(resource !== undefined ? { Resource: resource } : {}),
        ...(notResource !== undefined ? { NotResource: notResource } : {}),
      };
    }),
  };
}

/**
 * Authorizes `caller` to invoke the API method; undefined when allowed, else API Gateway's 403 answer. The decision
 * is recorded in the registry's report like any other.
 */
export async function authorizeExecuteApi(
  principals: IamPrincipals,
  caller: IamPrincipal,
  request: ExecuteApiRequest,
  apiPolicy?: PolicyDocument,
): Promise<ExecuteApiDenial | undefined> {
  const resource = executeApiArn(request);
  const decision = await principals.authorize(caller, {
    action: 'execute-api:Invoke',
    resource,
    context: { 'aws:SecureTransport': 'true' },
    ...(apiPolicy ? { resourcePolicy: expandApiPolicy(apiPolicy, request) } : {}),
  });
  if (decision.allowed) return undefined;
  const body = JSON.stringify({ Message: decision.message ?? '' });
  return {
    status: 403,
    headers: { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'AccessDeniedException' },
    body,
  };
}
