/**
 * PAT in the resolver's chain: the namespace's `databricks-token` secret (or the task's databricksTokenSecret) is the
 * namespace's own credential; FLYTE_DATABRICKS_ACCESS_TOKEN / _SECRET_ID are the connector's. PAT is also what a
 * namespace gets when nothing at all is configured (upstream's default), so its error names every place looked at.
 */
import {
  assertConnectorCredentialAllowed,
  assertNamespaceCredentialBound,
  credentialHosts,
} from '../databricks/workspace-policy.js';
import type { AuthModeProvider, Selection } from './auth-mode.js';
import { baseContext, whenNamespaceHasSecret } from './auth-mode.js';
import { DEFAULT_TOKEN_SECRET_NAME, PatAuth } from './pat.js';

const tokenSecretName = (selection: Selection): string =>
  selection.task.databricksTokenSecret ?? DEFAULT_TOKEN_SECRET_NAME;

export const patMode: AuthModeProvider = {
  authType: 'pat',
  modes: ['pat'],

  async select(selection, reason) {
    return { ...baseContext(selection, 'pat', 'pat', reason), tokenSecretName: tokenSecretName(selection) };
  },

  fromNamespace(selection) {
    return whenNamespaceHasSecret(selection, tokenSecretName(selection), (sel, reason) => this.select(sel, reason));
  },

  connectorSettings({ config }) {
    const seen = (['FLYTE_DATABRICKS_ACCESS_TOKEN', 'FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID'] as const).filter(
      (name) => Boolean(config[name]),
    );
    return seen.length > 0 ? [...seen] : undefined;
  },

  build(context, { host, namespace }, deps) {
    const { config } = deps;
    const fallbackSecretId = config.FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID;
    return new PatAuth({
      namespace,
      tokenSecretName: context.tokenSecretName ?? DEFAULT_TOKEN_SECRET_NAME,
      secrets: deps.secrets,
      guardNamespace: (values, where) =>
        assertNamespaceCredentialBound(host, namespace, credentialHosts(values.host, where), where, config),
      guardConnector: () => assertConnectorCredentialAllowed(host, namespace, 'The connector-wide PAT', config),
      fallbackToken: config.FLYTE_DATABRICKS_ACCESS_TOKEN,
      fallback: fallbackSecretId ? { secretId: fallbackSecretId, secretsManager: deps.secretsManager } : undefined,
    });
  },
};
