/**
 * IAM authorization for the local front door, as API Gateway performs it for a method with `authorizationType:
 * AWS_IAM`: the request must be signed for `execute-api` in the API's region by a known key within 5 minutes of now
 * (iam/sigv4-verifier.ts, the one verifier), and the caller must be allowed `execute-api:Invoke` on the method's ARN
 * by its identity policies and the API's resource policy (iam/execute-api-authorization.ts). The caller then shows
 * in `requestContext.identity` as API Gateway fills it for IAM callers: a user by its unique id and ARN, a role
 * session as `<role id>:<session>` and its assumed-role ARN.
 *
 * Refusals are API Gateway's gateway responses, HTTP 403 with the x-amzn-ErrorType header: no Authorization header
 * MissingAuthenticationTokenException "Missing Authentication Token"; an unknown key UnrecognizedClientException;
 * a bad signature, scope or clock InvalidSignatureException; a caller IAM does not allow AccessDeniedException.
 */
import type { APIGatewayEventIdentity } from 'aws-lambda';
import { JSON_SERVICE_AUTH_ERRORS } from '../emulators/aws-sigv4.js';
import { authorizeExecuteApi } from '../iam/execute-api-authorization.js';
import type { PolicyDocument } from '../iam/iam-policy-evaluation.js';
import type { IamPrincipals } from '../iam/iam-principals.js';
import { sigV4Request, verifySigV4Request } from '../iam/sigv4-verifier.js';
import { GatewayResponseError, type IdentityHook } from './api-gateway-front-door.js';

/** API Gateway's allowance between X-Amz-Date and its own clock. */
export const API_GATEWAY_MAX_SKEW_MINUTES = 5;

export interface IamAuthorizationOptions {
  principals: IamPrincipals;
  region: string;
  accountId: string;
  apiId: string;
  stage: string;
  /** The API's resource policy (the template's RestApi Policy), resolved. */
  apiPolicy?: PolicyDocument;
  /** Milliseconds since the epoch; defaults to Date.now. */
  clock?: () => number;
}

/** An identity hook for startFrontDoor: SigV4, then execute-api:Invoke on the method, then the caller's identity. */
export function iamAuthorization(options: IamAuthorizationOptions): IdentityHook {
  const { principals, region, accountId, apiId, stage } = options;
  return async (req, body): Promise<Partial<APIGatewayEventIdentity>> => {
    const verified = verifySigV4Request(sigV4Request(req, body), {
      region,
      service: 'execute-api',
      credentials: principals.secretOf,
      maxSkewMinutes: API_GATEWAY_MAX_SKEW_MINUTES,
      wording: 'api-gateway',
      ...(options.clock ? { clock: options.clock } : {}),
    });
    if (!verified.ok) {
      throw new GatewayResponseError(403, verified.failure.message, JSON_SERVICE_AUTH_ERRORS[verified.failure.kind]);
    }
    const caller = principals.byAccessKeyId(verified.identity.accessKeyId);
    if (!caller) {
      throw new GatewayResponseError(
        403,
        'The security token included in the request is invalid.',
        'UnrecognizedClientException',
      );
    }
    const path = (req.url ?? '/').split('?')[0]?.replace(new RegExp(`^/${stage}(?=/|$)`), '') || '/';
    const method = req.method ?? 'GET';
    const denial = await authorizeExecuteApi(
      principals,
      caller,
      { region, accountId, apiId, stage, method, path },
      options.apiPolicy,
    );
    if (denial) throw new GatewayResponseError(403, JSON.parse(denial.body).Message, 'AccessDeniedException');
    return {
      accessKey: caller.accessKeyId,
      accountId: caller.accountId,
      caller: caller.userId,
      user: caller.userId,
      userArn: caller.sessionArn,
    };
  };
}
