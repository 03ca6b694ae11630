/**
 * The one place where the local stack differs from the template: the emulators' addresses where the template holds
 * placeholders (infra/local/template/local-context.ts), the variables only a local run needs (AWS endpoint URLs,
 * plain http to the loopback workspace emulator), and faster clocks for tests. Every difference is listed in
 * `differences`, which `npm start` prints, so nothing differs silently.
 */
import { PLACEHOLDERS } from './local-context.js';

export interface LocalEndpoints {
  /** The Databricks workspace emulator, e.g. http://127.0.0.1:40123. */
  databricksUrl: string;
  /** The folder tasks' token files may be read from (OIDC_TOKEN_FILE_DIRS). */
  tokenFileDir: string;
  /** AWS_ENDPOINT_URL_<SERVICE> by service variable suffix (DYNAMODB, SQS, SECRETS_MANAGER, STS, EKS). */
  aws: Record<string, string>;
}

export interface LocalTiming {
  /** POLL_INTERVAL_MIN_SECONDS / POLL_INTERVAL_MAX_SECONDS (the template's are 10 / 180 s). */
  pollIntervalSeconds?: { min: number; max: number };
  /** MAX_RECEIVE_COUNT, which must equal the queues' redrive maxReceiveCount (set together). */
  maxReceiveCount?: number;
}

export interface LocalEnvironmentOverrides {
  endpoints: LocalEndpoints;
  timing?: LocalTiming;
  /** CALLER_NAMESPACES as a scenario binds it; `'insecure-any'` for a front door without SigV4. */
  callerNamespaces?: Record<string, string[]> | 'insecure-any';
  /** Workspace hosts ALLOWED_DATABRICKS_HOSTS allows besides the emulator's (e.g. a second emulator). */
  extraAllowedHosts?: readonly string[];
  /** POWERTOOLS_LOG_LEVEL and AWS_LAMBDA_LOG_LEVEL for every function (quiet tests). */
  logLevel?: string;
  /** A scenario's own variables, for every function (e.g. STALE_AFTER_SECONDS for the sweeper's tests). */
  extra?: Record<string, string>;
  /** METRICS_WORKSPACE_DIMENSION=true where the template sets it: the status page's calls per workspace. */
  metricsWorkspaceDimension?: boolean;
}

export interface OverriddenEnvironment {
  env: Record<string, string>;
  /** What differs from the template, one line per variable: `NAME: template -> local` (values of secrets never). */
  differences: string[];
}

/** Applies the overrides to one function's resolved template environment. */
export function overrideEnvironment(
  templateEnv: Readonly<Record<string, string>>,
  overrides: LocalEnvironmentOverrides,
): OverriddenEnvironment {
  const env = { ...templateEnv };
  // Why each variable differs, by name: one line per variable however many overrides touch it.
  const changes = new Map<string, string[]>();
  const note = (name: string, why: string) => changes.set(name, [...(changes.get(name) ?? []), why]);
  const set = (name: string, value: string, why: string) => {
    if (env[name] === value) return;
    note(name, why);
    env[name] = value;
  };
  const { endpoints } = overrides;
  const host = new URL(endpoints.databricksUrl).host;
  const replaceHost = (value: string) => value.split(PLACEHOLDERS.databricksHost).join(host);

  if (env.FLYTE_DATABRICKS_INSTANCE === PLACEHOLDERS.databricksHost) {
    set('FLYTE_DATABRICKS_INSTANCE', endpoints.databricksUrl, 'the workspace emulator');
  }
  for (const name of ['ALLOWED_DATABRICKS_HOSTS', 'NAMESPACE_WORKSPACES']) {
    const value = env[name];
    if (value?.includes(PLACEHOLDERS.databricksHost)) set(name, replaceHost(value), 'the workspace emulator host');
  }
  if (overrides.extraAllowedHosts?.length && env.ALLOWED_DATABRICKS_HOSTS !== undefined) {
    set(
      'ALLOWED_DATABRICKS_HOSTS',
      [env.ALLOWED_DATABRICKS_HOSTS, ...overrides.extraAllowedHosts].join(','),
      "the scenario's further workspaces",
    );
  }
  if (env.OIDC_TOKEN_FILE_DIRS === PLACEHOLDERS.tokenFileDir) {
    set('OIDC_TOKEN_FILE_DIRS', endpoints.tokenFileDir, "the stack's scratch folder");
  }
  // The emulators listen on plain http on the loopback; on AWS every endpoint is the service's https one.
  if (env.FLYTE_DATABRICKS_INSTANCE !== undefined || env.ALLOWED_DATABRICKS_HOSTS !== undefined) {
    set('ALLOW_INSECURE_LOOPBACK_DATABRICKS', 'true', 'the workspace emulator speaks http');
  }
  for (const [service, url] of Object.entries(endpoints.aws)) {
    set(`AWS_ENDPOINT_URL_${service}`, url, `the ${service.toLowerCase()} emulator`);
  }

  if (env.CALLER_NAMESPACES !== undefined && overrides.callerNamespaces !== undefined) {
    if (overrides.callerNamespaces === 'insecure-any') {
      delete env.CALLER_NAMESPACES;
      note('CALLER_NAMESPACES', 'a front door without SigV4 identifies no caller');
      set('INSECURE_ANY_CALLER_ANY_NAMESPACE', 'true', 'a front door without SigV4 identifies no caller');
    } else {
      set('CALLER_NAMESPACES', JSON.stringify(overrides.callerNamespaces), "the scenario's callers");
    }
  }

  const timing = overrides.timing ?? {};
  if (timing.pollIntervalSeconds && env.POLL_INTERVAL_MIN_SECONDS !== undefined) {
    set('POLL_INTERVAL_MIN_SECONDS', String(timing.pollIntervalSeconds.min), 'faster polls for tests');
    set('POLL_INTERVAL_MAX_SECONDS', String(timing.pollIntervalSeconds.max), 'faster polls for tests');
  }
  if (timing.maxReceiveCount !== undefined && env.MAX_RECEIVE_COUNT !== undefined) {
    set('MAX_RECEIVE_COUNT', String(timing.maxReceiveCount), "the queues' overridden redrive count");
  }
  if (overrides.logLevel) {
    set('POWERTOOLS_LOG_LEVEL', overrides.logLevel, 'the local log level');
    set('AWS_LAMBDA_LOG_LEVEL', overrides.logLevel, 'the local log level');
  }
  // Where the template declares it: the functions that call Databricks (it is `false` there by default).
  if (overrides.metricsWorkspaceDimension && env.METRICS_WORKSPACE_DIMENSION !== undefined) {
    set('METRICS_WORKSPACE_DIMENSION', 'true', "the status page's calls per workspace");
  }
  for (const [name, value] of Object.entries(overrides.extra ?? {})) set(name, value, "the scenario's setting");
  const differences = [...changes]
    .filter(([name]) => env[name] !== templateEnv[name])
    .map(([name, whys]) => {
      const from = templateEnv[name] === undefined ? '(not set)' : 'template value';
      const to = env[name] === undefined ? '(not set): ' : '';
      return `${name}: ${from} -> ${to}${whys.join('; ')}`;
    });
  return { env, differences };
}
