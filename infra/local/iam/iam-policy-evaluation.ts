/**
 * One IAM decision: identity policies plus (when the resource has one) its resource policy, evaluated by
 * @cloud-copilot/iam-simulate (AGPL-3.0, a devDependency: this file lives under infra/local, which no function bundle
 * includes; test/unit/iam/no-agpl-in-bundles.test.ts holds the bundles to that). Same-account requests only, as the
 * local stack has one account: either kind of policy may allow, an explicit Deny in either wins.
 *
 * A request the simulator cannot evaluate (an action IAM does not know, a resource of the wrong type, a malformed
 * policy) is denied and says why: the local stack fails closed, as a typo in a policy would on AWS.
 */
import { getDenialReasons, type RequestAnalysis, runSimulation } from '@cloud-copilot/iam-simulate';

/** An IAM policy statement as JSON (resolved: concrete ARNs, no CloudFormation intrinsics). */
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  NotPrincipal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

/** An identity policy attached to a principal, by the name IAM knows it (e.g. the template's logical id). */
export interface NamedPolicy {
  name: string;
  document: PolicyDocument;
}

export type ContextValues = Record<string, string | string[]>;

export interface PolicyEvaluationInput {
  /** The caller as IAM sees it: a role session's `arn:aws:sts::<acct>:assumed-role/<role>/<session>`, a user's ARN. */
  principal: string;
  accountId: string;
  action: string;
  resource: string;
  context: ContextValues;
  identityPolicies: readonly NamedPolicy[];
  resourcePolicy?: PolicyDocument | undefined;
}

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface PolicyEvaluation {
  decision: Decision;
  /** Which kind of policy denied explicitly (ExplicitlyDenied only). */
  deniedBy?: 'identity' | 'resource';
  /** Why the simulator could not evaluate the request (then ImplicitlyDenied). */
  error?: string;
}

export async function evaluatePolicies(input: PolicyEvaluationInput): Promise<PolicyEvaluation> {
  const response = await runSimulation(
    {
      request: {
        principal: input.principal,
        action: input.action,
        resource: { resource: input.resource, accountId: input.accountId },
        contextVariables: input.context,
      },
      identityPolicies: input.identityPolicies.map((policy) => ({ name: policy.name, policy: policy.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(input.resourcePolicy ? { resourcePolicy: input.resourcePolicy } : {}),
    },
    { simulationMode: 'Strict' },
  );
  if (response.resultType === 'error') return { decision: 'ImplicitlyDenied', error: response.errors.message };
  const analyses: RequestAnalysis[] =
    response.resultType === 'single' ? [response.result.analysis] : response.results.map((r) => r.analysis);
  const decision = response.overallResult as Decision;
  if (decision !== 'ExplicitlyDenied') return { decision };
  const explicit = analyses.flatMap((analysis) => getDenialReasons(analysis)).find((r) => r.denialType === 'Explicit');
  return { decision, deniedBy: explicit?.policyType === 'resource' ? 'resource' : 'identity' };
}
