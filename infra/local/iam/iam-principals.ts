/**
 * The local stack's IAM principals: who each access key is (a role session, as Lambda runs a function, or an IAM
 * user), the identity policies it has, and the resource policies of the stack's resources (the queues'). `authorize`
 * decides one request as IAM would and answers AWS's message when it is denied; every decision is recorded, so that
 * `report()` tells, per principal, what it was granted, what it used and what it never used (least privilege,
 * measured), and lists every call that was denied.
 *
 * Identities as AWS shows them (IAM user guide, "IAM identifiers" and the aws:userid table of "AWS global condition
 * context keys"): a role session's ARN is `arn:aws:sts::<acct>:assumed-role/<role name>/<session name>`, its
 * aws:userid `<role id AROA...>:<session name>` and its aws:PrincipalArn the role's ARN; a user's ARN is both its ARN
 * and its aws:PrincipalArn, its aws:userid its unique id (`AIDA...`). The session name defaults to the access key id,
 * as the local STS emulator answers GetCallerIdentity for a role key (../emulators/sts.ts).
 */
import { accessDeniedMessage } from './access-denied-message.js';
import {
  type ContextValues,
  type Decision,
  evaluatePolicies,
  type NamedPolicy,
  type PolicyDocument,
  type PolicyEvaluation,
} from './iam-policy-evaluation.js';
import {
  type DeniedCall,
  type Grant,
  grantsOf,
  type LeastPrivilegeReport,
  principalUsage,
  sortDeniedCalls,
} from './least-privilege-report.js';

export interface IamPrincipalInit {
  /** How reports name it: the function's logical id (`SubmitFunction`), `LocalCaller`... */
  name: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** `arn:aws:iam::<acct>:role/<name>` (its sessions sign) or `arn:aws:iam::<acct>:user/<name>`. */
  principalArn: string;
  /** The role's or user's IAM unique id: `AROA...` or `AIDA...`. */
  uniqueId: string;
  /** A role session's name; default the access key id. */
  sessionName?: string;
  /** Its identity policies, resolved (concrete local ARNs). */
  policies: readonly NamedPolicy[];
}

export interface IamPrincipal extends Readonly<IamPrincipalInit> {
  kind: 'role' | 'user';
  accountId: string;
  /** The caller as STS GetCallerIdentity reports it (a role session's assumed-role ARN; a user's ARN). */
  sessionArn: string;
  /** aws:userid: `<AROA...>:<session>` for a role session, the user id for a user (also SQS's SenderId). */
  userId: string;
}

/** One permission check: an action on a resource, with the request's own condition keys. */
export interface AuthorizationRequest {
  action: string;
  resource: string;
  context?: ContextValues;
  /** The action as the service writes it in its message (SQS lower-cases it). Default `action`. */
  messageAction?: string;
  /** The resource as the service names it in its message (Secrets Manager: the SecretId given). Default `resource`. */
  messageResource?: string;
  /** The resource's policy, overriding the registry's (an API's resource policy). */
  resourcePolicy?: PolicyDocument;
}

export interface AuthorizationDecision {
  allowed: boolean;
  decision: Decision;
  principal: string;
  action: string;
  resource: string;
  /** AWS's message for a denied request. */
  message?: string;
}

export interface IamPrincipalsOptions {
  accountId: string;
  principals?: readonly IamPrincipalInit[];
  /** Resource ARN -> its resource policy (SQS queue policies). */
  resourcePolicies?: Record<string, PolicyDocument>;
  /** Milliseconds since the epoch, for aws:CurrentTime / aws:EpochTime; defaults to Date.now. */
  clock?: () => number;
}

/** How many distinct requests' decisions are kept (the oldest dropped first). */
const MAX_MEMOIZED_DECISIONS = 10_000;

const ROLE_ARN = /^arn:(aws[\w-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/;

export class IamPrincipals {
  private readonly accountId: string;
  private readonly clock: () => number;
  private readonly byKey = new Map<string, IamPrincipal>();
  private readonly byName = new Map<string, { principal: IamPrincipal; grants: Grant[] }>();
  private readonly resourcePolicies = new Map<string, PolicyDocument>();
  /** Principal name -> `<action> on <resource>` -> allowed calls. */
  private readonly allowed = new Map<string, Map<string, number>>();
  private readonly denied = new Map<string, DeniedCall>();
  private readonly decisions = new Map<string, Promise<PolicyEvaluation>>();
  private readonly policyIds = new Map<PolicyDocument, number>();

  constructor(options: IamPrincipalsOptions) {
    this.accountId = options.accountId;
    this.clock = options.clock ?? Date.now;
    for (const principal of options.principals ?? []) this.add(principal);
    for (const [arn, policy] of Object.entries(options.resourcePolicies ?? {})) this.setResourcePolicy(arn, policy);
  }

  add(init: IamPrincipalInit): IamPrincipal {
    if (this.byKey.has(init.accessKeyId)) throw new Error(`access key ${init.accessKeyId} is already registered`);
    if (this.byName.has(init.name)) throw new Error(`principal ${init.name} is already registered`);
    const role = ROLE_ARN.exec(init.principalArn);
    const accountId = init.principalArn.split(':')[4] || this.accountId;
    const sessionName = init.sessionName ?? init.accessKeyId;
    const principal: IamPrincipal = role
      ? {
          ...init,
          kind: 'role',
          accountId,
          sessionName,
          sessionArn: `arn:${role[1]}:sts::${role[2]}:assumed-role/${role[3]}/${sessionName}`,
          userId: `${init.uniqueId}:${sessionName}`,
        }
      : { ...init, kind: 'user', accountId, sessionArn: init.principalArn, userId: init.uniqueId };
    this.byKey.set(init.accessKeyId, principal);
    this.byName.set(init.name, { principal, grants: grantsOf(init.policies) });
    return principal;
  }

  setResourcePolicy(resourceArn: string, policy: PolicyDocument | undefined): void {
    if (policy) this.resourcePolicies.set(resourceArn, policy);
    else this.resourcePolicies.delete(resourceArn);
  }

  byAccessKeyId(accessKeyId: string): IamPrincipal | undefined {
    return this.byKey.get(accessKeyId);
  }

  /** The secret of a registered key (the SigV4 verifier's credential lookup). */
  readonly secretOf = (accessKeyId: string): string | undefined => this.byKey.get(accessKeyId)?.secretAccessKey;

  all(): IamPrincipal[] {
    return [...this.byKey.values()];
  }

  /** Decides one request as IAM would, and records the decision for report(). */
  async authorize(principal: IamPrincipal, request: AuthorizationRequest): Promise<AuthorizationDecision> {
    const now = this.clock();
    const context: ContextValues = {
      'aws:PrincipalArn': principal.principalArn,
      'aws:PrincipalAccount': principal.accountId,
      'aws:PrincipalType': principal.kind === 'role' ? 'AssumedRole' : 'User',
      'aws:userid': principal.userId,
      'aws:CurrentTime': new Date(now).toISOString(),
      'aws:EpochTime': String(Math.floor(now / 1000)),
      ...(principal.kind === 'user' ? { 'aws:username': principal.principalArn.split('/').pop() ?? '' } : {}),
      ...request.context,
    };
    const resourcePolicy = request.resourcePolicy ?? this.resourcePolicies.get(request.resource);
    const evaluation = await this.evaluate(principal, request, context, resourcePolicy);
    const call = `${request.action} on ${request.resource}`;
    if (evaluation.decision === 'Allowed') {
      const calls = this.allowed.get(principal.name) ?? new Map<string, number>();
      calls.set(call, (calls.get(call) ?? 0) + 1);
      this.allowed.set(principal.name, calls);
      const { action, resource } = request;
      return { allowed: true, decision: 'Allowed', principal: principal.name, action, resource };
    }
    const message = accessDeniedMessage(
      {
        caller: principal.sessionArn,
        action: request.messageAction ?? request.action,
        resource: request.messageResource ?? request.resource,
      },
      evaluation,
    );
    const key = `${principal.name}\n${call}\n${message}`;
    const seen = this.denied.get(key);
    if (seen) seen.count += 1;
    else {
      this.denied.set(key, {
        principal: principal.name,
        action: request.action,
        resource: request.resource,
        message: evaluation.error ? `${message} (not evaluated: ${evaluation.error})` : message,
        count: 1,
      });
    }
    return {
      allowed: false,
      decision: evaluation.decision,
      principal: principal.name,
      action: request.action,
      resource: request.resource,
      message,
    };
  }

  /**
   * The simulator's decision, memoized: it takes milliseconds, and the same principal makes the same request again
   * and again (a poll's GetItem, SendMessage...). The time keys are left out of the memo's key: no policy of the
   * stack conditions on time (a policy that did would need them back).
   */
  private async evaluate(
    principal: IamPrincipal,
    request: AuthorizationRequest,
    context: ContextValues,
    resourcePolicy: PolicyDocument | undefined,
  ) {
    const { 'aws:CurrentTime': _now, 'aws:EpochTime': _epoch, ...timeless } = context;
    const policyKey = resourcePolicy
      ? (this.policyIds.get(resourcePolicy) ??
        this.policyIds.set(resourcePolicy, this.policyIds.size + 1).get(resourcePolicy))
      : 0;
    const key = JSON.stringify([principal.name, request.action, request.resource, policyKey, timeless]);
    let decided = this.decisions.get(key);
    if (!decided) {
      decided = evaluatePolicies({
        principal: principal.sessionArn,
        accountId: this.accountId,
        action: request.action,
        resource: request.resource,
        context,
        identityPolicies: principal.policies,
        resourcePolicy,
      });
      this.decisions.set(key, decided);
      if (this.decisions.size > MAX_MEMOIZED_DECISIONS)
        this.decisions.delete(this.decisions.keys().next().value as string);
    }
    return decided;
  }

  /** Granted, used and unused per principal (every registered one, by name), and every denied call; sorted. */
  report(): LeastPrivilegeReport {
    const names = [...this.byName.keys()].sort();
    return {
      principals: Object.fromEntries(
        names.map((name) => [
          name,
          principalUsage(this.byName.get(name)?.grants ?? [], this.allowed.get(name) ?? new Map()),
        ]),
      ),
      deniedCalls: sortDeniedCalls(this.denied.values()),
    };
  }
}
