/**
 * The resolver, in two halves. `selectAuthContext` runs once, when a job is created: it settles which strategy the
 * job uses and where its credentials live (task setting, then FLYTE_DATABRICKS_AUTH_TYPE, then PAT, as upstream's
 * final release). `buildAuth` runs on every submit, poll and cancel: it turns the stored context back into a
 * strategy, so a job that runs for hours keeps getting fresh credentials and none is ever stored.
 */
import type { Config } from '../config.js';
import { AuthConfigError, InvalidJobSpecError } from '../errors.js';
import type { TaskSpec } from '../jobs/submit-request.js';
import type { AuthContext } from './auth-context.js';
import type { AuthStrategy } from './auth-strategy.js';
import type { NamespaceSecrets } from './namespace-secrets.js';
import { DEFAULT_TOKEN_SECRET_NAME, PatAuth } from './pat.js';
import type { SecretsManagerSecrets } from './secrets-manager-secrets.js';

export interface AuthDeps {
  config: Pick<
    Config,
    'FLYTE_DATABRICKS_AUTH_TYPE' | 'FLYTE_DATABRICKS_ACCESS_TOKEN' | 'FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID'
  >;
  /** Where namespace secrets are read from. */
  secrets: NamespaceSecrets;
  /** Connector-wide secrets (the fallback PAT) are always in Secrets Manager. */
  secretsManager: SecretsManagerSecrets;
}

export function selectAuthContext(
  namespace: string,
  task: TaskSpec,
  config: Pick<Config, 'FLYTE_DATABRICKS_AUTH_TYPE'>,
): AuthContext {
  const authType = task.databricksAuthType ?? config.FLYTE_DATABRICKS_AUTH_TYPE;
  if (authType !== 'pat') {
    // OAuth M2M and OIDC federation are the next milestone; refuse clearly rather than run with the wrong identity.
    throw new InvalidJobSpecError(
      `Auth type '${authType}' is not supported by this release yet; use 'pat'`,
      task.databricksAuthType ? 'task.databricksAuthType' : 'FLYTE_DATABRICKS_AUTH_TYPE',
    );
  }
  return { authType, namespace, tokenSecretName: task.databricksTokenSecret ?? DEFAULT_TOKEN_SECRET_NAME };
}

export function buildAuth(context: AuthContext, deps: AuthDeps): AuthStrategy {
  switch (context.authType) {
    case 'pat': {
      const fallbackSecretId = deps.config.FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID;
      return new PatAuth({
        namespace: context.namespace,
        tokenSecretName: context.tokenSecretName ?? DEFAULT_TOKEN_SECRET_NAME,
        secrets: deps.secrets,
        fallbackToken: deps.config.FLYTE_DATABRICKS_ACCESS_TOKEN,
        fallback: fallbackSecretId ? { secretId: fallbackSecretId, secretsManager: deps.secretsManager } : undefined,
      });
    }
    default:
      throw new AuthConfigError(`Cannot rebuild auth type '${context.authType}': not supported by this release`);
  }
}
