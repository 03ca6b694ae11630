/**
 * Every environment variable the functions read, parsed and validated once. A bad value fails the first
 * invocation with a message naming the variable; nothing else in the code reads process.env.
 */
import * as z from 'zod';
import { AUTH_TYPES } from './auth/auth-strategy.js';
import { DEFAULT_POLL_SCHEDULE } from './jobs/poll-schedule.js';
import { NAMESPACE_MAX_LENGTH, NAMESPACE_PATTERN } from './jobs/submit-request.js';

const seconds = (fallback: number, max: number) => z.coerce.number().int().min(0).max(max).default(fallback);
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
    NAMESPACE_SECRET_SOURCE: z.enum(['secrets-manager', 'kubernetes']).default('secrets-manager'),
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
    OIDC_SUBJECT_TOKEN_SOURCE: z.enum(['auto', 'file', 'sts']).default('auto'),
    OIDC_STS_DURATION_SECONDS: z.coerce.number().int().min(60).max(3600).default(300),
    /** Kubernetes API for Model 2 and Kubernetes secrets: URL + CA, and an EKS token for the named cluster. */
    KUBERNETES_API_URL: optionalString,
    KUBERNETES_CA_DATA: optionalString,
    EKS_CLUSTER_NAME: optionalString,
    /** A static bearer token for the Kubernetes API (local stack, or a cluster that is not EKS). */
    KUBERNETES_TOKEN: optionalString,
    KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS: z.coerce.number().int().min(600).max(86_400).default(3600),
    NAMESPACE_DISCOVERY_CACHE_SECONDS: seconds(300, 3600),
    /** Where a namespace's secrets live in Secrets Manager; `{namespace}` and `{name}` are substituted. */
    SECRET_NAME_TEMPLATE: z
      .string()
      .default('flyte/{namespace}/{name}')
      .refine((t) => t.includes('{namespace}') && t.includes('{name}'), 'must contain {namespace} and {name}'),
    /** How long a warm container may reuse a secret value it read; a 401 drops it sooner. */
    SECRET_CACHE_SECONDS: seconds(60, 3600),
    /** The poll schedule (shared/jobs/poll-schedule.ts): the wait is a fraction of the run's time, within bounds. */
    POLL_INTERVAL_MIN_SECONDS: seconds(DEFAULT_POLL_SCHEDULE.minSeconds, 900),
    POLL_INTERVAL_MAX_SECONDS: seconds(DEFAULT_POLL_SCHEDULE.maxSeconds, 900),
    POLL_INTERVAL_FRACTION: z.coerce.number().gt(0).max(1).default(DEFAULT_POLL_SCHEDULE.fraction),
    /**
     * Jobs API requests a second one workspace may get from polls (shared/jobs/workspace-pacing.ts): with more live
     * jobs than that allows, their polls are spread evenly instead. 0 turns pacing off.
     */
    WORKSPACE_API_BUDGET_RPS: z.coerce.number().int().min(0).max(10_000).default(20),
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
    MAX_RECEIVE_COUNT: z.coerce.number().int().min(1).max(1000).default(5),
    JOB_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
    DATABRICKS_API_VERSION: z.enum(['2.1', '2.2']).default('2.2'),
    /**
     * Workspace hosts a job may name, comma-separated (`dbc-1.cloud.databricks.com,dbc-2...`). When set, any other
     * host is refused before a credential is read, so a request cannot send a tenant's token elsewhere.
     */
    ALLOWED_DATABRICKS_HOSTS: z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((h) => h.trim().toLowerCase())
          .filter(Boolean),
      ),
    /** Local stack only: lets a job name an http://127.0.0.1 workspace (the emulator). Never set in AWS. */
    ALLOW_INSECURE_LOOPBACK_DATABRICKS: flag,
    /**
     * Which API callers may use which namespaces: a JSON object mapping a caller principal ARN (exact, or ending in
     * `*` to match a prefix) to a list of namespaces (`"*"` for any). Unset or empty: no restriction. Set (even to
     * `{}`): a caller matching no entry, or an unidentified one, may use no namespace.
     */
    CALLER_NAMESPACES: optionalString.transform((text, ctx) => {
      if (text === undefined) return undefined;
      const rules = parseCallerNamespaces(text);
      if (typeof rules === 'string') {
        ctx.addIssue({ code: 'custom', message: rules });
        return z.NEVER;
      }
      return rules;
    }),
  })
  .refine((c) => c.POLL_INTERVAL_MIN_SECONDS <= c.POLL_INTERVAL_MAX_SECONDS, {
    message: 'POLL_INTERVAL_MIN_SECONDS must not exceed POLL_INTERVAL_MAX_SECONDS',
    path: ['POLL_INTERVAL_MIN_SECONDS'],
  })
  // A live job writes a heartbeat at least every HEARTBEAT_SECONDS plus one poll interval; anything shorter would
  // have the sweeper rescue healthy jobs.
  .refine((c) => c.STALE_AFTER_SECONDS > c.POLL_INTERVAL_MAX_SECONDS + c.HEARTBEAT_SECONDS, {
    message: 'STALE_AFTER_SECONDS must be greater than POLL_INTERVAL_MAX_SECONDS + HEARTBEAT_SECONDS',
    path: ['STALE_AFTER_SECONDS'],
  });

export type Config = z.infer<typeof configSchema>;

/** One CALLER_NAMESPACES entry: `principal` is the ARN, or its prefix when `prefix` (the key ended in `*`). */
export interface CallerNamespaceRule {
  principal: string;
  prefix: boolean;
  /** The namespaces the caller may use; '*' for any. */
  namespaces: '*' | readonly string[];
}

const CALLER_NAMESPACES_SHAPE =
  'must be a JSON object mapping caller principal ARNs (exact, or ending in *) to lists of namespaces ("*" for any)';

/** The rules, or why the text is not a valid CALLER_NAMESPACES (naming positions, never values). */
export function parseCallerNamespaces(text: string): CallerNamespaceRule[] | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `is not valid JSON; ${CALLER_NAMESPACES_SHAPE}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return CALLER_NAMESPACES_SHAPE;
  const rules: CallerNamespaceRule[] = [];
  for (const [index, [key, list]] of Object.entries(value).entries()) {
    const entry = `entry ${index + 1}`;
    if (key.length === 0 || key.length > 2048) return `${entry}: the caller ARN must be 1 to 2048 characters`;
    const star = key.indexOf('*');
    if (star !== -1 && star !== key.length - 1) return `${entry}: '*' is only allowed at the end of the caller ARN`;
    if (!Array.isArray(list) || list.some((ns) => typeof ns !== 'string')) {
      return `${entry}: ${CALLER_NAMESPACES_SHAPE}`;
    }
    const names = list as string[];
    const bad = names.findIndex(
      (ns) => ns !== '*' && (ns.length > NAMESPACE_MAX_LENGTH || !NAMESPACE_PATTERN.test(ns)),
    );
    if (bad !== -1) return `${entry}: namespace ${bad + 1} is neither "*" nor a Kubernetes namespace name`;
    rules.push({
      principal: star === -1 ? key : key.slice(0, -1),
      prefix: star !== -1,
      namespaces: names.includes('*') ? '*' : [...new Set(names)],
    });
  }
  return rules;
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
