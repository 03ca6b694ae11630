/**
 * The stack's configuration, read from CDK context (cdk.json "context", `cdk deploy -c key=value`, or a JSON file
 * of context values named by `-c contextFile=<file>`, which -c values override), validated once with defaults. A bad
 * value stops synth with an error naming the context key, before anything is deployed. Context values set with -c
 * arrive as strings, values from cdk.json or a context file as JSON: both are accepted.
 *
 * The stack fails closed: it does not synthesize until the operator has said who may use which namespace
 * (`callerNamespaces`, or `insecureAnyCallerAnyNamespace=true` for a single-tenant stack) and which workspaces jobs
 * may use (`allowedDatabricksHosts`, or `insecureAnyDatabricksHost=true`). Workspace hosts follow the one pattern
 * rule of shared/databricks/workspace-hosts.ts; wildcards must also sit below a registrable domain
 * (host-pattern-suffix.ts).
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AUTH_TYPES, type AuthType } from '../shared/auth/auth-strategy.js';
import { secretNameTemplateProblem } from '../shared/auth/secret-name-template.js';
import { parseTokenFileDir } from '../shared/auth/token-file.js';
import { principalIdsOf } from '../shared/caller-namespaces.js';
import { parseCallerNamespaces } from '../shared/config.js';
import { parseEndpointBudgets } from '../shared/databricks/workspace-call-budget.js';
import {
  anyHostMatches,
  formatHostPattern,
  type HostPattern,
  isHostPatternProblem,
  parseHostPattern,
  patternOrigin,
} from '../shared/databricks/workspace-hosts.js';
import { DEFAULT_POLL_SCHEDULE } from '../shared/jobs/poll-schedule.js';
import { NAMESPACE_MAX_LENGTH, NAMESPACE_PATTERN } from '../shared/jobs/submit-request.js';
import { publicSuffixProblem } from './host-pattern-suffix.js';

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const NAMESPACE_SECRET_SOURCES = ['secrets-manager', 'kubernetes'] as const;
export type NamespaceSecretSource = (typeof NAMESPACE_SECRET_SOURCES)[number];

export const OIDC_SUBJECT_TOKEN_SOURCES = ['auto', 'file', 'sts'] as const;
export type OidcSubjectTokenSource = (typeof OIDC_SUBJECT_TOKEN_SOURCES)[number];

/** What the functions request when OIDC_STS_DURATION_SECONDS is unset (shared/config.ts); the stack always sets it. */
export const DEFAULT_OIDC_STS_DURATION_SECONDS = 300;

/** The retention periods CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export interface StackConfig {
  /**
   * Workspace host patterns jobs may name (exact host[:port] or `*.suffix`), as formatHostPattern writes them; empty
   * only with insecureAnyDatabricksHost. → ALLOWED_DATABRICKS_HOSTS
   */
  allowedDatabricksHosts: string[];
  /** The explicit opt-out of allowedDatabricksHosts: jobs may name any https workspace. → INSECURE_ANY_DATABRICKS_HOST */
  insecureAnyDatabricksHost: boolean;
  /**
   * Namespace (or `*` for every namespace) → the exact workspace hosts its jobs may use and its credentials may be
   * sent to. → NAMESPACE_WORKSPACES (JSON)
   */
  namespaceWorkspaces?: Readonly<Record<string, readonly string[]>>;
  /** → FLYTE_DATABRICKS_INSTANCE */
  databricksInstance?: string;
  /** → FLYTE_DATABRICKS_AUTH_TYPE; unset: the functions auto-detect per namespace (shared/auth/README.md). */
  databricksAuthType?: AuthType;
  /** → DATABRICKS_API_VERSION */
  databricksApiVersion: '2.1' | '2.2';
  /** → SECRET_NAME_TEMPLATE; its fixed prefix scopes secretsmanager:GetSecretValue. */
  secretNameTemplate: string;
  /** Secrets Manager name or ARN of the connector-wide fallback PAT. → FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID */
  fallbackTokenSecretId?: string;
  /**
   * Where namespace secrets (`databricks-token`, `databricks-oauth`) are read. → NAMESPACE_SECRET_SOURCE. With
   * `kubernetes` the functions read them from the cluster, so no Secrets Manager prefix is granted.
   */
  namespaceSecretSource?: NamespaceSecretSource;
  /** Name of the per-namespace OAuth secret. → FLYTE_DATABRICKS_OAUTH_SECRET_NAME */
  oauthSecretName?: string;
  /** The connector's own service principal (OAuth M2M, OIDC Model 1). → DATABRICKS_CLIENT_ID */
  databricksClientId?: string;
  /**
   * Namespace → the service principal (application id) OIDC Model 1 uses for that namespace's jobs, instead of
   * databricksClientId. → NAMESPACE_OIDC_CLIENT_IDS (JSON)
   */
  namespaceOidcClientIds?: Readonly<Record<string, string>>;
  /**
   * Absolute directories a task's `databricksOidcTokenFile` may be read from; empty: tasks may not name token files.
   * → OIDC_TOKEN_FILE_DIRS
   */
  oidcTokenFileDirs: string[];
  /**
   * Secrets Manager name or ARN of the connector-level client secret (key `client_secret`, or a plain string);
   * GetSecretValue is granted on exactly this secret. → DATABRICKS_CLIENT_SECRET_SECRET_ID
   */
  databricksClientSecretSecretId?: string;
  /** Grant sts:GetWebIdentityToken (OIDC Model 1 on Lambda), conditioned on `oidcAudience` and the duration. */
  oidcModel1Sts: boolean;
  /** → FLYTE_DATABRICKS_OIDC_AUDIENCE (the STS token's audience; Model 2's default TokenRequest audience). */
  oidcAudience?: string;
  /** → OIDC_SUBJECT_TOKEN_SOURCE; `sts` when oidcModel1Sts is true and nothing else is set. */
  oidcSubjectTokenSource?: OidcSubjectTokenSource;
  /**
   * → OIDC_STS_DURATION_SECONDS; with oidcModel1Sts always set (300 unless given), so that the grant's
   * sts:DurationSeconds condition and what the functions request are one value.
   */
  oidcStsDurationSeconds?: number;
  /** Model 2 ServiceAccount token lifetime. → KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS */
  saTokenExpirationSeconds?: number;
  /** → SECRET_CACHE_SECONDS */
  secretCacheSeconds?: number;
  /** → NAMESPACE_DISCOVERY_CACHE_SECONDS */
  namespaceDiscoveryCacheSeconds?: number;
  /** Grant eks:DescribeCluster on this cluster (OIDC Model 2, Kubernetes secrets). */
  eksClusterName?: string;
  eksApiEndpoint?: string;
  /** Base64 PEM of the cluster CA. */
  eksCaData?: string;
  /** Put the functions in this VPC's subnets (private EKS endpoints). Both or neither. */
  vpcId?: string;
  subnetIds: string[];
  /** Security groups for the functions in the VPC; one allowing all egress is created when none are given. */
  securityGroupIds: string[];
  pollIntervalMinSeconds: number;
  pollIntervalMaxSeconds: number;
  /** → POLL_INTERVAL_FRACTION: the wait between polls as a fraction of the run's age, within the bounds. */
  pollIntervalFraction: number;
  /** → WORKSPACE_API_BUDGET_RPS: Jobs API requests a second one workspace's polls may cause; 0 turns pacing off. */
  workspaceApiBudgetRps: number;
  /** → WORKSPACE_ENDPOINT_BUDGETS_RPS: lower limits of single endpoints (`runs/submit=10`); undefined: none. */
  workspaceEndpointBudgetsRps: string | undefined;
  jobRetentionDays: number;
  logLevel: LogLevel;
  logRetentionDays: (typeof LOG_RETENTION_DAYS)[number];
  /** The queues' redrive maxReceiveCount, also given to the handlers as MAX_RECEIVE_COUNT. */
  maxReceiveCount: number;
  /** `retain` keeps the jobs table (deletion protection on) and the log groups when the stack is deleted. */
  removalPolicy: 'retain' | 'destroy';
  alarmTopicArn?: string;
  alarmEmail?: string;
  /** IAM principal ARNs allowed to call the API; empty means any principal the account's IAM policies allow. */
  apiAllowedPrincipalArns: string[];
  /**
   * Which namespaces each caller may use (CALLER_NAMESPACES, as JSON): caller ARN (exact, or ending in `/*`) or IAM
   * unique id (AROA… role, AIDA… user) to namespaces (`*` for any). Unset only with insecureAnyCallerAnyNamespace.
   */
  callerNamespaces?: string;
  /**
   * The callerNamespaces keys that are IAM unique ids (AROA… roles, AIDA… users): direct producers, which the
   * submit queue's policy lets send.
   */
  callerPrincipalIds: string[];
  /** The explicit opt-out of callerNamespaces: any IAM-authorized caller may use any namespace. */
  insecureAnyCallerAnyNamespace: boolean;
  apiThrottleRateLimit: number;
  apiThrottleBurstLimit: number;
  /** Upper bound on concurrent consumer invocations per queue (SQS event source maxConcurrency). */
  submitMaxConcurrency: number;
  pollMaxConcurrency: number;
  cancelMaxConcurrency: number;
  /** For `sam local` only: sets AWS_ENDPOINT_URL on every function. Never set it for AWS. */
  localAwsEndpointUrl?: string;
}

/** The context keys, as users type them. */
export const CONTEXT_KEYS = [
  'contextFile',
  'stackName',
  'allowedDatabricksHosts',
  'insecureAnyDatabricksHost',
  'namespaceWorkspaces',
  'databricksInstance',
  'databricksAuthType',
  'databricksApiVersion',
  'secretNameTemplate',
  'fallbackTokenSecretId',
  'namespaceSecretSource',
  'oauthSecretName',
  'databricksClientId',
  'databricksClientSecretSecretId',
  'namespaceOidcClientIds',
  'oidcTokenFileDirs',
  'oidcModel1Sts',
  'oidcAudience',
  'oidcSubjectTokenSource',
  'oidcStsDurationSeconds',
  'saTokenExpirationSeconds',
  'secretCacheSeconds',
  'namespaceDiscoveryCacheSeconds',
  'eksClusterName',
  'eksApiEndpoint',
  'eksCaData',
  'vpcId',
  'subnetIds',
  'securityGroupIds',
  'pollIntervalMinSeconds',
  'pollIntervalMaxSeconds',
  'pollIntervalFraction',
  'workspaceApiBudgetRps',
  'workspaceEndpointBudgetsRps',
  'jobRetentionDays',
  'logLevel',
  'logRetentionDays',
  'maxReceiveCount',
  'removalPolicy',
  'alarmTopicArn',
  'alarmEmail',
  'apiAllowedPrincipalArns',
  'callerNamespaces',
  'insecureAnyCallerAnyNamespace',
  'apiThrottleRateLimit',
  'apiThrottleBurstLimit',
  'submitMaxConcurrency',
  'pollMaxConcurrency',
  'cancelMaxConcurrency',
  'localAwsEndpointUrl',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

export const DEFAULT_STACK_NAME = 'FlyteDatabricksLambda';

export class StackConfigError extends Error {
  /** The context key at fault (the first of `keys`). */
  readonly key: ContextKey;
  /** Every context key the error is about. */
  readonly keys: readonly ContextKey[];

  /** One key: `problem` completes "CDK context '<key>' …". Several keys: `problem` is the whole message. */
  constructor(key: ContextKey | readonly [ContextKey, ...ContextKey[]], problem: string) {
    const keys: readonly [ContextKey, ...ContextKey[]] = typeof key === 'string' ? [key] : key;
    const where =
      key === 'contextFile'
        ? 'Pass it with: cdk deploy -c contextFile=<path from the project root>'
        : `Set it in cdk.json "context", in a contextFile, or with: cdk deploy -c ${key}=<value>`;
    super(typeof key === 'string' ? `CDK context '${key}' ${problem}. ${where}` : problem);
    this.name = 'StackConfigError';
    this.key = keys[0];
    this.keys = keys;
  }
}

type Lookup = (key: string) => unknown;

const SECRET_NAME_CHARS = /^[A-Za-z0-9/_+=.@-]+$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
const EKS_CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_CA_DATA_LENGTH = 2800;
/** A Kubernetes Secret name (DNS-1123 subdomain), which also fits the secret name template's `{name}`. */
const KUBERNETES_SECRET_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CLIENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const shown = (value: unknown): string => JSON.stringify(value) ?? String(value);

function optionalString(get: Lookup, key: ContextKey, pattern?: RegExp, rule?: string): string | undefined {
  const raw = get(key);
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') throw new StackConfigError(key, `must be a string (got ${shown(raw)})`);
  const value = raw.trim();
  if (value === '') return undefined;
  if (pattern && !pattern.test(value)) throw new StackConfigError(key, `${rule} (got ${shown(value)})`);
  return value;
}

/** A list as context gives it: a JSON array (cdk.json, a context file), a JSON array string, or comma-separated. */
function rawList(get: Lookup, key: ContextKey): string[] {
  const raw = get(key);
  if (raw === undefined || raw === null || raw === '') return [];
  let items: unknown[];
  if (Array.isArray(raw)) items = raw;
  else if (typeof raw === 'string' && raw.trim().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (!Array.isArray(parsed)) throw new Error('not an array');
      items = parsed;
    } catch {
      throw new StackConfigError(key, `must be a JSON array of strings or a comma-separated list (got ${shown(raw)})`);
    }
  } else if (typeof raw === 'string') items = raw.split(',');
  else throw new StackConfigError(key, `must be a list of strings (got ${shown(raw)})`);
  return items
    .map((item) => {
      if (typeof item !== 'string') throw new StackConfigError(key, `must hold only strings (got ${shown(item)})`);
      return item.trim();
    })
    .filter((value) => value !== '');
}

function stringList(get: Lookup, key: ContextKey, pattern: RegExp, rule: string): string[] {
  const values = rawList(get, key);
  for (const value of values) {
    if (!pattern.test(value)) throw new StackConfigError(key, `${rule} (got ${shown(value)})`);
  }
  return [...new Set(values)];
}

/** A JSON object: as an object (cdk.json, a context file) or as a JSON string (-c). Undefined when unset. */
function jsonObject(get: Lookup, key: ContextKey, shape: string): Record<string, unknown> | undefined {
  const raw = get(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new StackConfigError(key, `is not valid JSON; it must be a JSON object ${shape}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StackConfigError(key, `must be a JSON object ${shape} (got ${shown(raw)})`);
  }
  return value as Record<string, unknown>;
}

const isNamespace = (value: string): boolean => value.length <= NAMESPACE_MAX_LENGTH && NAMESPACE_PATTERN.test(value);

function integer(get: Lookup, key: ContextKey, fallback: number, min: number, max: number): number {
  const raw = get(key);
  if (raw === undefined || raw === null || raw === '') return fallback;
  const value = typeof raw === 'string' ? Number(raw.trim()) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new StackConfigError(key, `must be an integer from ${min} to ${max} (got ${shown(raw)})`);
  }
  return value;
}

/**
 * Lower limits of single Databricks endpoints, as `runs/submit=10,runs/cancel=5` or an object of them; parsed by the
 * functions' own parser (shared/databricks/workspace-call-budget.ts), so the stack refuses what they would.
 */
function endpointBudgets(get: Lookup): string | undefined {
  const key = 'workspaceEndpointBudgetsRps';
  const raw = get(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  const text =
    typeof raw === 'object' && !Array.isArray(raw)
      ? Object.entries(raw as Record<string, unknown>)
          .map(([endpoint, rps]) => `${endpoint}=${String(rps)}`)
          .join(',')
      : typeof raw === 'string'
        ? raw
        : undefined;
  if (text === undefined)
    throw new StackConfigError(key, `must be an object or "<endpoint>=<rps>,..." (got ${shown(raw)})`);
  const parsed = parseEndpointBudgets(text);
  if ('problem' in parsed) throw new StackConfigError(key, parsed.problem);
  const entries = Object.entries(parsed.value);
  return entries.length === 0 ? undefined : entries.map(([endpoint, rps]) => `${endpoint}=${rps}`).join(',');
}

/** A number above 0 and at most 1. */
function fraction(get: Lookup, key: ContextKey, fallback: number): number {
  const raw = get(key);
  if (raw === undefined || raw === null || raw === '') return fallback;
  const value = typeof raw === 'string' ? Number(raw.trim()) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
    throw new StackConfigError(key, `must be a number above 0 and at most 1 (got ${shown(raw)})`);
  }
  return value;
}

function boolean(get: Lookup, key: ContextKey, fallback: boolean): boolean {
  const raw = get(key);
  if (raw === undefined || raw === null || raw === '') return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new StackConfigError(key, `must be true or false (got ${shown(raw)})`);
}

function oneOf<T extends string | number>(get: Lookup, key: ContextKey, allowed: readonly T[], fallback: T): T {
  const raw = get(key);
  if (raw === undefined || raw === null || raw === '') return fallback;
  const value = typeof allowed[0] === 'number' && typeof raw === 'string' ? Number(raw.trim()) : raw;
  const match = allowed.find((a) => a === value);
  if (match === undefined) {
    throw new StackConfigError(key, `must be one of ${allowed.join(', ')} (got ${shown(raw)})`);
  }
  return match;
}

function optionalInteger(get: Lookup, key: ContextKey, min: number, max: number): number | undefined {
  const raw = get(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  return integer(get, key, min, min, max);
}

function optionalOneOf<T extends string>(get: Lookup, key: ContextKey, allowed: readonly T[]): T | undefined {
  const raw = get(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  return oneOf(get, key, allowed, allowed[0] as T);
}

/** A Secrets Manager secret name or full ARN, as `fallbackTokenSecretId` and `databricksClientSecretSecretId` take. */
function secretId(get: Lookup, key: ContextKey): string | undefined {
  const id = optionalString(get, key);
  if (id !== undefined && !(id.startsWith('arn:') ? SECRET_ARN : SECRET_NAME_CHARS).test(id)) {
    throw new StackConfigError(key, `must be a Secrets Manager secret name or ARN (got ${shown(id)})`);
  }
  return id;
}

/** A workspace host pattern as users write it, or a StackConfigError naming the key and what is wrong. */
function hostPattern(key: ContextKey, text: string, rule: string): HostPattern {
  const parsed = parseHostPattern(text);
  if (isHostPatternProblem(parsed)) throw new StackConfigError(key, `${rule}: ${shown(text)} ${parsed.problem}`);
  return parsed;
}

/** allowedDatabricksHosts: exact hosts or wildcards, a wildcard's suffix below a registrable domain. */
function allowedHostPatterns(get: Lookup): HostPattern[] {
  const key = 'allowedDatabricksHosts';
  const rule = 'must list workspace hosts such as dbc-123.cloud.databricks.com or *.cloud.databricks.com';
  const patterns = rawList(get, key).map((text) => {
    const pattern = hostPattern(key, text, rule);
    const problem = publicSuffixProblem(pattern);
    if (problem) throw new StackConfigError(key, `${rule}: ${problem}`);
    return pattern;
  });
  const byText = new Map(patterns.map((pattern) => [formatHostPattern(pattern), pattern]));
  return [...byText.values()];
}

/** An exact workspace host (no wildcard) that the allowlist, when there is one, allows. */
function exactHost(key: ContextKey, text: string, allowed: readonly HostPattern[], what: string): HostPattern {
  const subject = what === '' ? '' : `${what} `;
  const pattern = hostPattern(key, text, `${subject}must be a workspace host such as dbc-123.cloud.databricks.com`);
  if (pattern.wildcard) {
    throw new StackConfigError(
      key,
      `${subject}must be a workspace host such as dbc-123.cloud.databricks.com, not a wildcard (got ${shown(text)})`,
    );
  }
  if (allowed.length > 0 && !anyHostMatches(allowed, patternOrigin(pattern))) {
    throw new StackConfigError(
      key,
      `${subject}must be one of allowedDatabricksHosts (${allowed.map(formatHostPattern).join(', ')}) (got ${shown(text)})`,
    );
  }
  return pattern;
}

const NAMESPACE_WORKSPACES_SHAPE =
  'mapping namespaces (or "*" for every namespace) to lists of exact workspace hosts, e.g. ' +
  '{"flytesnacks-development": ["dbc-123.cloud.databricks.com"]}';

/** namespaceWorkspaces: namespace or "*" → exact hosts, each allowed by allowedDatabricksHosts when that is set. */
function namespaceWorkspaces(
  get: Lookup,
  allowed: readonly HostPattern[],
): Readonly<Record<string, readonly string[]>> | undefined {
  const key = 'namespaceWorkspaces';
  const value = jsonObject(get, key, NAMESPACE_WORKSPACES_SHAPE);
  if (value === undefined) return undefined;
  const result: Record<string, string[]> = {};
  for (const [namespace, hosts] of Object.entries(value)) {
    if (namespace !== '*' && !isNamespace(namespace)) {
      throw new StackConfigError(key, `key ${shown(namespace)} is neither "*" nor a Kubernetes namespace name`);
    }
    if (!Array.isArray(hosts) || hosts.length === 0 || hosts.some((host) => typeof host !== 'string')) {
      throw new StackConfigError(
        key,
        `must map ${shown(namespace)} to a non-empty list of workspace hosts; it is a JSON object ${NAMESPACE_WORKSPACES_SHAPE}`,
      );
    }
    const exact = (hosts as string[]).map((host) =>
      formatHostPattern(exactHost(key, host, allowed, `each host of ${shown(namespace)}`)),
    );
    result[namespace] = [...new Set(exact)];
  }
  return result;
}

/** namespaceOidcClientIds: namespace → the service principal application id OIDC Model 1 uses for it. */
function namespaceOidcClientIds(get: Lookup): Readonly<Record<string, string>> | undefined {
  const key = 'namespaceOidcClientIds';
  const value = jsonObject(
    get,
    key,
    'mapping namespaces to service principal application ids, e.g. {"flytesnacks-development": "6f1c2d3e-…"}',
  );
  if (value === undefined) return undefined;
  const result: Record<string, string> = {};
  for (const [namespace, clientId] of Object.entries(value)) {
    if (!isNamespace(namespace)) {
      throw new StackConfigError(
        key,
        `key ${shown(namespace)} is not a Kubernetes namespace name (the default for every namespace is databricksClientId)`,
      );
    }
    if (typeof clientId !== 'string' || !CLIENT_ID.test(clientId.trim())) {
      throw new StackConfigError(
        key,
        `must map ${shown(namespace)} to a service principal's application (client) id, e.g. a UUID (got ${shown(clientId)})`,
      );
    }
    result[namespace] = clientId.trim();
  }
  return result;
}

/** oidcTokenFileDirs: absolute, canonical directories (no `.`, `..` or `//`), never `/` itself. */
function oidcTokenFileDirs(get: Lookup): string[] {
  const key = 'oidcTokenFileDirs';
  const dirs = rawList(get, key).map((text) => {
    const parsed = parseTokenFileDir(text);
    if ('problem' in parsed) throw new StackConfigError(key, `${parsed.problem} (got ${shown(text)})`);
    return parsed.dir;
  });
  return [...new Set(dirs)];
}

/**
 * The fixed part of the secret name template, before its first placeholder: `flyte/{namespace}/{name}` gives
 * `flyte/`. secretsmanager:GetSecretValue is granted on `secret:<prefix>*` and nothing wider.
 */
export function secretNamePrefix(template: string): string {
  const brace = template.indexOf('{');
  return brace === -1 ? template : template.slice(0, brace);
}

function parseSecretNameTemplate(get: Lookup): string {
  const key = 'secretNameTemplate';
  const template = optionalString(get, key) ?? 'flyte/{namespace}/{name}';
  const collision = secretNameTemplateProblem(template);
  if (collision) throw new StackConfigError(key, collision);
  const fixed = template.replaceAll('{namespace}', '').replaceAll('{name}', '');
  if (fixed !== '' && !SECRET_NAME_CHARS.test(fixed)) {
    throw new StackConfigError(
      key,
      `may only use the characters Secrets Manager allows in names (got ${shown(template)})`,
    );
  }
  if (secretNamePrefix(template) === '') {
    throw new StackConfigError(
      key,
      `must start with a fixed prefix such as "flyte/" before the first placeholder, so secret access can be scoped to it (got ${shown(template)})`,
    );
  }
  return template;
}

/** Parses and validates the stack configuration; `get` is usually `(key) => app.node.tryGetContext(key)`. */
export function parseStackConfig(lookup: Lookup): StackConfig {
  const get = withContextFile(lookup);
  const allowedPatterns = allowedHostPatterns(get);
  const allowedDatabricksHosts = allowedPatterns.map(formatHostPattern);
  const instance = optionalString(get, 'databricksInstance');
  const databricksInstance =
    instance === undefined
      ? undefined
      : formatHostPattern(exactHost('databricksInstance', instance, allowedPatterns, ''));

  const fallbackTokenSecretId = secretId(get, 'fallbackTokenSecretId');
  const databricksClientSecretSecretId = secretId(get, 'databricksClientSecretSecretId');
  const oauthSecretName = optionalString(
    get,
    'oauthSecretName',
    KUBERNETES_SECRET_NAME,
    'must be a secret name of lower-case letters, digits, - and . such as databricks-oauth',
  );
  const databricksClientId = optionalString(
    get,
    'databricksClientId',
    CLIENT_ID,
    "must be the service principal's application (client) id, e.g. a UUID",
  );

  const oidcModel1Sts = boolean(get, 'oidcModel1Sts', false);
  const oidcAudience = optionalString(get, 'oidcAudience');
  if (oidcModel1Sts && oidcAudience === undefined) {
    throw new StackConfigError(
      'oidcAudience',
      'must be set when oidcModel1Sts is true (the audience STS tokens are for)',
    );
  }
  if (oidcAudience !== undefined && oidcAudience.length > 1000) {
    throw new StackConfigError('oidcAudience', `must be at most 1000 characters (got ${oidcAudience.length})`);
  }
  const oidcSubjectTokenSource =
    optionalOneOf(get, 'oidcSubjectTokenSource', OIDC_SUBJECT_TOKEN_SOURCES) ?? (oidcModel1Sts ? 'sts' : undefined);
  if (oidcSubjectTokenSource === 'sts' && !oidcModel1Sts) {
    throw new StackConfigError(
      'oidcModel1Sts',
      'must be true when oidcSubjectTokenSource is sts (it grants the functions sts:GetWebIdentityToken)',
    );
  }
  if (oidcSubjectTokenSource === 'file' && oidcModel1Sts) {
    throw new StackConfigError(
      'oidcSubjectTokenSource',
      'must be sts or auto when oidcModel1Sts is true (file never calls STS; Lambda has no projected token file)',
    );
  }
  // STS accepts 60 to 3600; the grant's sts:DurationSeconds condition allows exactly what the functions request.
  const stsDuration = optionalInteger(get, 'oidcStsDurationSeconds', 60, 3600);
  if (stsDuration !== undefined && !oidcModel1Sts) {
    throw new StackConfigError('oidcModel1Sts', 'must be true when oidcStsDurationSeconds is set (it applies to STS)');
  }
  const oidcStsDurationSeconds = oidcModel1Sts ? (stsDuration ?? DEFAULT_OIDC_STS_DURATION_SECONDS) : undefined;

  const eksClusterName = optionalString(
    get,
    'eksClusterName',
    EKS_CLUSTER_NAME,
    'must be an EKS cluster name (letters, digits, - and _, at most 100)',
  );
  const eksApiEndpoint = optionalString(
    get,
    'eksApiEndpoint',
    /^https:\/\/[^\s/]+\/?$/,
    'must be the https:// URL of the cluster API server',
  );
  const eksCaData = optionalString(get, 'eksCaData', BASE64, 'must be the base64 of the cluster CA certificate (PEM)');
  if (eksCaData !== undefined && eksCaData.length > MAX_CA_DATA_LENGTH) {
    // Lambda allows 4 KB of environment in all; leave it out and the functions can read it with DescribeCluster.
    throw new StackConfigError(
      'eksCaData',
      `must be at most ${MAX_CA_DATA_LENGTH} characters to fit Lambda's 4 KB environment (got ${eksCaData.length}); omit it to have the functions read it with eks:DescribeCluster`,
    );
  }
  if ((eksApiEndpoint !== undefined || eksCaData !== undefined) && eksClusterName === undefined) {
    throw new StackConfigError('eksClusterName', 'must be set when eksApiEndpoint or eksCaData is');
  }
  const namespaceSecretSource = optionalOneOf(get, 'namespaceSecretSource', NAMESPACE_SECRET_SOURCES);
  if (namespaceSecretSource === 'kubernetes' && eksClusterName === undefined) {
    throw new StackConfigError(
      'eksClusterName',
      "must be set when namespaceSecretSource is kubernetes (namespace secrets are read from that cluster's API)",
    );
  }
  // The TokenRequest API accepts 600 s to the cluster's maximum (24 h by default).
  const saTokenExpirationSeconds = optionalInteger(get, 'saTokenExpirationSeconds', 600, 86_400);
  const namespaceDiscoveryCacheSeconds = optionalInteger(get, 'namespaceDiscoveryCacheSeconds', 0, 3600);
  for (const [key, value] of [
    ['saTokenExpirationSeconds', saTokenExpirationSeconds],
    ['namespaceDiscoveryCacheSeconds', namespaceDiscoveryCacheSeconds],
  ] as const) {
    if (value !== undefined && eksClusterName === undefined) {
      throw new StackConfigError(
        'eksClusterName',
        `must be set when ${key} is (it applies to the Kubernetes API only)`,
      );
    }
  }

  const vpcId = optionalString(get, 'vpcId', VPC_ID, 'must be a VPC id such as vpc-0123456789abcdef0');
  const subnetIds = stringList(get, 'subnetIds', SUBNET_ID, 'must list subnet ids such as subnet-0123456789abcdef0');
  const securityGroupIds = stringList(
    get,
    'securityGroupIds',
    SECURITY_GROUP_ID,
    'must list security group ids such as sg-0123456789abcdef0',
  );
  if (vpcId !== undefined && subnetIds.length === 0) {
    throw new StackConfigError('subnetIds', 'must list the private subnets for the functions when vpcId is set');
  }
  if (vpcId === undefined && (subnetIds.length > 0 || securityGroupIds.length > 0)) {
    throw new StackConfigError('vpcId', 'must be set when subnetIds or securityGroupIds are');
  }

  const pollIntervalMinSeconds = integer(get, 'pollIntervalMinSeconds', DEFAULT_POLL_SCHEDULE.minSeconds, 0, 900);
  const pollIntervalMaxSeconds = integer(get, 'pollIntervalMaxSeconds', DEFAULT_POLL_SCHEDULE.maxSeconds, 0, 900);
  if (pollIntervalMinSeconds > pollIntervalMaxSeconds) {
    throw new StackConfigError(
      'pollIntervalMinSeconds',
      `must not exceed pollIntervalMaxSeconds (${pollIntervalMaxSeconds}) (got ${pollIntervalMinSeconds})`,
    );
  }

  const apiThrottleRateLimit = integer(get, 'apiThrottleRateLimit', 50, 1, 10_000);
  const apiThrottleBurstLimit = integer(get, 'apiThrottleBurstLimit', 100, 1, 5_000);

  const callers = callerNamespaces(get);
  const insecureAnyCallerAnyNamespace = boolean(get, 'insecureAnyCallerAnyNamespace', false);
  const insecureAnyDatabricksHost = boolean(get, 'insecureAnyDatabricksHost', false);
  assertSafeToDeploy({
    callerNamespaces: callers?.text,
    insecureAnyCallerAnyNamespace,
    allowedDatabricksHosts,
    insecureAnyDatabricksHost,
  });

  return {
    allowedDatabricksHosts,
    insecureAnyDatabricksHost,
    namespaceWorkspaces: namespaceWorkspaces(get, allowedPatterns),
    databricksInstance,
    // No default: unset lets the functions auto-detect per namespace.
    databricksAuthType: optionalOneOf(get, 'databricksAuthType', AUTH_TYPES),
    databricksApiVersion: oneOf(get, 'databricksApiVersion', ['2.1', '2.2'] as const, '2.2'),
    secretNameTemplate: parseSecretNameTemplate(get),
    fallbackTokenSecretId,
    namespaceSecretSource,
    oauthSecretName,
    databricksClientId,
    databricksClientSecretSecretId,
    namespaceOidcClientIds: namespaceOidcClientIds(get),
    oidcTokenFileDirs: oidcTokenFileDirs(get),
    oidcModel1Sts,
    oidcAudience,
    oidcSubjectTokenSource,
    oidcStsDurationSeconds,
    saTokenExpirationSeconds,
    secretCacheSeconds: optionalInteger(get, 'secretCacheSeconds', 0, 3600),
    namespaceDiscoveryCacheSeconds,
    eksClusterName,
    eksApiEndpoint,
    eksCaData,
    vpcId,
    subnetIds,
    securityGroupIds,
    pollIntervalMinSeconds,
    pollIntervalMaxSeconds,
    pollIntervalFraction: fraction(get, 'pollIntervalFraction', DEFAULT_POLL_SCHEDULE.fraction),
    // Databricks sets per-workspace Jobs API limits; the default leaves room under the commonly documented ones.
    workspaceApiBudgetRps: integer(get, 'workspaceApiBudgetRps', 20, 0, 10_000),
    workspaceEndpointBudgetsRps: endpointBudgets(get),
    jobRetentionDays: integer(get, 'jobRetentionDays', 30, 1, 3650),
    logLevel: oneOf(get, 'logLevel', LOG_LEVELS, 'INFO'),
    logRetentionDays: oneOf(get, 'logRetentionDays', LOG_RETENTION_DAYS, 30),
    // SQS allows 1..1000; the handlers' MAX_RECEIVE_COUNT has the same bounds.
    maxReceiveCount: integer(get, 'maxReceiveCount', 5, 1, 1000),
    removalPolicy: oneOf(get, 'removalPolicy', ['retain', 'destroy'] as const, 'retain'),
    alarmTopicArn: optionalString(get, 'alarmTopicArn', SNS_TOPIC_ARN, 'must be an SNS topic ARN'),
    alarmEmail: optionalString(get, 'alarmEmail', EMAIL, 'must be an email address'),
    apiAllowedPrincipalArns: stringList(
      get,
      'apiAllowedPrincipalArns',
      PRINCIPAL_ARN,
      'must list IAM role, user or account-root ARNs such as arn:aws:iam::123456789012:role/flyte-task',
    ),
    callerNamespaces: callers?.text,
    callerPrincipalIds: callers?.principalIds ?? [],
    insecureAnyCallerAnyNamespace,
    apiThrottleRateLimit,
    apiThrottleBurstLimit,
    // Lambda's SQS event source takes maxConcurrency from 2 to 1000.
    submitMaxConcurrency: integer(get, 'submitMaxConcurrency', 5, 2, 1000),
    pollMaxConcurrency: integer(get, 'pollMaxConcurrency', 10, 2, 1000),
    cancelMaxConcurrency: integer(get, 'cancelMaxConcurrency', 2, 2, 1000),
    localAwsEndpointUrl: optionalString(
      get,
      'localAwsEndpointUrl',
      /^https?:\/\/[^\s/]+\/?$/,
      'must be an http(s) URL such as http://localstack:4566',
    ),
  };
}

/** The stack name: context `stackName`, letters, digits and hyphens as CloudFormation requires. */
export function parseStackName(lookup: Lookup): string {
  return (
    optionalString(
      withContextFile(lookup),
      'stackName',
      /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
      'must start with a letter and hold only letters, digits and hyphens',
    ) ?? DEFAULT_STACK_NAME
  );
}

/** What the stack must be told before it is safe to deploy, and the explicit opt-out of each. */
const REQUIRED_DECISIONS = [
  {
    key: 'callerNamespaces',
    optOut: 'insecureAnyCallerAnyNamespace',
    text:
      'callerNamespaces (who may use which namespace; or insecureAnyCallerAnyNamespace=true for a single-tenant ' +
      'stack)',
  },
  {
    key: 'allowedDatabricksHosts',
    optOut: 'insecureAnyDatabricksHost',
    text:
      'allowedDatabricksHosts (which Databricks workspaces jobs may use and credentials may be sent to; or ' +
      'insecureAnyDatabricksHost=true to let jobs name any https workspace)',
  },
] as const satisfies ReadonlyArray<{ key: ContextKey; optOut: ContextKey; text: string }>;

/**
 * Fails closed: the stack refuses to synthesize until the operator has said who may use which namespace and which
 * workspaces jobs may use, each either set or explicitly opted out of (never both). One error names everything
 * missing.
 */
function assertSafeToDeploy(decisions: {
  callerNamespaces: string | undefined;
  insecureAnyCallerAnyNamespace: boolean;
  allowedDatabricksHosts: readonly string[];
  insecureAnyDatabricksHost: boolean;
}): void {
  const isSet = {
    callerNamespaces: decisions.callerNamespaces !== undefined,
    allowedDatabricksHosts: decisions.allowedDatabricksHosts.length > 0,
  };
  const optedOut = {
    callerNamespaces: decisions.insecureAnyCallerAnyNamespace,
    allowedDatabricksHosts: decisions.insecureAnyDatabricksHost,
  };
  for (const { key, optOut } of REQUIRED_DECISIONS) {
    if (isSet[key] && optedOut[key]) {
      throw new StackConfigError(
        optOut,
        `must not be true when ${key} is set: keep ${key} (the secure choice) and drop ${optOut}, or the other way round`,
      );
    }
  }
  const missing = REQUIRED_DECISIONS.filter(({ key }) => !isSet[key] && !optedOut[key]);
  const [first, ...rest] = missing;
  if (first === undefined) return;
  throw new StackConfigError(
    [first.key, ...rest.map(({ key }) => key)],
    `CDK context is not safe to deploy: set ${missing.map(({ text }) => text).join(' and ')}. Set ` +
      `${missing.length > 1 ? 'them' : 'it'} in a context file (cdk deploy -c contextFile=<file>; ` +
      'infra/example.context.json is an example), in cdk.json "context", or with cdk deploy -c <key>=<value>; see ' +
      'infra/README.md',
  );
}

/**
 * The lookup with the `contextFile` context value applied: a JSON object of context values in that file (relative
 * to the project root, the working directory of cdk and the tests), used for every key the context itself does not
 * set, so -c values (and cdk.json's) win over the file.
 */
export function withContextFile(get: Lookup, root: string = process.cwd()): Lookup {
  const key = 'contextFile';
  const file = optionalString(get, key);
  if (file === undefined) return get;
  const path = resolve(root, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new StackConfigError(key, `names a file that cannot be read: ${path} (${code})`);
  }
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (error) {
    throw new StackConfigError(key, `names a file that is not valid JSON: ${path} (${(error as Error).message})`);
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new StackConfigError(key, `names a file that does not hold a JSON object of context values: ${path}`);
  }
  const known: ReadonlySet<string> = new Set(CONTEXT_KEYS.filter((k) => k !== key));
  const unknown = Object.keys(values).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new StackConfigError(
      key,
      `names a file with keys that are not context keys of this stack: ${unknown.map(shown).join(', ')} (${path})`,
    );
  }
  const fromFile = values as Record<string, unknown>;
  return (name) => {
    const value = get(name);
    return value === undefined && Object.hasOwn(fromFile, name) ? fromFile[name] : value;
  };
}

/**
 * Accepts the map as a JSON string or as an object in cdk.json or a context file; validated by the same rules the
 * functions apply. Also returns the keys that are IAM unique ids (AROA…, AIDA…): the direct producers.
 */
function callerNamespaces(get: Lookup): { text: string; principalIds: string[] } | undefined {
  const key = 'callerNamespaces';
  const raw = get(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  const parsed = parseCallerNamespaces(text);
  if (typeof parsed === 'string') throw new StackConfigError(key, parsed);
  return { text, principalIds: principalIdsOf(parsed) };
}
