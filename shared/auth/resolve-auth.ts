/**
 * The resolver: one chain of auth modes (auth-mode.ts), walked in two halves.
 *
 * `selectAuthContext` runs once, when a job is submitted. It settles which mode the job uses and where its
 * credentials live, and says why (`reason`):
 * 1. the task's `databricksAuthType`, else FLYTE_DATABRICKS_AUTH_TYPE when set: the first mode of that type in the
 *    chain that applies (`oidc_federation` is Model 2 when the namespace has a Databricks-enabled ServiceAccount,
 *    else Model 1);
 * 2. auto-detect, the workflow namespace first: the first mode whose credentials the namespace has of its own
 *    (a ServiceAccount: Model 2; a `databricks-oauth` secret: M2M; a `databricks-token` secret: PAT); then the
 *    connector's own configuration: exactly one mode configured is used, two are an error (as the Databricks SDKs),
 *    none is PAT, upstream's default, whose error then names every place it looked.
 *
 * `buildAuth` runs on every submit, poll and cancel: the mode that recorded the context rebuilds the strategy from
 * it alone (no re-discovery), so a job that runs for hours keeps getting fresh credentials and none is ever stored.
 * Contexts without `mode` were written by the first release, which only knew PAT.
 */
import { AuthConfigError } from '../errors.js';
import type { TaskSpec } from '../jobs/submit-request.js';
import type { AuthContext, AuthMode } from './auth-context.js';
import type { AuthDeps, AuthModeProvider, SelectDeps, Selection } from './auth-mode.js';
import type { AuthStrategy, AuthType } from './auth-strategy.js';
import { oauthM2MMode } from './oauth-m2m-mode.js';
import { oidcModel1Mode } from './oidc-model1-mode.js';
import { oidcModel2Mode } from './oidc-model2-mode.js';
import { patMode } from './pat-mode.js';

export type { AuthDeps, AuthSettings, SelectDeps } from './auth-mode.js';

/**
 * The chain, in the order modes are tried: the namespace's own identity before its secrets, M2M before PAT, the
 * connector's identity (Model 1) last.
 */
const CHAIN: readonly AuthModeProvider[] = [oidcModel2Mode, oauthM2MMode, patMode, oidcModel1Mode];

export function selectAuthContext(namespace: string, task: TaskSpec, deps: SelectDeps): Promise<AuthContext> {
  let discovery: ReturnType<SelectDeps['discovery']> | undefined;
  // Discovery is looked at by several modes; one lookup per selection.
  const selection: Selection = { ...deps, namespace, task, discovery: () => (discovery ??= deps.discovery()) };
  return select(selection);
}

async function select(selection: Selection): Promise<AuthContext> {
  const { task, config, namespace } = selection;
  const explicit: { type: AuthType; reason: string } | undefined = task.databricksAuthType
    ? { type: task.databricksAuthType, reason: `task databricksAuthType=${task.databricksAuthType}` }
    : config.FLYTE_DATABRICKS_AUTH_TYPE
      ? {
          type: config.FLYTE_DATABRICKS_AUTH_TYPE,
          reason: `FLYTE_DATABRICKS_AUTH_TYPE=${config.FLYTE_DATABRICKS_AUTH_TYPE}`,
        }
      : undefined;
  if (explicit) {
    for (const mode of CHAIN.filter((m) => m.authType === explicit.type)) {
      const context = await mode.select(selection, explicit.reason);
      if (context) return context;
    }
    throw new AuthConfigError(`No ${explicit.type} mode applies to namespace '${namespace}' (${explicit.reason})`);
  }

  for (const mode of CHAIN) {
    const context = await mode.fromNamespace?.(selection);
    if (context) return context;
  }

  const configured = CHAIN.flatMap((mode) => {
    const seen = mode.connectorSettings?.(selection);
    return seen ? [{ mode, seen }] : [];
  });
  if (configured.length > 1) {
    const listed = configured.map(({ mode, seen }) => `${mode.authType} (${seen.join(', ')})`).join('; ');
    throw new AuthConfigError(
      `Cannot choose how to authenticate namespace '${namespace}' to Databricks: the namespace has no credentials ` +
        `of its own and the connector has more than one auth method configured: ${listed}. Set ` +
        "FLYTE_DATABRICKS_AUTH_TYPE (or the task's databricksAuthType) to choose one.",
    );
  }
  const [only] = configured;
  const chosen = only
    ? await only.mode.select(selection, `auto-detect: connector has ${only.seen.join(' + ')}`)
    : await patMode.select(
        selection,
        `auto-detect: nothing configured in namespace '${namespace}' or the connector; pat is the default`,
      );
  if (!chosen) throw new AuthConfigError(`No auth mode applies to namespace '${namespace}'`);
  return chosen;
}

const MODE_AUTH_TYPE: Readonly<Record<AuthMode, AuthType>> = {
  pat: 'pat',
  oauth_m2m: 'oauth_m2m',
  oidc_model1_file: 'oidc_federation',
  oidc_model1_sts: 'oidc_federation',
  oidc_model2: 'oidc_federation',
};

export function buildAuth(context: AuthContext, host: string, deps: AuthDeps): AuthStrategy {
  const mode = modeOf(context);
  const provider = CHAIN.find((m) => m.modes.includes(mode));
  if (!provider) throw new AuthConfigError(`No auth mode rebuilds '${mode}'`);
  const http = {
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    ...(deps.now === undefined ? {} : { now: deps.now }),
    ...(deps.budget === undefined ? {} : { budget: deps.budget }),
  };
  return provider.build(
    { ...context, mode },
    { host, namespace: context.namespace, tokenCache: deps.tokenCache, http },
    deps,
  );
}

/** The stored mode; for a context without one, what its fields say (the first release wrote PAT only). */
export function modeOf(context: AuthContext): AuthMode {
  if (context.mode !== undefined) {
    if (MODE_AUTH_TYPE[context.mode] !== context.authType) {
      throw new AuthConfigError(
        `Stored auth context is inconsistent: mode '${context.mode}' with authType '${context.authType}'`,
      );
    }
    return context.mode;
  }
  switch (context.authType) {
    case 'pat':
      return 'pat';
    case 'oauth_m2m':
      return 'oauth_m2m';
    case 'oidc_federation':
      if (context.serviceAccount) return 'oidc_model2';
      return context.oidcTokenFile ? 'oidc_model1_file' : 'oidc_model1_sts';
  }
}
