/**
 * Pieces of the events AWS hands a function, shared by the local stack (its front door and sweeper schedule) and
 * the benchmark, which builds the same events to invoke bundles directly.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayEventIdentity, ScheduledEvent } from 'aws-lambda';

/** requestContext.identity before authorization fills in who called: everything null but the source. */
export function anonymousIdentity(sourceIp: string, userAgent: string | null): APIGatewayEventIdentity {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent,
    userArn: null,
  };
}

/** What an EventBridge schedule rule sends its target. */
export function scheduledEvent(options: {
  ruleName: string;
  region: string;
  accountId: string;
  now?: Date;
}): ScheduledEvent {
  const { ruleName, region, accountId } = options;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: accountId,
    time: (options.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:${accountId}:rule/${ruleName}`],
    detail: {},
  };
}
