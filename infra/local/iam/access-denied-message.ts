/**
 * The sentence AWS answers a denied request with, the same for every service (each wraps it in its own error shape,
 * aws-error-shapes.ts):
 *   User: <caller ARN> is not authorized to perform: <action> on resource: <resource> because no identity-based policy
 *   allows the <action> action
 *   User: ... on resource: ... with an explicit deny in a resource-based policy    (or "in an identity-based policy")
 *
 * Verified (quoted in issues): DynamoDB "User: arn:aws:sts::<acct>:assumed-role/<role>/<session> is not authorized to
 * perform: dynamodb:Query on resource: arn:aws:dynamodb:us-east-1:<acct>:table/<t> because no identity-based policy
 * allows the dynamodb:Query action" (AntonShuvaev/intellij-dynamodb #29); SQS writes the action lower-cased, "sqs:
 * sendmessage on resource: arn:aws:sqs:... because no identity-based policy allows the sqs:sendmessage action"
 * (aws/serverless-application-model #3633); Secrets Manager names the resource as the caller gave the SecretId (a name:
 * "on resource: cfn/atlas/profile/development", mongodb/awscdk-resources-mongodbatlas #207) and words an explicit deny
 * "with an explicit deny in a resource-based policy" (cloud-custodian/cloud-custodian #10055); an action without a
 * resource type leaves "on resource" out: "is not authorized to perform: secretsmanager:ListSecrets because no
 * identity-based policy allows the secretsmanager:ListSecrets action" (Kralizek/AWSSecretsManagerConfigurationExtensions
 * #78); EKS "... eks:DescribeCluster on resource: arn:aws:eks:<region>:<acct>:cluster/<name> with an explicit deny"
 * (eksctl-io/eksctl #5831, no policy kind named there; assumed to name it like the others); API Gateway
 * "User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:..." (ASFHyP3/hyp3
 * #2283).
 */
import type { PolicyEvaluation } from './iam-policy-evaluation.js';

export interface DeniedRequest {
  /** The caller's ARN as STS reports it (a role session's assumed-role ARN), or `anonymous`. */
  caller: string;
  /** The action as the service writes it (SQS: lower-cased). */
  action: string;
  /** The resource as the service names it; `*` (no resource type) leaves "on resource" out. */
  resource: string;
}

export function accessDeniedMessage(request: DeniedRequest, evaluation: PolicyEvaluation): string {
  const onResource = request.resource === '*' ? '' : ` on resource: ${request.resource}`;
  const head = `User: ${request.caller} is not authorized to perform: ${request.action}${onResource}`;
  if (evaluation.decision === 'ExplicitlyDenied') {
    const kind = evaluation.deniedBy === 'resource' ? 'a resource-based' : 'an identity-based';
    return `${head} with an explicit deny in ${kind} policy`;
  }
  return `${head} because no identity-based policy allows the ${request.action} action`;
}
