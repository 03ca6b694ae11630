/**
 * Every environment variable the functions read, parsed and validated once. A bad value fails the first
 * invocation with a message naming the variable; nothing else in the code reads process.env.
 */
import * as z from 'zod';
import { AUTH_TYPES } from './auth/auth-strategy.js';
import { secretNameTemplateProblem } from './auth/secret-name-template.js';
import { parseTokenFileDir } from './auth/token-file.js';
import { parseCallerNamespaces } from './caller-namespaces.js';
import { parseEndpointBudgets } from './databricks/workspace-call-budget.js';
import { DEFAULT_WORKSPACE_HEALTH } from './databricks/workspace-health.js';
import { type HostPattern, parseHostPattern } from './databricks/workspace-hosts.js';
import { DEFAULT_POLL_SCHEDULE } from './jobs/poll-schedule.js';
import { parseNamespaceOidcClientIds, parseNamespaceWorkspaces } from './namespace-settings.js';

export { type CallerNamespaceRule, parseCallerNamespaces } from './caller-namespaces.js';

/** A whole-number setting: the values allowed and the one the functions apply when it is unset. */
export interface IntegerSetting {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

/**
 * The whole-number settings the stack also takes as context keys (infra/stack-config.ts): their bounds and defaults
 * are defined here only. The stack checks the same bounds, and either always sets the variable (with this default)
 * or leaves it out when its key is unset, so the functions apply it.
 */
export const SETTINGS = {
  /** The poll schedule's bounds (shared/jobs/poll-schedule.ts); at most SQS's 900 s delay. */
  POLL_INTERVAL_MIN_SECONDS: { min: 0, max: 900, default: DEFAULT_POLL_SCHEDULE.minSeconds },
  POLL_INTERVAL_MAX_SECONDS: { min: 0, max: 900, default: DEFAULT_POLL_SCHEDULE.maxSeconds },
  /** Databricks sets per-workspace Jobs API limits; 20 leaves room under the commonly documented ones. */
  WORKSPACE_API_BUDGET_RPS: { min: 0, max: 10_000, default: 20 },
  /**
   * How long a container leaves a failing workspace alone (shared/databricks/workspace-health.ts): the first time, and
   * at most (the wait doubles after each failed probe). At least 1 s (0 would never hold a call back); at most SQS's
   * 900 s delay, so a job deferred for the whole wait comes back once, when it is over.
   */
  WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: {
    min: 1,
    max: 900,
    default: DEFAULT_WORKSPACE_HEALTH.firstBackoffMs / 1000,
  },
  WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: { min: 1, max: 900, default: DEFAULT_WORKSPACE_HEALTH.maxBackoffMs / 1000 },
  /** SQS's redrive maxReceiveCount allows 1 to 1000. */
  MAX_RECEIVE_COUNT: { min: 1, max: 1000, default: 5 },
  JOB_RETENTION_DAYS: { min: 1, max: 3650, default: 30 },
  SECRET_CACHE_SECONDS: { min: 0, max: 3600, default: 60 },
  NAMESPACE_DISCOVERY_CACHE_SECONDS: { min: 0, max: 3600, default: 300 },
  /** The TokenRequest API accepts 600 s to the cluster's maximum (24 h by default). */
  KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS: { min: 600, max: 86_400, default: 3600 },
  /** STS GetWebIdentityToken accepts 60 to 3600 s. */
  OIDC_STS_DURATION_SECONDS: { min: 60, max: 3600, default: 300 },
} as const satisfies Record<string, IntegerSetting>;

export const DEFAULT_SECRET_NAME_TEMPLATE = 'flyte/{namespace}/{name}';
export const DATABRICKS_API_VERSIONS = ['2.1', '2.2'] as const;
export const DEFAULT_DATABRICKS_API_VERSION = '2.2';
export const NAMESPACE_SECRET_SOURCES = ['secrets-manager', 'kubernetes'] as const;
export const OIDC_SUBJECT_TOKEN_SOURCES = ['auto', 'file', 'sts'] as const;

const integer = ({ min, max, default: fallback }: IntegerSetting) =>
  z.coerce.number().int().min(min).max(max).default(fallback);
const seconds = (fallback: number, max: number) => integer({ min: 0, max, default: fallback });
const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((v) => v === 'true' || v === '1');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v?.trim() ? v.trim() : undefined));

const configSchema = z
  .object({
    JOBS_TABLE_NAME: z.string().min(1),
    SUBMIT_QUEUE_URL: z.url(),
    POLL_QUEUE_URL: z.url(),
    CANCEL_QUEUE_URL: z.url(),
    /** Default workspace host when a task names none (upstream contract). */
    FLYTE_DATABRICKS_INSTANCE: optionalString,
    /** Unset: auto-detect (the namespace first, then the connector's own configuration). */
    FLYTE_DATABRICKS_AUTH_TYPE: z.preprocess((v) => (v === '' ? undefined : v), z.enum(AUTH_TYPES).optional()),
    /** Connector-wide fallback PAT (upstream contract). Prefer the Secrets Manager id below on Lambda. */
    FLYTE_DATABRICKS_ACCESS_TOKEN: optionalString,
    /** Secrets Manager id (name or ARN) of the connector-wide fallback PAT; key `token` or a plain string. */
    FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID: optionalString,
    FLYTE_DATABRICKS_SERVICE_CREDENTIAL_PROVIDER: optionalString,
    /** Where namespace secrets (`databricks-token`, `databricks-oauth`) are read from. */
    NAMESPACE_SECRET_SOURCE: z.enum(NAMESPACE_SECRET_SOURCES).default('secrets-manager'),
    /** Name of the per-namespace OAuth secret (upstream contract). */
    FLYTE_DATABRICKS_OAUTH_SECRET_NAME: z.string().min(1).default('databricks-oauth'),
    /** Connector-level service principal (upstream contract: no FLYTE_ prefix). */
    DATABRICKS_CLIENT_ID: optionalString,
    DATABRICKS_CLIENT_SECRET: optionalString,
    /** Secrets Manager id holding the connector-level `client_secret` (preferred over the plain variable on Lambda). */
    DATABRICKS_CLIENT_SECRET_SECRET_ID: optionalString,
    /** OIDC Model 1 subject token file, then AWS_WEB_IDENTITY_TOKEN_FILE, then /var/run/secrets/databricks/token. */
    FLYTE_DATABRICKS_OIDC_TOKEN_FILE: optionalString,
    AWS_WEB_IDENTITY_TOKEN_FILE: optionalString,
    /** Default OIDC audience (Model 2 TokenRequest audience when the SA has none; the STS JWT's audience). */
    FLYTE_DATABRICKS_OIDC_AUDIENCE: z.string().min(1).default('databricks'),
    /** Model 1 subject token: a file, STS GetWebIdentityToken, or `auto` (a file if one exists, else STS). */
    OIDC_SUBJECT_TOKEN_SOURCE: z.enum(OIDC_SUBJECT_TOKEN_SOURCES).default('auto'),
    OIDC_STS_DURATION_SECONDS: integer(SETTINGS.OIDC_STS_DURATION_SECONDS),
    /** Kubernetes API for Model 2 and Kubernetes secrets: URL + CA, and an EKS token for the named cluster. */
    KUBERNETES_API_URL: optionalString,
    KUBERNETES_CA_DATA: optionalString,
    EKS_CLUSTER_NAME: optionalString,
    /** A static bearer token for the Kubernetes API (local stack, or a cluster that is not EKS). */
    KUBERNETES_TOKEN: optionalString,
    KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS: integer(SETTINGS.KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS),
    NAMESPACE_DISCOVERY_CACHE_SECONDS: integer(SETTINGS.NAMESPACE_DISCOVERY_CACHE_SECONDS),
    /** Where a namespace's secrets live in Secrets Manager; `{namespace}` and `{name}` are substituted. */
    SECRET_NAME_TEMPLATE: z
      .string()
      .default(DEFAULT_SECRET_NAME_TEMPLATE)
      .superRefine((template, ctx) => {
        const problem = secretNameTemplateProblem(template);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    /** How long a warm container may reuse a secret value it read; a 401 drops it sooner. */
    SECRET_CACHE_SECONDS: integer(SETTINGS.SECRET_CACHE_SECONDS),
    /** The poll schedule (shared/jobs/poll-schedule.ts): the wait is a fraction of the run's time, within bounds. */
    POLL_INTERVAL_MIN_SECONDS: integer(SETTINGS.POLL_INTERVAL_MIN_SECONDS),
    POLL_INTERVAL_MAX_SECONDS: integer(SETTINGS.POLL_INTERVAL_MAX_SECONDS),
    POLL_INTERVAL_FRACTION: z.coerce.number().gt(0).max(1).default(DEFAULT_POLL_SCHEDULE.fraction),
    /**
     * Requests a second one workspace may get from the connector, every call together: runs/submit, runs/get,
     * runs/cancel and token requests (shared/databricks/workspace-call-budget.ts), with polls spread to fit it
     * (shared/jobs/workspace-pacing.ts). 0 turns the budget and pacing off.
     */
    WORKSPACE_API_BUDGET_RPS: integer(SETTINGS.WORKSPACE_API_BUDGET_RPS),
    /**
     * Lower limits of single endpoints within the budget, for workspaces whose limits are lower there:
     * `runs/submit=10,runs/cancel=5` (endpoints: runs/submit, runs/get, runs/cancel, token).
     */
    WORKSPACE_ENDPOINT_BUDGETS_RPS: z
      .string()
      .default('')
      .transform((text, ctx) => {
        const parsed = parseEndpointBudgets(text);
        if ('problem' in parsed) {
          ctx.addIssue({ code: 'custom', message: parsed.problem });
          return z.NEVER;
        }
        return parsed.value;
      }),
    /**
     * The DynamoDB table of the workspaces' call ledgers, which makes the budget hold across containers. Unset, each
     * container keeps its own (exact for one container only: local scripts and tests).
     */
    WORKSPACE_BUDGET_TABLE_NAME: optionalString,
    /**
     * The workspace circuit breaker (shared/databricks/workspace-health.ts): how long a container refuses calls to a
     * workspace it found failing before one call probes it, the first time; each failed probe doubles the wait, up to
     * the maximum. Its jobs wait, deferred, meanwhile.
     */
    WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS: integer(SETTINGS.WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS),
    WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS: integer(SETTINGS.WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS),
    /**
     * Liveness (shared/jobs/liveness.ts): a poll that changes nothing still refreshes the job's heartbeat once it is
     * this old, so an unchanged job costs one write per HEARTBEAT_SECONDS. The default is 10 times the longest poll
     * interval: at most one unchanged poll in ten writes.
     */
    HEARTBEAT_SECONDS: seconds(1800, 86_400),
    /** The sweeper rescues a job that has not ended and whose heartbeat is older than this. */
    STALE_AFTER_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .default(3600),
    /** Rescues a job may have; found stale once more, it ends RETRYABLE_FAILED with the reason. */
    MAX_RESCUES: z.coerce.number().int().min(0).max(100).default(3),
    /** At most this many stale jobs are looked at per sweep (spread over the liveness shards). */
    SWEEP_MAX_JOBS: z.coerce.number().int().min(1).max(1000).default(100),
    /** The queues' redrive maxReceiveCount: on the last receive a handler records why the job failed. */
    MAX_RECEIVE_COUNT: integer(SETTINGS.MAX_RECEIVE_COUNT),
    JOB_RETENTION_DAYS: integer(SETTINGS.JOB_RETENTION_DAYS),
    DATABRICKS_API_VERSION: z.enum(DATABRICKS_API_VERSIONS).default(DEFAULT_DATABRICKS_API_VERSION),
    /**
     * Workspace host patterns a job may name, comma-separated (`dbc-1.cloud.databricks.com`, `*.cloud.databricks.com`,
     * `host:8443`; shared/databricks/workspace-hosts.ts). Any other host is refused before a credential is read. Unset,
     * only FLYTE_DATABRICKS_INSTANCE is allowed, unless INSECURE_ANY_DATABRICKS_HOST opts out of the allowlist.
     */
    ALLOWED_DATABRICKS_HOSTS: z.string().default('').transform(hostPatterns),
    /** Explicit opt-out of the allowlist: jobs may name any https workspace (upstream's behaviour). */
    INSECURE_ANY_DATABRICKS_HOST: flag,
    /**
     * Which workspaces each namespace's jobs may use, and so where its credentials may be sent: a JSON object from a
     * namespace (or "*" for every namespace) to exact workspace hosts. A namespace's own credentials may also name
     * their workspaces (a `host` key in its secret, a `flyte.org/databricks-host` ServiceAccount annotation).
     */
    NAMESPACE_WORKSPACES: optionalString.transform(parsedOrNever(parseNamespaceWorkspaces)),
    /** OIDC Model 1 (the connector's identity): the service principal per namespace; else DATABRICKS_CLIENT_ID. */
    NAMESPACE_OIDC_CLIENT_IDS: optionalString.transform(parsedOrNever(parseNamespaceOidcClientIds)),
    /** Absolute directories a task's databricksOidcTokenFile may name a file in; none: tasks may name no file. */
    OIDC_TOKEN_FILE_DIRS: z
      .string()
      .default('')
      .transform((text, ctx) => {
        const dirs: string[] = [];
        for (const entry of text
          .split(',')
          .map((d) => d.trim())
          .filter(Boolean)) {
          const parsed = parseTokenFileDir(entry);
          if ('problem' in parsed) {
            ctx.addIssue({ code: 'custom', message: parsed.problem });
            return z.NEVER;
          }
          dirs.push(parsed.dir);
        }
        return [...new Set(dirs)];
      }),
    /** Local stack only: lets a job name an http://127.0.0.1 workspace (the emulator). Never set in AWS. */
    ALLOW_INSECURE_LOOPBACK_DATABRICKS: flag,
    /**
     * Who may use which namespaces (shared/caller-namespaces.ts): a JSON object mapping a caller (an IAM ARN, an ARN
     * ending in `/*`, or a principal id such as `AROA…`) to a list of namespaces (`"*"` for any). Read by the API
     * (the caller API Gateway verified) and the submit function (a direct submission's SQS SenderId). Unset, nobody
     * may use any namespace unless INSECURE_ANY_CALLER_ANY_NAMESPACE opts out.
     */
    CALLER_NAMESPACES: optionalString.transform(parsedOrNever(parseCallerNamespaces)),
    /** Explicit opt-out for single-tenant stacks: any caller IAM lets in may use any namespace. */
    INSECURE_ANY_CALLER_ANY_NAMESPACE: flag,
    /**
     * Adds WorkspaceCalls, the Databricks calls per workspace host (shared/metrics/workspace-dimension.ts): one more
     * CloudWatch metric per allowed workspace and status class, so it is the operator's choice.
     */
    METRICS_WORKSPACE_DIMENSION: flag,
  })
  .refine((c) => c.POLL_INTERVAL_MIN_SECONDS <= c.POLL_INTERVAL_MAX_SECONDS, {
    message: 'POLL_INTERVAL_MIN_SECONDS must not exceed POLL_INTERVAL_MAX_SECONDS',
    path: ['POLL_INTERVAL_MIN_SECONDS'],
  })
  .refine((c) => c.WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS <= c.WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS, {
    message: 'WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS must not exceed WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS',
    path: ['WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS'],
  })
  // A live job writes a heartbeat at least every HEARTBEAT_SECONDS plus one poll interval; anything shorter would
  // have the sweeper rescue healthy jobs.
  .refine((c) => c.STALE_AFTER_SECONDS > c.POLL_INTERVAL_MAX_SECONDS + c.HEARTBEAT_SECONDS, {
    message: 'STALE_AFTER_SECONDS must be greater than POLL_INTERVAL_MAX_SECONDS + HEARTBEAT_SECONDS',
    path: ['STALE_AFTER_SECONDS'],
  });

export type Config = z.infer<typeof configSchema>;

/** An optional variable's transform by a parser that returns the value or what is wrong with the text. */
function parsedOrNever<T>(parse: (text: string) => T | string) {
  return (text: string | undefined, ctx: z.RefinementCtx): T | undefined => {
    if (text === undefined) return undefined;
    const parsed = parse(text);
    if (typeof parsed !== 'string') return parsed;
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  };
}

/** ALLOWED_DATABRICKS_HOSTS: comma-separated host patterns, exact or wildcard. */
function hostPatterns(text: string, ctx: z.RefinementCtx): HostPattern[] {
  const patterns: HostPattern[] = [];
  for (const [index, entry] of text
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
    .entries()) {
    const pattern = parseHostPattern(entry);
    if ('problem' in pattern) ctx.addIssue({ code: 'custom', message: `host ${index + 1} ${pattern.problem}` });
    else patterns.push(pattern);
  }
  return patterns;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  // Name the variable and the rule, never the value: some of these hold secrets.
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`);
  throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
}

let cached: Config | undefined;

/** The process's configuration, parsed on first use. */
export function config(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}
