/**
 * IAM (SigV4) authorization for the local front door, as API Gateway performs it for a method with
 * `authorizationType: AWS_IAM`: the request must be signed for service `execute-api` in the API's region by a known
 * access key, within 5 minutes of now; the caller then shows in `requestContext.identity`.
 *
 * Rejections are API Gateway's gateway responses, HTTP 403 with `{"message": ...}` and the x-amzn-ErrorType header:
 * - no Authorization header: MissingAuthenticationTokenException "Missing Authentication Token";
 * - unknown access key: UnrecognizedClientException "The security token included in the request is invalid.";
 * - signature mismatch, credential scope, clock skew: InvalidSignatureException with AWS's wording (the messages and
 *   their sources are in ../emulators/aws-sigv4.ts, which does the verification for every local AWS emulator).
 * - a malformed Authorization header: IncompleteSignatureException. Assumed: 403 like the others.
 *
 * Identity (API Gateway's $context.identity for IAM callers): an IAM user shows `caller` and `user` = its unique id
 * (AIDA...), `userArn` = the user ARN; a role session shows `caller` and `user` = `<role id AROA...>:<session>`,
 * `userArn` = `arn:aws:sts::<account>:assumed-role/<role>/<session>`; `accessKey` and `accountId` in both cases.
 * Here a role key's session name is its access key id, as the local STS emulator answers GetCallerIdentity; the unique
 * id is the caller's `principalId` when given (the local stack gives each of its principals one, which its SQS proxy
 * also stamps as SenderId), else one derived from the ARN.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayEventIdentity } from 'aws-lambda';
import { sigV4Identity, verifySigV4 } from '../emulators/aws-sigv4.js';
import { GatewayResponseError, type IdentityHook } from './api-gateway-front-door.js';

/** An access key the front door accepts, and the IAM principal it belongs to. */
export interface ApiCaller {
  accessKeyId: string;
  secretAccessKey: string;
  /** `arn:aws:iam::<account>:user/<name>` or `arn:aws:iam::<account>:role/<name>`. */
  principalArn: string;
  /**
   * The principal's IAM unique id: `AIDA…` for a user, `AROA…` for a role (a session of it shows as
   * `<id>:<session>`). Default: a stable id derived from principalArn.
   */
  principalId?: string;
}

export interface SigV4AuthorizationOptions {
  region: string;
  callers: readonly ApiCaller[];
  /** Milliseconds since the epoch; defaults to Date.now. */
  clock?: () => number;
}

/** API Gateway's allowance between X-Amz-Date and its own clock. */
export const API_GATEWAY_MAX_SKEW_MINUTES = 5;

/** An identity hook for startFrontDoor that verifies SigV4 and fills requestContext.identity with the caller. */
export function sigV4Authorization(options: SigV4AuthorizationOptions): IdentityHook {
  const secrets = Object.fromEntries(options.callers.map((c) => [c.accessKeyId, c.secretAccessKey]));
  const principals = new Map(options.callers.map((c) => [c.accessKeyId, c]));
  return (req, body) => {
    const failure = verifySigV4(req, body, {
      region: options.region,
      service: 'execute-api',
      credentials: secrets,
      maxSkewMinutes: API_GATEWAY_MAX_SKEW_MINUTES,
      messages: 'api-gateway',
      ...(options.clock ? { clock: options.clock } : {}),
    });
    if (failure) throw new GatewayResponseError(403, failure.message, failure.type);
    const accessKeyId = sigV4Identity(req)?.accessKeyId ?? '';
    const caller = principals.get(accessKeyId);
    return callerIdentity(accessKeyId, caller?.principalArn ?? '', caller?.principalId);
  };
}

/** What API Gateway puts in requestContext.identity for an IAM-authorized caller. */
export function callerIdentity(
  accessKeyId: string,
  principalArn: string,
  principalId?: string,
): Partial<APIGatewayEventIdentity> {
  const role = /^arn:(aws[\w-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(principalArn);
  if (role) {
    const [, partition, accountId, roleName] = role as unknown as [string, string, string, string];
    const caller = `${principalId ?? uniqueId('AROA', principalArn)}:${accessKeyId}`;
    return {
      accessKey: accessKeyId,
      accountId,
      caller,
      user: caller,
      userArn: `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${accessKeyId}`,
    };
  }
  const accountId = principalArn.split(':')[4] ?? null;
  const userId = principalId ?? uniqueId('AIDA', principalArn);
  return { accessKey: accessKeyId, accountId, caller: userId, user: userId, userArn: principalArn };
}

/** A stable IAM-style unique id (prefix + 17 upper-case base32 characters) for a principal. */
function uniqueId(prefix: string, principalArn: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const digest = createHash('sha256').update(principalArn).digest();
  return prefix + [...digest.subarray(0, 17)].map((byte) => alphabet[byte % 32]).join('');
}
