/**
 * OAuth M2M in the resolver's chain: the namespace's `databricks-oauth` secret (or the task's databricksOauthSecret,
 * or FLYTE_DATABRICKS_OAUTH_SECRET_NAME) is the namespace's own pair; DATABRICKS_CLIENT_ID with
 * DATABRICKS_CLIENT_SECRET / _SECRET_ID is the connector's. The client id is resolved at submit when its source is
 * known, pinning the job to that principal; a task's databricksClientId may only pin the same one.
 */
import {
  assertConnectorCredentialAllowed,
  assertNamespaceCredentialBound,
  credentialHosts,
} from '../databricks/workspace-policy.js';
import { AuthConfigError } from '../errors.js';
import type { AuthContext } from './auth-context.js';
import type { AuthModeProvider, AuthSettings, Selection } from './auth-mode.js';
import { baseContext, whenNamespaceHasSecret } from './auth-mode.js';
import { maskClientId } from './mask-client-id.js';
import type { SecretValues } from './namespace-secrets.js';
import { type ConnectorClientCredentials, connectorClientId, namespaceCredentials, OAuthM2MAuth } from './oauth-m2m.js';

const oauthSecretName = ({ task, config }: Selection): string =>
  task.databricksOauthSecret ?? config.FLYTE_DATABRICKS_OAUTH_SECRET_NAME;

export function connectorClientCredentials(config: AuthSettings): ConnectorClientCredentials {
  return {
    clientId: config.DATABRICKS_CLIENT_ID,
    clientSecret: config.DATABRICKS_CLIENT_SECRET,
    clientSecretSecretId: config.DATABRICKS_CLIENT_SECRET_SECRET_ID,
  };
}

export const oauthM2MMode: AuthModeProvider = {
  authType: 'oauth_m2m',
  modes: ['oauth_m2m'],

  async select(selection, reason) {
    const { namespace, secrets } = selection;
    return selectWith(selection, reason, await secrets.read(namespace, oauthSecretName(selection)));
  },

  fromNamespace(selection) {
    return whenNamespaceHasSecret(selection, oauthSecretName(selection), selectWith);
  },

  connectorSettings({ config }) {
    const secrets = (['DATABRICKS_CLIENT_SECRET', 'DATABRICKS_CLIENT_SECRET_SECRET_ID'] as const).filter((name) =>
      Boolean(config[name]),
    );
    if (secrets.length === 0) return undefined;
    return [...(config.DATABRICKS_CLIENT_ID ? ['DATABRICKS_CLIENT_ID'] : []), ...secrets];
  },

  build(context, { host, namespace, tokenCache, http }, deps) {
    const { config } = deps;
    return new OAuthM2MAuth({
      host,
      namespace,
      tokenCache,
      http,
      oauthSecretName: context.oauthSecretName ?? config.FLYTE_DATABRICKS_OAUTH_SECRET_NAME,
      secrets: deps.secrets,
      connector: { ...connectorClientCredentials(config), secretsManager: deps.secretsManager },
      guardNamespace: (values, where) =>
        assertNamespaceCredentialBound(host, namespace, credentialHosts(values.host, where), where, config),
      guardConnector: () => assertConnectorCredentialAllowed(host, namespace, "The connector's OAuth client", config),
      expectedClientId: context.clientId,
    });
  },
};

/** The M2M context, given the namespace's OAuth secret as read (undefined: it does not exist). */
async function selectWith(
  selection: Selection,
  reason: string,
  values: SecretValues | undefined,
): Promise<AuthContext> {
  const { namespace, secrets, task, config } = selection;
  const name = oauthSecretName(selection);
  const where = secrets.locate(namespace, name);
  const clientId =
    values === undefined
      ? connectorClientId(
          connectorClientCredentials(config),
          `OAuth M2M (${reason}) for namespace '${namespace}': ${where} does not exist and`,
        )
      : namespaceCredentials(values, where).clientId;
  const pinned = task.databricksClientId;
  if (pinned !== undefined && clientId !== undefined && pinned !== clientId) {
    const source = values === undefined ? "the connector's DATABRICKS_CLIENT_ID" : where;
    throw new AuthConfigError(
      `OAuth M2M for namespace '${namespace}': the task's databricksClientId '${maskClientId(pinned)}' does not ` +
        `match the client '${maskClientId(clientId)}' in ${source}. A client id is never paired with another ` +
        "source's secret: remove databricksClientId or store that principal's pair there.",
    );
  }
  const resolved = clientId ?? pinned;
  return {
    ...baseContext(selection, 'oauth_m2m', 'oauth_m2m', reason),
    oauthSecretName: name,
    ...(resolved === undefined ? {} : { clientId: resolved }),
  };
}
