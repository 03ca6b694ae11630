/**
 * OIDC Model 1 in the resolver's chain: the connector's own identity (a projected token file, or STS
 * GetWebIdentityToken on Lambda) exchanged for a service principal the OPERATOR chose: NAMESPACE_OIDC_CLIENT_IDS'
 * entry for the namespace, else DATABRICKS_CLIENT_ID. A task may not choose it (it could otherwise become any
 * principal whose federation policy trusts the functions' roles): a task naming another client id, or another STS
 * audience than FLYTE_DATABRICKS_OIDC_AUDIENCE, is refused. A task may name a token file only inside
 * OIDC_TOKEN_FILE_DIRS (shared/auth/token-file.ts: regular files, no symlink escape, at most 16 KiB, and one error
 * for every refusal so a tenant learns nothing about the filesystem).
 */
import { existsSync } from 'node:fs';
import { assertConnectorCredentialAllowed } from '../databricks/workspace-policy.js';
import { AuthConfigError } from '../errors.js';
import { lookupNamespace } from '../namespace-map.js';
import type { AuthModeProvider, AuthSettings, Selection } from './auth-mode.js';
import { baseContext } from './auth-mode.js';
import { maskClientId } from './mask-client-id.js';
import { OidcConnectorIdentityAuth } from './oidc-connector-identity.js';
import { readTokenFile, resolveTaskTokenFile } from './token-file.js';

export const DEFAULT_OIDC_TOKEN_FILE = '/var/run/secrets/databricks/token';

/** The operator's Model 1 token files in order, with the setting each comes from. */
function connectorTokenFiles(config: AuthSettings): { setting: string; path: string }[] {
  const { FLYTE_DATABRICKS_OIDC_TOKEN_FILE: explicit, AWS_WEB_IDENTITY_TOKEN_FILE: irsa } = config;
  return [
    ...(explicit ? [{ setting: 'FLYTE_DATABRICKS_OIDC_TOKEN_FILE', path: explicit }] : []),
    ...(irsa ? [{ setting: 'AWS_WEB_IDENTITY_TOKEN_FILE', path: irsa }] : []),
    { setting: DEFAULT_OIDC_TOKEN_FILE, path: DEFAULT_OIDC_TOKEN_FILE },
  ];
}

/** The service principal the operator configured for the namespace's Model 1 jobs, and where it came from. */
function operatorClientId(config: AuthSettings, namespace: string): { clientId: string; setting: string } | undefined {
  const mapped = lookupNamespace(config.NAMESPACE_OIDC_CLIENT_IDS, namespace);
  if (mapped !== undefined) return { clientId: mapped, setting: 'NAMESPACE_OIDC_CLIENT_IDS' };
  return config.DATABRICKS_CLIENT_ID
    ? { clientId: config.DATABRICKS_CLIENT_ID, setting: 'DATABRICKS_CLIENT_ID' }
    : undefined;
}

const fileExists = (selection: Selection, path: string) => (selection.fileExists ?? existsSync)(path);

export const oidcModel1Mode: AuthModeProvider = {
  authType: 'oidc_federation',
  modes: ['oidc_model1_file', 'oidc_model1_sts'],

  async select(selection, reason) {
    const { namespace, task, config } = selection;
    const lookup = await selection.discovery();
    const why = lookup
      ? `no Model 2 ServiceAccount in namespace '${namespace}'`
      : 'Kubernetes is not configured, so no Model 2 discovery';
    const operator = operatorClientId(config, namespace);
    if (!operator) {
      throw new AuthConfigError(
        `OIDC federation (${reason}): ${why}, and Model 1 (the connector's identity) has no service principal for ` +
          `namespace '${namespace}': the operator sets NAMESPACE_OIDC_CLIENT_IDS or DATABRICKS_CLIENT_ID. Or label ` +
          'a ServiceAccount in the namespace flyte.org/databricks-enabled=true with the annotation ' +
          'flyte.org/databricks-client-id (Model 2)',
      );
    }
    const { clientId, setting } = operator;
    if (task.databricksClientId !== undefined && task.databricksClientId !== clientId) {
      throw new AuthConfigError(
        `OIDC Model 1 for namespace '${namespace}': task.databricksClientId '${maskClientId(task.databricksClientId)}' ` +
          `is not the service principal the operator configured (${setting}: '${maskClientId(clientId)}'). The ` +
          "connector's identity is exchanged only for the operator's choice: remove databricksClientId from the task",
      );
    }
    const source = config.OIDC_SUBJECT_TOKEN_SOURCE;
    if (source !== 'sts') {
      const taskFile = task.databricksOidcTokenFile;
      if (taskFile !== undefined) {
        const path = await (selection.taskTokenFile ?? resolveTaskTokenFile)(taskFile, config.OIDC_TOKEN_FILE_DIRS);
        return {
          ...baseContext(
            selection,
            'oidc_federation',
            'oidc_model1_file',
            `${reason}; ${why}; Model 1, token file from task databricksOidcTokenFile`,
          ),
          clientId,
          oidcTokenFile: path,
        };
      }
      const file = connectorTokenFiles(config).find((candidate) => fileExists(selection, candidate.path));
      if (file) {
        return {
          ...baseContext(
            selection,
            'oidc_federation',
            'oidc_model1_file',
            `${reason}; ${why}; Model 1, token file from ${file.setting}`,
          ),
          clientId,
          oidcTokenFile: file.path,
        };
      }
      if (source === 'file') {
        const looked = connectorTokenFiles(config).map((c) => `${c.setting} ('${c.path}', missing)`);
        throw new AuthConfigError(
          `OIDC Model 1 (${reason}) cannot run without a subject token file (OIDC_SUBJECT_TOKEN_SOURCE=file): ` +
            `looked at ${looked.join(', ')}. Project a token to one of them, or set OIDC_SUBJECT_TOKEN_SOURCE=sts`,
        );
      }
    }
    const audience = config.FLYTE_DATABRICKS_OIDC_AUDIENCE;
    if (task.databricksOidcAudience !== undefined && task.databricksOidcAudience !== audience) {
      throw new AuthConfigError(
        `OIDC Model 1 (STS) for namespace '${namespace}': task.databricksOidcAudience is not the audience the ` +
          `operator configured (FLYTE_DATABRICKS_OIDC_AUDIENCE '${audience}'); remove it`,
      );
    }
    return {
      ...baseContext(
        selection,
        'oidc_federation',
        'oidc_model1_sts',
        `${reason}; ${why}; Model 1, STS GetWebIdentityToken`,
      ),
      clientId,
      oidcAudience: audience,
    };
  },

  connectorSettings(selection) {
    const { config, namespace } = selection;
    const operator = operatorClientId(config, namespace);
    if (!operator) return undefined;
    if (config.OIDC_SUBJECT_TOKEN_SOURCE === 'sts') return [operator.setting, 'OIDC_SUBJECT_TOKEN_SOURCE=sts'];
    const file = connectorTokenFiles(config).find((candidate) => fileExists(selection, candidate.path));
    return file ? [operator.setting, file.setting] : undefined;
  },

  build(context, { host, namespace, tokenCache, http }, deps) {
    const { config } = deps;
    const clientId = context.clientId;
    const mode = context.mode === 'oidc_model1_file' || context.oidcTokenFile ? 'oidc_model1_file' : 'oidc_model1_sts';
    if (!clientId || (mode === 'oidc_model1_file' && !context.oidcTokenFile)) {
      throw new AuthConfigError(
        `Cannot rebuild the OIDC Model 1 strategy without ${clientId ? 'oidcTokenFile' : 'clientId'} in the job's ` +
          `stored auth context (namespace '${namespace}'); the job must be resubmitted`,
      );
    }
    assertConnectorCredentialAllowed(host, namespace, "OIDC Model 1 (the connector's own identity)", config);
    // The operator's choice now, not when the job was accepted: a job from a release that let the task choose, or
    // one accepted before the operator changed it, is held to it too.
    const operator = operatorClientId(config, namespace);
    if (operator?.clientId !== clientId) {
      throw new AuthConfigError(
        `OIDC Model 1 for namespace '${namespace}': the job was accepted for service principal ` +
          `'${maskClientId(clientId)}', which is not the one the operator configures now ` +
          `(${operator ? `${operator.setting}: '${maskClientId(operator.clientId)}'` : 'none'}); the job must be resubmitted`,
      );
    }
    if (
      mode === 'oidc_model1_sts' &&
      context.oidcAudience !== undefined &&
      context.oidcAudience !== config.FLYTE_DATABRICKS_OIDC_AUDIENCE
    ) {
      throw new AuthConfigError(
        `OIDC Model 1 (STS) for namespace '${namespace}': the job's audience is not FLYTE_DATABRICKS_OIDC_AUDIENCE ` +
          `('${config.FLYTE_DATABRICKS_OIDC_AUDIENCE}'); the job must be resubmitted`,
      );
    }
    const operatorFiles = new Set(connectorTokenFiles(config).map((file) => file.path));
    // A path the operator configured is read as is; any other came from a task and is checked again, every time.
    const readFile =
      deps.readFile ??
      (async (path: string) =>
        readTokenFile(operatorFiles.has(path) ? path : await resolveTaskTokenFile(path, config.OIDC_TOKEN_FILE_DIRS)));
    return new OidcConnectorIdentityAuth({
      host,
      namespace,
      tokenCache,
      http,
      clientId,
      subject:
        mode === 'oidc_model1_file'
          ? { kind: 'file', path: context.oidcTokenFile as string, readFile }
          : {
              kind: 'sts',
              audience: config.FLYTE_DATABRICKS_OIDC_AUDIENCE,
              durationSeconds: config.OIDC_STS_DURATION_SECONDS,
              sts: deps.sts,
            },
    });
  },
};
