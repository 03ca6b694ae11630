/**
 * The stack's configuration, read from CDK context (cdk.json "context", `cdk deploy -c key=value`, or a JSON file
 * of context values named by `-c contextFile=<file>`, which -c values override) and validated once, with zod, as
 * shared/config.ts validates the functions' environment. A bad value stops synth with an error naming the context
 * key, before anything is deployed. Values set with -c arrive as strings, values from cdk.json or a context file as
 * JSON: both are accepted. Where a key becomes a function's variable, its bounds, default and parser are the
 * functions' own (shared/config.ts, shared/namespace-settings.ts), so the stack refuses exactly what they would.
 *
 * The stack fails closed: it does not synthesize until the operator has said who may use which namespace
 * (`callerNamespaces`, or `insecureAnyCallerAnyNamespace=true` for a single-tenant stack) and which workspaces jobs
 * may use (`allowedDatabricksHosts`, or `insecureAnyDatabricksHost=true`). Workspace hosts follow the one pattern
 * rule of shared/databricks/workspace-hosts.ts; wildcards must also sit below a registrable domain
 * (host-pattern-suffix.ts).
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';
import { AUTH_TYPES } from '../shared/auth/auth-strategy.js';
import { secretNameTemplateProblem } from '../shared/auth/secret-name-template.js';
import { parseTokenFileDir } from '../shared/auth/token-file.js';
import { principalIdsOf } from '../shared/caller-namespaces.js';
import {
  DATABRICKS_API_VERSIONS,
  DEFAULT_DATABRICKS_API_VERSION,
  DEFAULT_SECRET_NAME_TEMPLATE,
  type IntegerSetting,
  NAMESPACE_SECRET_SOURCES,
  OIDC_SUBJECT_TOKEN_SOURCES,
  parseCallerNamespaces,
  SETTINGS,
} from '../shared/config.js';
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
import { CLIENT_ID, parseNamespaceOidcClientIds, parseNamespaceWorkspaces } from '../shared/namespace-settings.js';
import { publicSuffixProblem } from './host-pattern-suffix.js';

export const DEFAULT_STACK_NAME = 'FlyteDatabricksLambda';

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The retention periods CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Lambda allows 4 KB of environment in all; a larger CA is better read with eks:DescribeCluster. */
const MAX_CA_DATA_LENGTH = 2800;
const SECRET_NAME_CHARS = /^[A-Za-z0-9/_+=.@-]+$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
/** A Kubernetes Secret name (DNS-1123 subdomain), which also fits the secret name template's `{name}`. */
const KUBERNETES_SECRET_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

// How context values are read: each helper is a zod schema whose error (one for all its checks) says the rule and
// shows the value given.

const shown = (value: unknown): string => JSON.stringify(value) ?? String(value);
/** The error of a failed check: the rule, then the value given. */
const got = (rule: string) => ({ error: (issue: { input?: unknown }) => `${rule} (got ${shown(issue.input)})` });
/** Fails a transform with `message`. */
const fail = (ctx: z.RefinementCtx, message: string): never => {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
};

const string = z.string(got('must be a string'));
const text = (pattern: RegExp, rule: string) => string.regex(pattern, got(rule));

/** A -c string holding a number becomes the number; anything else is checked as given. */
const toNumber = (value: unknown) =>
  typeof value === 'string' && Number.isFinite(Number(value)) ? Number(value) : value;
const integer = (min: number, max: number) =>
  z.preprocess(
    toNumber,
    z
      .int(got(`must be an integer from ${min} to ${max}`))
      .min(min)
      .max(max),
  );
/** A setting the stack always passes on: the functions' bounds and default. */
const setting = ({ min, max, default: fallback }: IntegerSetting) => integer(min, max).default(fallback);
/** A setting the stack passes on only when set, leaving the functions' default otherwise. */
const optionalSetting = ({ min, max }: IntegerSetting) => integer(min, max).optional();

/** A switch: true or false (a -c string or JSON), `fallback` when unset. */
const switchOf = (fallback: boolean) =>
  z
    .preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean(got('must be true or false')))
    .default(fallback);
const flag = switchOf(false);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, got(`must be one of ${values.join(', ')}`));

/** A list: a JSON array (cdk.json, a context file), a JSON array's text, or a comma-separated string (-c). */
function toList(raw: unknown, ctx: z.RefinementCtx): unknown {
  let items = raw ?? [];
  if (typeof items === 'string') {
    try {
      items = items.startsWith('[') ? JSON.parse(items) : items.split(',');
    } catch {
      // Not JSON: refused below.
    }
    if (!Array.isArray(items)) {
      return fail(ctx, `must be a JSON array of strings or a comma-separated list (got ${shown(raw)})`);
    }
  }
  return Array.isArray(items)
    ? items.map((i) => (typeof i === 'string' ? i.trim() : i)).filter((i) => i !== '')
    : items;
}
/** A list of `item`s, each kept once (by `keyOf`). */
const list = <T>(item: z.ZodType<T, string>, keyOf: (value: T) => unknown = (value) => value) =>
  z
    .preprocess(toList, z.array(z.string(got('must hold only strings')).pipe(item), got('must be a list of strings')))
    .transform((values) => [...new Map(values.map((value) => [keyOf(value), value])).values()]);

/** A JSON object as cdk.json or a context file holds it, or its JSON text (-c): the text, as the functions read it. */
const jsonText = z.preprocess(
  (v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : v),
  z.string(got('must be a JSON object or its JSON text')),
);
/** Parsed by a parser of the functions, which returns the value or what is wrong. */
const parsedBy =
  <T>(parse: (text: string) => T | string) =>
  (text: string, ctx: z.RefinementCtx): T => {
    const parsed = parse(text);
    return typeof parsed === 'string' ? fail(ctx, parsed) : parsed;
  };

const HOST_EXAMPLE = 'dbc-123.cloud.databricks.com';
/** A workspace host pattern as users write it; `rule` says what the key takes; `exact` refuses wildcards. */
const hostPattern = (rule: string, exact = false) =>
  string.transform((host, ctx): HostPattern => {
    const pattern = parseHostPattern(host);
    if (isHostPatternProblem(pattern)) return fail(ctx, `${rule}: ${shown(host)} ${pattern.problem}`);
    if (pattern.wildcard && exact) return fail(ctx, `${rule}, not a wildcard (got ${shown(host)})`);
    const problem = pattern.wildcard ? publicSuffixProblem(pattern) : undefined;
    return problem === undefined ? pattern : fail(ctx, `${rule}: ${problem}`);
  });

/** A Secrets Manager secret name or full ARN. */
const secretId = string.refine(
  (id) => (id.startsWith('arn:') ? SECRET_ARN : SECRET_NAME_CHARS).test(id),
  got('must be a Secrets Manager secret name or ARN'),
);

/**
 * The fixed part of the secret name template, before its first placeholder: `flyte/{namespace}/{name}` gives
 * `flyte/`. secretsmanager:GetSecretValue is granted on `secret:<prefix>*` and nothing wider.
 */
export function secretNamePrefix(template: string): string {
  const brace = template.indexOf('{');
  return brace === -1 ? template : template.slice(0, brace);
}

/** The functions' rule (no two namespaces share a secret name), and what the grant on the prefix needs. */
function stackSecretNameTemplateProblem(template: string): string | undefined {
  const fixed = template.replaceAll('{namespace}', '').replaceAll('{name}', '');
  return (
    secretNameTemplateProblem(template) ??
    (fixed !== '' && !SECRET_NAME_CHARS.test(fixed)
      ? `may only use the characters Secrets Manager allows in names (got ${shown(template)})`
      : undefined) ??
    (secretNamePrefix(template) === ''
      ? `must start with a fixed prefix such as "flyte/" before the first placeholder, so secret access can be scoped to it (got ${shown(template)})`
      : undefined)
  );
}

// The context keys, grouped by concern. A key's comment says what it is for and which variable (→) it becomes.

/** Who may use which namespace and which workspaces jobs may use; the stack fails closed on these. */
const accessKeys = {
  /**
   * Caller ARN (exact, or ending in `/*`) or IAM unique id (AROA… role, AIDA… user) → namespaces (`*` for any), by
   * the functions' own rules. → CALLER_NAMESPACES. Its unique-id keys are the submit queue's direct producers.
   */
  callerNamespaces: jsonText
    .transform((json, ctx) => {
      const rules = parseCallerNamespaces(json);
      return typeof rules === 'string' ? fail(ctx, rules) : { text: json, principalIds: principalIdsOf(rules) };
    })
    .optional(),
  /** The explicit opt-out of callerNamespaces: any IAM-authorized caller may use any namespace. */
  insecureAnyCallerAnyNamespace: flag,
  /** Workspace host patterns jobs may name (exact host[:port] or `*.suffix`). → ALLOWED_DATABRICKS_HOSTS */
  allowedDatabricksHosts: list(
    hostPattern(`must list workspace hosts such as ${HOST_EXAMPLE} or *.cloud.databricks.com`),
    formatHostPattern,
  ),
  /** The explicit opt-out of allowedDatabricksHosts: jobs may name any https workspace. */
  insecureAnyDatabricksHost: flag,
  /**
   * Namespace (or `*`) → the exact workspace hosts its jobs may use and its credentials may be sent to, each allowed
   * by allowedDatabricksHosts when that is set. → NAMESPACE_WORKSPACES
   */
  namespaceWorkspaces: jsonText
    .transform(parsedBy(parseNamespaceWorkspaces))
    .transform((map, ctx) => {
      // The functions read an empty list as "no workspace at all"; in context it is a mistake.
      const empty = [...map.entries].find(([, hosts]) => hosts.length === 0);
      return empty ? fail(ctx, `must map ${shown(empty[0])} to a non-empty list of workspace hosts`) : map;
    })
    .optional(),
  /** The default workspace, allowed by allowedDatabricksHosts when that is set. → FLYTE_DATABRICKS_INSTANCE */
  databricksInstance: hostPattern(`must be a workspace host such as ${HOST_EXAMPLE}`, true).optional(),
  /** IAM principal ARNs allowed to call the API; empty: any principal the account's IAM policies allow. */
  apiAllowedPrincipalArns: list(
    text(
      /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)$/,
      'must list IAM role, user or account-root ARNs such as arn:aws:iam::123456789012:role/flyte-task',
    ),
  ),
};

/** How submit, poll and cancel authenticate to Databricks (shared/auth/README.md); unset: the functions' defaults. */
const authKeys = {
  /** → FLYTE_DATABRICKS_AUTH_TYPE; unset: the functions auto-detect per namespace. */
  databricksAuthType: oneOf(AUTH_TYPES).optional(),
  databricksApiVersion: oneOf(DATABRICKS_API_VERSIONS).default(DEFAULT_DATABRICKS_API_VERSION),
  /** → SECRET_NAME_TEMPLATE; its fixed prefix scopes secretsmanager:GetSecretValue. */
  secretNameTemplate: string
    .superRefine((template, ctx) => {
      const problem = stackSecretNameTemplateProblem(template);
      if (problem !== undefined) fail(ctx, problem);
    })
    .default(DEFAULT_SECRET_NAME_TEMPLATE),
  /** The connector-wide fallback PAT's secret. → FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID */
  fallbackTokenSecretId: secretId.optional(),
  /** → NAMESPACE_SECRET_SOURCE; with `kubernetes` no Secrets Manager prefix is granted. */
  namespaceSecretSource: oneOf(NAMESPACE_SECRET_SOURCES).optional(),
  /** → FLYTE_DATABRICKS_OAUTH_SECRET_NAME */
  oauthSecretName: text(
    KUBERNETES_SECRET_NAME,
    'must be a secret name of lower-case letters, digits, - and . such as databricks-oauth',
  ).optional(),
  /** The connector's own service principal (OAuth M2M, OIDC Model 1). → DATABRICKS_CLIENT_ID */
  databricksClientId: text(
    CLIENT_ID,
    "must be the service principal's application (client) id, e.g. a UUID",
  ).optional(),
  /** The connector's client secret's secret; GetSecretValue on exactly it. → DATABRICKS_CLIENT_SECRET_SECRET_ID */
  databricksClientSecretSecretId: secretId.optional(),
  /** Namespace → the service principal of OIDC Model 1 there. → NAMESPACE_OIDC_CLIENT_IDS */
  namespaceOidcClientIds: jsonText
    .transform(parsedBy(parseNamespaceOidcClientIds))
    .refine((map) => !map.entries.has('*'), {
      error: 'must not have a "*" entry: databricksClientId is the service principal of every other namespace',
    })
    .optional(),
  /** Absolute canonical directories a task's token file may be in; empty: none. → OIDC_TOKEN_FILE_DIRS */
  oidcTokenFileDirs: list(
    z.string().transform((dir, ctx) => {
      const parsed = parseTokenFileDir(dir);
      return 'problem' in parsed ? fail(ctx, `${parsed.problem} (got ${shown(dir)})`) : parsed.dir;
    }),
  ),
  /** Grant sts:GetWebIdentityToken (OIDC Model 1 on Lambda), conditioned on oidcAudience and the duration. */
  oidcModel1Sts: flag,
  /** → FLYTE_DATABRICKS_OIDC_AUDIENCE */
  oidcAudience: string
    .max(1000, { error: (issue) => `must be at most 1000 characters (got ${(issue.input as string).length})` })
    .optional(),
  /** → OIDC_SUBJECT_TOKEN_SOURCE; `sts` when oidcModel1Sts is true and it is unset. */
  oidcSubjectTokenSource: oneOf(OIDC_SUBJECT_TOKEN_SOURCES).optional(),
  /** → OIDC_STS_DURATION_SECONDS, with oidcModel1Sts always set: the grant's sts:DurationSeconds cap is this value. */
  oidcStsDurationSeconds: optionalSetting(SETTINGS.OIDC_STS_DURATION_SECONDS),
  /** → SECRET_CACHE_SECONDS */
  secretCacheSeconds: optionalSetting(SETTINGS.SECRET_CACHE_SECONDS),
};

/** The Kubernetes API (OIDC Model 2, Kubernetes secrets) and the functions' network. */
const clusterKeys = {
  /** Grant eks:DescribeCluster on this cluster. → EKS_CLUSTER_NAME */
  eksClusterName: text(
    /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/,
    'must be an EKS cluster name (letters, digits, - and _, at most 100)',
  ).optional(),
  /** → KUBERNETES_API_URL */
  eksApiEndpoint: text(/^https:\/\/[^\s/]+\/?$/, 'must be the https:// URL of the cluster API server').optional(),
  /** Base64 PEM of the cluster CA. → KUBERNETES_CA_DATA */
  eksCaData: text(/^[A-Za-z0-9+/]+={0,2}$/, 'must be the base64 of the cluster CA certificate (PEM)')
    .max(MAX_CA_DATA_LENGTH, {
      error: (issue) =>
        `must be at most ${MAX_CA_DATA_LENGTH} characters to fit Lambda's 4 KB environment (got ` +
        `${(issue.input as string).length}); omit it to have the functions read it with eks:DescribeCluster`,
    })
    .optional(),
  /** Model 2 ServiceAccount token lifetime. → KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS */
  saTokenExpirationSeconds: optionalSetting(SETTINGS.KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS),
  /** → NAMESPACE_DISCOVERY_CACHE_SECONDS */
  namespaceDiscoveryCacheSeconds: optionalSetting(SETTINGS.NAMESPACE_DISCOVERY_CACHE_SECONDS),
  /** Put the functions in this VPC's subnets (private EKS endpoints). Both or neither. */
  vpcId: text(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id such as vpc-0123456789abcdef0').optional(),
  subnetIds: list(text(/^subnet-[0-9a-f]{8,17}$/, 'must list subnet ids such as subnet-0123456789abcdef0')),
  /** Security groups for the functions in the VPC; one allowing all egress is created when none are given. */
  securityGroupIds: list(text(/^sg-[0-9a-f]{8,17}$/, 'must list security group ids such as sg-0123456789abcdef0')),
};

/** Polling, budgets, queues, retention, logs, alarms and limits. */
const operationsKeys = {
  pollIntervalMinSeconds: setting(SETTINGS.POLL_INTERVAL_MIN_SECONDS),
  pollIntervalMaxSeconds: setting(SETTINGS.POLL_INTERVAL_MAX_SECONDS),
  /** → POLL_INTERVAL_FRACTION: the wait between polls as a fraction of the run's age, within the bounds. */
  pollIntervalFraction: z
    .preprocess(toNumber, z.number(got('must be a number above 0 and at most 1')).gt(0).max(1))
    .default(DEFAULT_POLL_SCHEDULE.fraction),
  /** → WORKSPACE_API_BUDGET_RPS; 0 turns the budget and pacing off. */
  workspaceApiBudgetRps: setting(SETTINGS.WORKSPACE_API_BUDGET_RPS),
  /** Lower limits of single endpoints, `{"runs/submit": 10}` or `runs/submit=10`. → WORKSPACE_ENDPOINT_BUDGETS_RPS */
  workspaceEndpointBudgetsRps: z
    .preprocess(
      (v) =>
        typeof v === 'object' && v !== null && !Array.isArray(v)
          ? Object.entries(v)
              .map(([endpoint, rps]) => `${endpoint}=${String(rps)}`)
              .join(',')
          : v,
      z.string(got('must be an object or "<endpoint>=<rps>,..."')),
    )
    .transform((budgets, ctx) => {
      const parsed = parseEndpointBudgets(budgets);
      if ('problem' in parsed) return fail(ctx, parsed.problem);
      const entries = Object.entries(parsed.value).map(([endpoint, rps]) => `${endpoint}=${rps}`);
      return entries.length === 0 ? undefined : entries.join(',');
    })
    .optional(),
  /**
   * How long a container leaves a failing workspace alone before probing it, the first time and at most (doubling
   * between). → WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS, WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS (submit, poll,
   * cancel)
   */
  workspaceUnhealthyFirstBackoffSeconds: optionalSetting(SETTINGS.WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS),
  workspaceUnhealthyMaxBackoffSeconds: optionalSetting(SETTINGS.WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS),
  /** The jobs' item TTL. → JOB_RETENTION_DAYS */
  jobRetentionDays: setting(SETTINGS.JOB_RETENTION_DAYS),
  /** The queues' redrive maxReceiveCount, and the handlers' MAX_RECEIVE_COUNT: one value. */
  maxReceiveCount: setting(SETTINGS.MAX_RECEIVE_COUNT),
  logLevel: oneOf(LOG_LEVELS).default('INFO'),
  logRetentionDays: z
    .preprocess(toNumber, z.literal(LOG_RETENTION_DAYS, got(`must be one of ${LOG_RETENTION_DAYS.join(', ')}`)))
    .default(30),
  /** `retain` keeps the jobs table (deletion protection on) and the log groups when the stack is deleted. */
  removalPolicy: oneOf(['retain', 'destroy']).default('retain'),
  alarmTopicArn: text(
    /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/,
    'must be an SNS topic ARN',
  ).optional(),
  alarmEmail: text(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'must be an email address').optional(),
  apiThrottleRateLimit: integer(1, 10_000).default(50),
  apiThrottleBurstLimit: integer(1, 5_000).default(100),
  /** Lambda's SQS event source takes maxConcurrency from 2 to 1000: caps Databricks calls in flight. */
  submitMaxConcurrency: integer(2, 1000).default(5),
  pollMaxConcurrency: integer(2, 1000).default(10),
  cancelMaxConcurrency: integer(2, 1000).default(2),
  /** For `sam local` only: sets AWS_ENDPOINT_URL on every function. Never set it for AWS. */
  localAwsEndpointUrl: text(
    /^https?:\/\/[^\s/]+\/?$/,
    'must be an http(s) URL such as http://localstack:4566',
  ).optional(),
};

/**
 * The observability switches' defaults, the one place they are set (the README's Configuration table and the tests
 * read them from here).
 */
export const OBSERVABILITY_DEFAULTS = { tracing: true, metricsWorkspaceDimension: false } as const;

/** Traces and metrics (README, "Operations"). */
const observabilityKeys = {
  /**
   * X-Ray: Tracing Active on every function (and their X-Ray write permission), tracing on the API stage.
   * → POWERTOOLS_TRACE_ENABLED (every function)
   */
  tracing: switchOf(OBSERVABILITY_DEFAULTS.tracing),
  /**
   * WorkspaceCalls per workspace host (shared/metrics/metric-catalog.ts): one metric per host and status class, so
   * only for a fixed set of workspaces. → METRICS_WORKSPACE_DIMENSION (submit, poll, cancel)
   */
  metricsWorkspaceDimension: switchOf(OBSERVABILITY_DEFAULTS.metricsWorkspaceDimension),
};

const contextSchema = z.object({
  ...accessKeys,
  ...authKeys,
  ...clusterKeys,
  ...operationsKeys,
  ...observabilityKeys,
});
type ContextValues = z.output<typeof contextSchema>;

/** The context keys, as users type them. */
export type ContextKey = 'contextFile' | 'stackName' | keyof typeof contextSchema.shape;
export const CONTEXT_KEYS: readonly ContextKey[] = [
  'contextFile',
  'stackName',
  ...Object.keys(contextSchema.shape),
] as ContextKey[];

/** Rules between keys, in the order they are reported: the key to change, and how. */
function crossKeyProblems(c: ContextValues): [ContextKey, string][] {
  const allowed = c.allowedDatabricksHosts;
  const allowedText = allowed.map(formatHostPattern).join(', ');
  const outside = (pattern: HostPattern) => allowed.length > 0 && !anyHostMatches(allowed, patternOrigin(pattern));
  const strayHost = [...(c.namespaceWorkspaces?.entries ?? [])]
    .flatMap(([namespace, hosts]) => hosts.filter(outside).map((host) => [namespace, host] as const))
    .at(0);
  const kubernetesOnly = (['saTokenExpirationSeconds', 'namespaceDiscoveryCacheSeconds'] as const).find(
    (key) => c[key] !== undefined,
  );
  // The functions' defaults stand in for a backoff left unset; the one set is the one to change.
  const firstBackoff =
    c.workspaceUnhealthyFirstBackoffSeconds ?? SETTINGS.WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS.default;
  const maxBackoff = c.workspaceUnhealthyMaxBackoffSeconds ?? SETTINGS.WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS.default;
  const firstSet = c.workspaceUnhealthyFirstBackoffSeconds !== undefined;
  const maxShown = c.workspaceUnhealthyMaxBackoffSeconds === undefined ? `${maxBackoff}, its default` : maxBackoff;
  const rules: [boolean, ContextKey, string][] = [
    [
      c.databricksInstance !== undefined && outside(c.databricksInstance),
      'databricksInstance',
      `must be one of allowedDatabricksHosts (${allowedText}) (got ${shown(c.databricksInstance && formatHostPattern(c.databricksInstance))})`,
    ],
    [
      strayHost !== undefined,
      'namespaceWorkspaces',
      `each host of ${shown(strayHost?.[0])} must be one of allowedDatabricksHosts (${allowedText}) (got ${shown(strayHost && formatHostPattern(strayHost[1]))})`,
    ],
    [
      c.oidcModel1Sts && c.oidcAudience === undefined,
      'oidcAudience',
      'must be set when oidcModel1Sts is true (the audience STS tokens are for)',
    ],
    [
      c.oidcSubjectTokenSource === 'sts' && !c.oidcModel1Sts,
      'oidcModel1Sts',
      'must be true when oidcSubjectTokenSource is sts (it grants the functions sts:GetWebIdentityToken)',
    ],
    [
      c.oidcSubjectTokenSource === 'file' && c.oidcModel1Sts,
      'oidcSubjectTokenSource',
      'must be sts or auto when oidcModel1Sts is true (file never calls STS; Lambda has no projected token file)',
    ],
    [
      c.oidcStsDurationSeconds !== undefined && !c.oidcModel1Sts,
      'oidcModel1Sts',
      'must be true when oidcStsDurationSeconds is set (it applies to STS)',
    ],
    [
      (c.eksApiEndpoint !== undefined || c.eksCaData !== undefined) && c.eksClusterName === undefined,
      'eksClusterName',
      'must be set when eksApiEndpoint or eksCaData is',
    ],
    [
      c.namespaceSecretSource === 'kubernetes' && c.eksClusterName === undefined,
      'eksClusterName',
      "must be set when namespaceSecretSource is kubernetes (namespace secrets are read from that cluster's API)",
    ],
    [
      kubernetesOnly !== undefined && c.eksClusterName === undefined,
      'eksClusterName',
      `must be set when ${kubernetesOnly} is (it applies to the Kubernetes API only)`,
    ],
    [
      c.vpcId !== undefined && c.subnetIds.length === 0,
      'subnetIds',
      'must list the private subnets for the functions when vpcId is set',
    ],
    [
      c.vpcId === undefined && (c.subnetIds.length > 0 || c.securityGroupIds.length > 0),
      'vpcId',
      'must be set when subnetIds or securityGroupIds are',
    ],
    [
      c.metricsWorkspaceDimension && c.insecureAnyDatabricksHost,
      'metricsWorkspaceDimension',
      'must be false when insecureAnyDatabricksHost is true: jobs may then name any host, and a Workspace dimension ' +
        'a caller chooses has no bound (CloudWatch bills every host as a metric); list the workspaces in ' +
        'allowedDatabricksHosts instead',
    ],
    [
      c.pollIntervalMinSeconds > c.pollIntervalMaxSeconds,
      'pollIntervalMinSeconds',
      `must not exceed pollIntervalMaxSeconds (${c.pollIntervalMaxSeconds}) (got ${c.pollIntervalMinSeconds})`,
    ],
    [
      firstBackoff > maxBackoff,
      firstSet ? 'workspaceUnhealthyFirstBackoffSeconds' : 'workspaceUnhealthyMaxBackoffSeconds',
      firstSet
        ? `must not exceed workspaceUnhealthyMaxBackoffSeconds (${maxShown}) (got ${firstBackoff})`
        : `must be at least workspaceUnhealthyFirstBackoffSeconds (${firstBackoff}, its default) (got ${maxBackoff})`,
    ],
  ];
  return rules.filter(([broken]) => broken).map(([, key, message]) => [key, message]);
}

/** The configuration the stack builds from: hosts as the functions compare them, and what context implies. */
const stackConfigSchema = contextSchema
  .superRefine((c, ctx) => {
    for (const [key, message] of crossKeyProblems(c)) ctx.addIssue({ code: 'custom', path: [key], message });
  })
  .transform(({ allowedDatabricksHosts, databricksInstance, namespaceWorkspaces, namespaceOidcClientIds, ...c }) => ({
    ...c,
    allowedDatabricksHosts: allowedDatabricksHosts.map(formatHostPattern),
    databricksInstance: databricksInstance && formatHostPattern(databricksInstance),
    namespaceWorkspaces:
      namespaceWorkspaces &&
      Object.fromEntries(
        [...namespaceWorkspaces.entries].map(([ns, hosts]) => [ns, [...new Set(hosts.map(formatHostPattern))]]),
      ),
    namespaceOidcClientIds: namespaceOidcClientIds && Object.fromEntries(namespaceOidcClientIds.entries),
    oidcSubjectTokenSource: c.oidcSubjectTokenSource ?? (c.oidcModel1Sts ? ('sts' as const) : undefined),
    // With STS the variable is always set, so that the grant's condition and what the functions request are one value.
    oidcStsDurationSeconds: c.oidcModel1Sts
      ? (c.oidcStsDurationSeconds ?? SETTINGS.OIDC_STS_DURATION_SECONDS.default)
      : undefined,
    /** → CALLER_NAMESPACES (JSON text); unset only with insecureAnyCallerAnyNamespace. */
    callerNamespaces: c.callerNamespaces?.text,
    /** The callerNamespaces keys that are IAM unique ids: the submit queue's direct producers. */
    callerPrincipalIds: c.callerNamespaces?.principalIds ?? [],
  }));

export type StackConfig = z.output<typeof stackConfigSchema>;

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

/** The `keys`' values, trimmed, with null and blank as unset, parsed by `schema`; or its first problem, thrown. */
function parseContext<T>(schema: z.ZodType<T>, get: Lookup, keys: readonly ContextKey[] = CONTEXT_KEYS): T {
  const value = (raw: unknown) => {
    const trimmed = typeof raw === 'string' ? raw.trim() : raw;
    return trimmed === null || trimmed === '' ? undefined : trimmed;
  };
  const parsed = schema.safeParse(Object.fromEntries(keys.map((key) => [key, value(get(key))])));
  if (parsed.success) return parsed.data;
  const [issue] = parsed.error.issues;
  throw new StackConfigError(issue?.path[0] as ContextKey, issue?.message ?? 'is not valid');
}

/** Parses and validates the stack configuration; `get` is usually `(key) => app.node.tryGetContext(key)`. */
export function parseStackConfig(lookup: Lookup): StackConfig {
  const config = parseContext(stackConfigSchema, withContextFile(lookup));
  assertSafeToDeploy(config);
  return config;
}

/** The stack name: context `stackName`, letters, digits and hyphens as CloudFormation requires. */
export function parseStackName(lookup: Lookup): string {
  const stackName = text(
    /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
    'must start with a letter and hold only letters, digits and hyphens',
  ).default(DEFAULT_STACK_NAME);
  return parseContext(z.object({ stackName }), withContextFile(lookup), ['stackName']).stackName;
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
  const { contextFile: file } = parseContext(z.object({ contextFile: string.optional() }), get, [key]);
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
