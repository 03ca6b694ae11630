/**
 * Who signs the local stack's AWS requests, and with what policies: each function's execution role (from the
 * template, its policies resolved to the local ARNs), a session of which each function's environments run as, as on
 * Lambda; the local caller (an IAM user allowed to invoke the API and send to the submit queue, as an operator grants
 * a Flyte task role); further callers a scenario adds; and the operator (the account's administrator: the stack's own
 * inspection clients and the CLI without credentials of its own). Every key pair is generated at start.
 */
import { randomBytes } from 'node:crypto';
import type { NamedPolicy, PolicyDocument } from './iam/iam-policy-evaluation.js';
import type { IamPrincipalInit } from './iam/iam-principals.js';
import { type IntrinsicScope, resolveIntrinsics } from './template/intrinsics.js';
import { LOCAL_CALLER, LOCAL_OPERATOR } from './template/local-context.js';
import { uniqueIdFor } from './template/physical-resources.js';
import type { StackTemplate, TemplateFunction } from './template/stack-template.js';

export interface AccessKeyPair {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A further caller a scenario adds: its keys and who it is. */
export interface ApiCaller {
  accessKeyId: string;
  secretAccessKey: string;
  /** `arn:aws:iam::<acct>:user/<name>` or `arn:aws:iam::<acct>:role/<name>`. */
  principalArn: string;
  /** Its IAM unique id (`AIDA…`/`AROA…`); derived from the ARN when not given. */
  principalId?: string;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const randomId = (length: number) => [...randomBytes(length)].map((byte) => ID_ALPHABET[byte % 32]).join('');

/** An IAM-shaped key pair: `AKIA` (long-term, a user's) or `ASIA` (temporary, a role session's, with a token). */
export function generateAccessKeyPair(kind: 'AKIA' | 'ASIA' = 'AKIA'): AccessKeyPair {
  const secretAccessKey = randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
  return {
    accessKeyId: `${kind}${randomId(16)}`,
    secretAccessKey,
    ...(kind === 'ASIA' ? { sessionToken: randomBytes(48).toString('base64') } : {}),
  };
}

export interface FunctionPrincipal {
  fn: TemplateFunction;
  /** The function's physical name (also its role session's name, as Lambda names it). */
  functionName: string;
  roleArn: string;
  roleId: string;
  keys: AccessKeyPair;
  init: IamPrincipalInit;
}

/** Each function's role session: its keys and its role's policies, resolved in `scope`. */
export function functionPrincipals(template: StackTemplate, scope: IntrinsicScope): FunctionPrincipal[] {
  return template.functions.map((fn) => {
    const role = template.roles.find((r) => r.logicalId === fn.roleLogicalId);
    if (!role) throw new Error(`${fn.logicalId}: its role ${fn.roleLogicalId} is not in the template`);
    const physical = scope.resources.get(role.logicalId);
    const roleArn = physical?.attributes.Arn ?? '';
    const roleId = physical?.attributes.RoleId ?? '';
    const functionName = scope.resources.get(fn.logicalId)?.ref ?? fn.logicalId;
    const keys = generateAccessKeyPair('ASIA');
    const policies: NamedPolicy[] = role.policies.map((policy) => ({
      name: policy.name,
      document: resolveIntrinsics(policy.document, scope, `${role.logicalId}.${policy.name}`) as PolicyDocument,
    }));
    return {
      fn,
      functionName,
      roleArn,
      roleId,
      keys,
      init: {
        name: fn.logicalId,
        accessKeyId: keys.accessKeyId,
        secretAccessKey: keys.secretAccessKey,
        ...(keys.sessionToken ? { sessionToken: keys.sessionToken } : {}),
        principalArn: roleArn,
        uniqueId: roleId,
        sessionName: functionName,
        policies,
      },
    };
  });
}

/** What an operator grants a Flyte task role: invoke the API, send to the submit queue. */
function callerPolicy(apiArns: readonly string[], submitQueueArn: string | undefined): NamedPolicy {
  return {
    name: 'FlyteDatabricksCaller',
    document: {
      Version: '2012-10-17',
      Statement: [
        ...(apiArns.length ? [{ Effect: 'Allow' as const, Action: 'execute-api:Invoke', Resource: [...apiArns] }] : []),
        ...(submitQueueArn ? [{ Effect: 'Allow' as const, Action: 'sqs:SendMessage', Resource: submitQueueArn }] : []),
      ],
    },
  };
}

export interface LocalPrincipals {
  caller: AccessKeyPair & { principalArn: string; principalId: string };
  operator: AccessKeyPair & { principalArn: string; principalId: string };
  apiCallers: Array<ApiCaller & { principalId: string }>;
  inits: IamPrincipalInit[];
}

/** The local caller, the scenario's callers and the operator. */
export function localPrincipals(options: {
  apiArns: readonly string[];
  submitQueueArn: string | undefined;
  apiCallers: readonly ApiCaller[];
}): LocalPrincipals {
  const policy = callerPolicy(options.apiArns, options.submitQueueArn);
  const callerKeys = generateAccessKeyPair('AKIA');
  // Fixed and dummy: what the CLI signs with when no AWS credentials are configured (shared/cli), and what the test
  // runner's own SDK clients use (vitest.config.ts), so both act as the account's operator.
  const operatorKeys = { ...LOCAL_OPERATOR.keys };
  const caller = { ...callerKeys, principalArn: LOCAL_CALLER.arn, principalId: LOCAL_CALLER.uniqueId };
  const operator = { ...operatorKeys, principalArn: LOCAL_OPERATOR.arn, principalId: LOCAL_OPERATOR.uniqueId };
  const apiCallers = options.apiCallers.map((c) => ({
    ...c,
    principalId: c.principalId ?? uniqueIdFor(c.principalArn.includes(':role/') ? 'AROA' : 'AIDA', c.principalArn),
  }));
  const admin: NamedPolicy = {
    name: 'AdministratorAccess',
    document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
  };
  return {
    caller,
    operator,
    apiCallers,
    inits: [
      {
        name: 'LocalCaller',
        ...callerKeys,
        principalArn: caller.principalArn,
        uniqueId: caller.principalId,
        policies: [policy],
      },
      {
        name: 'Operator',
        ...operatorKeys,
        principalArn: operator.principalArn,
        uniqueId: operator.principalId,
        sessionName: 'operator',
        policies: [admin],
      },
      ...apiCallers.map((c, index) => ({
        name: `ApiCaller${index + 1}`,
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        principalArn: c.principalArn,
        uniqueId: c.principalId,
        policies: [policy],
      })),
    ],
  };
}
