/**
 * OIDC Model 2 in the resolver's chain: the workflow namespace's own identity. It applies when the namespace has one
 * ServiceAccount labelled flyte.org/databricks-enabled=true; the service principal is its
 * flyte.org/databricks-client-id annotation and the audience its flyte.org/databricks-audience annotation, else
 * FLYTE_DATABRICKS_OIDC_AUDIENCE. Identity is the namespace owner's choice, never the task's: a task naming another
 * client id or audience is refused. Before every TokenRequest the ServiceAccount is looked up again (discovery is
 * cached) and must still be the same one and bound to the job's workspace (its flyte.org/databricks-host
 * annotation, else NAMESPACE_WORKSPACES).
 */
import { assertNamespaceCredentialBound, credentialHosts } from '../databricks/workspace-policy.js';
import { AuthConfigError } from '../errors.js';
import type { AuthModeProvider } from './auth-mode.js';
import { baseContext } from './auth-mode.js';
import { maskClientId } from './mask-client-id.js';
import { OidcNamespaceSaAuth } from './oidc-namespace-sa.js';

export const oidcModel2Mode: AuthModeProvider = {
  authType: 'oidc_federation',
  modes: ['oidc_model2'],

  async select(selection, reason) {
    const { namespace, task, config } = selection;
    const lookup = await selection.discovery();
    const sa = lookup ? await lookup.discover(namespace) : undefined;
    if (!sa) return undefined;
    const what = `OIDC Model 2 for namespace '${namespace}' (ServiceAccount '${sa.name}')`;
    if (task.databricksClientId !== undefined && task.databricksClientId !== sa.clientId) {
      throw new AuthConfigError(
        `${what}: task.databricksClientId '${maskClientId(task.databricksClientId)}' is not the service principal ` +
          `the ServiceAccount's flyte.org/databricks-client-id names ('${maskClientId(sa.clientId)}'); remove it`,
      );
    }
    const audience = sa.audience ?? config.FLYTE_DATABRICKS_OIDC_AUDIENCE;
    if (task.databricksOidcAudience !== undefined && task.databricksOidcAudience !== audience) {
      throw new AuthConfigError(
        `${what}: task.databricksOidcAudience is not the audience the operator chose ('${audience}', from ` +
          `${sa.audience ? 'the flyte.org/databricks-audience annotation' : 'FLYTE_DATABRICKS_OIDC_AUDIENCE'}); remove it`,
      );
    }
    return {
      ...baseContext(selection, 'oidc_federation', 'oidc_model2', reason),
      reason:
        `${reason}: namespace '${namespace}' has ServiceAccount '${sa.name}' labelled ` +
        'flyte.org/databricks-enabled=true (OIDC Model 2)',
      clientId: sa.clientId,
      serviceAccount: sa.name,
      oidcAudience: audience,
    };
  },

  fromNamespace(selection) {
    return this.select(selection, 'auto-detect');
  },

  build(context, { host, namespace, tokenCache, http }, deps) {
    const { config } = deps;
    const clientId = required(context.clientId, 'clientId', namespace);
    const serviceAccount = required(context.serviceAccount, 'serviceAccount', namespace);
    return new OidcNamespaceSaAuth({
      host,
      namespace,
      tokenCache,
      http,
      clientId,
      serviceAccount,
      audience: context.oidcAudience ?? config.FLYTE_DATABRICKS_OIDC_AUDIENCE,
      expirationSeconds: config.KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS,
      kubernetes: deps.kubernetes,
      guardServiceAccount: (current) => {
        const where = `ServiceAccount '${namespace}/${serviceAccount}'`;
        if (current?.name !== serviceAccount || current.clientId !== clientId) {
          throw new AuthConfigError(
            `${where} is no longer the namespace's Databricks-enabled ServiceAccount for client ` +
              `'${maskClientId(clientId)}' (relabelled, re-annotated or removed); the job must be resubmitted`,
          );
        }
        assertNamespaceCredentialBound(host, namespace, credentialHosts(current.hosts, where), where, config);
      },
    });
  },
};

function required(value: string | undefined, field: string, namespace: string): string {
  if (!value) {
    throw new AuthConfigError(
      `Cannot rebuild the OIDC Model 2 strategy without ${field} in the job's stored auth context (namespace ` +
        `'${namespace}'); the job must be resubmitted`,
    );
  }
  return value;
}
