/**
 * The resolver, in two halves.
 *
 * `selectAuthContext` runs once, when a job is accepted. It settles which strategy the job uses and where its
 * credentials live, and says why (`reason`):
 * 1. the task's `databricksAuthType`;
 * 2. FLYTE_DATABRICKS_AUTH_TYPE, only when set explicitly;
 * 3. auto-detect, the workflow namespace first: a Databricks-enabled ServiceAccount (OIDC Model 2), then its
 *    `databricks-oauth` secret (OAuth M2M), then its `databricks-token` secret (PAT); then the connector's own
 *    configuration: a Model 1 subject token source with DATABRICKS_CLIENT_ID (OIDC), a client secret (M2M), a
 *    connector-wide PAT. Two connector-level families and no explicit type is an error (as the Databricks SDKs);
 *    nothing at all is PAT, upstream's default, whose error then names every place it looked.
 * `oidc_federation` means Model 2 when the namespace has a Databricks-enabled ServiceAccount, else Model 1 (the
 * connector's identity: a token file, or STS GetWebIdentityToken on Lambda).
 *
 * `buildAuth` runs on every submit, poll and cancel: it turns the stored context back into a strategy, from the
 * context alone (no re-discovery), so a job that runs for hours keeps getting fresh credentials and none is ever
 * stored. Contexts without `mode` were written by the first release, which only knew PAT.
 */
import { existsSync } from 'node:fs';
import type { STSClient } from '@aws-sdk/client-sts';
import type { Config } from '../config.js';
import { AuthConfigError } from '../errors.js';
import type { TaskSpec } from '../jobs/submit-request.js';
import type { DatabricksServiceAccount } from '../kube/kubernetes-port.js';
import type { AuthContext, AuthMode } from './auth-context.js';
import type { AuthStrategy, AuthType } from './auth-strategy.js';
import { assertConnectorCredentialsAllowed, type ConnectorGuardConfig } from './connector-credentials-guard.js';
import type { KubernetesAccess, ServiceAccountLookup } from './kubernetes-access.js';
import { maskClientId } from './mask-client-id.js';
import type { NamespaceSecrets, SecretValues } from './namespace-secrets.js';
import {
  type ConnectorClientCredentials,
  connectorClientId,
  DEFAULT_OAUTH_SECRET_NAME,
  namespaceCredentials,
  OAuthM2MAuth,
} from './oauth-m2m.js';
import { OidcConnectorIdentityAuth } from './oidc-connector-identity.js';
import { OidcNamespaceSaAuth } from './oidc-namespace-sa.js';
import { DEFAULT_TOKEN_SECRET_NAME, PatAuth } from './pat.js';
import type { SecretsManagerSecrets } from './secrets-manager-secrets.js';
import type { TokenCache } from './token-cache.js';
import type { TokenHttpOptions } from './token-endpoint.js';

export const DEFAULT_OIDC_AUDIENCE = 'databricks';
export const DEFAULT_OIDC_TOKEN_FILE = '/var/run/secrets/databricks/token';
export const DEFAULT_STS_DURATION_SECONDS = 300;
export const DEFAULT_SA_TOKEN_EXPIRATION_SECONDS = 3600;

type SecretSource = 'secrets-manager' | 'kubernetes';

export type SelectConfig = Partial<
  Pick<
    Config,
    | 'FLYTE_DATABRICKS_OAUTH_SECRET_NAME'
    | 'DATABRICKS_CLIENT_ID'
    | 'DATABRICKS_CLIENT_SECRET'
    | 'DATABRICKS_CLIENT_SECRET_SECRET_ID'
    | 'FLYTE_DATABRICKS_ACCESS_TOKEN'
    | 'FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID'
    | 'FLYTE_DATABRICKS_OIDC_TOKEN_FILE'
    | 'AWS_WEB_IDENTITY_TOKEN_FILE'
    | 'FLYTE_DATABRICKS_OIDC_AUDIENCE'
    | 'OIDC_SUBJECT_TOKEN_SOURCE'
  >
> & {
  /** Unset means auto-detect. */
  FLYTE_DATABRICKS_AUTH_TYPE?: AuthType | undefined;
};

export interface SelectDeps {
  config: SelectConfig;
  /** Where namespace secrets are read from. */
  secrets: NamespaceSecrets;
  secretSource: SecretSource;
  /** Model 2 discovery; undefined when the connector has no Kubernetes configuration. */
  discovery: () => Promise<ServiceAccountLookup | undefined>;
  fileExists?: (path: string) => boolean;
}

export type AuthConfig = Partial<
  Pick<
    Config,
    | 'FLYTE_DATABRICKS_ACCESS_TOKEN'
    | 'FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID'
    | 'FLYTE_DATABRICKS_OAUTH_SECRET_NAME'
    | 'DATABRICKS_CLIENT_ID'
    | 'DATABRICKS_CLIENT_SECRET'
    | 'DATABRICKS_CLIENT_SECRET_SECRET_ID'
    | 'FLYTE_DATABRICKS_OIDC_AUDIENCE'
    | 'OIDC_STS_DURATION_SECONDS'
    | 'KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS'
  >
> &
  ConnectorGuardConfig;

export interface AuthDeps {
  config: AuthConfig;
  /** Where namespace secrets are read from. */
  secrets: NamespaceSecrets;
  /** Connector-wide secrets (the fallback PAT, DATABRICKS_CLIENT_SECRET_SECRET_ID) are always in Secrets Manager. */
  secretsManager: SecretsManagerSecrets;
  /** The Kubernetes port and discovery, resolved when a Model 2 token is first needed; undefined if unconfigured. */
  kubernetes: () => Promise<KubernetesAccess | undefined>;
  /** A regional STS client for Model 1 on Lambda, created (and the functions' SDK package loaded) when first needed. */
  sts: () => STSClient | Promise<STSClient>;
  fetch?: typeof fetch;
  tokenCache?: TokenCache;
  now?: () => number;
  readFile?: (path: string) => Promise<string>;
}

export function selectAuthContext(namespace: string, task: TaskSpec, deps: SelectDeps): Promise<AuthContext> {
  return new Selection(namespace, task, deps).select();
}

export function buildAuth(context: AuthContext, host: string, deps: AuthDeps): AuthStrategy {
  const { config } = deps;
  const http: TokenHttpOptions = {
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    ...(deps.now === undefined ? {} : { now: deps.now }),
  };
  const common = { host, namespace: context.namespace, tokenCache: deps.tokenCache, http };
  const mode = modeOf(context);
  switch (mode) {
    case 'pat': {
      const fallbackSecretId = config.FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID;
      return new PatAuth({
        guardConnector: () => assertConnectorCredentialsAllowed(host, 'The connector-wide PAT', config),
        namespace: context.namespace,
        tokenSecretName: context.tokenSecretName ?? DEFAULT_TOKEN_SECRET_NAME,
        secrets: deps.secrets,
        fallbackToken: config.FLYTE_DATABRICKS_ACCESS_TOKEN,
        fallback: fallbackSecretId ? { secretId: fallbackSecretId, secretsManager: deps.secretsManager } : undefined,
      });
    }
    case 'oauth_m2m':
      return new OAuthM2MAuth({
        ...common,
        oauthSecretName:
          context.oauthSecretName ?? config.FLYTE_DATABRICKS_OAUTH_SECRET_NAME ?? DEFAULT_OAUTH_SECRET_NAME,
        secrets: deps.secrets,
        connector: { ...connectorCredentialsConfig(config), secretsManager: deps.secretsManager },
        guardConnector: () => assertConnectorCredentialsAllowed(host, "The connector's OAuth client", config),
        expectedClientId: context.clientId,
      });
    case 'oidc_model1_file':
    case 'oidc_model1_sts': {
      const clientId = required(context, 'clientId', 'OIDC Model 1');
      assertConnectorCredentialsAllowed(host, "OIDC Model 1 (the connector's own identity)", config);
      return new OidcConnectorIdentityAuth({
        ...common,
        clientId,
        subject:
          mode === 'oidc_model1_file'
            ? { kind: 'file', path: required(context, 'oidcTokenFile', 'OIDC Model 1'), readFile: deps.readFile }
            : {
                kind: 'sts',
                audience: context.oidcAudience ?? config.FLYTE_DATABRICKS_OIDC_AUDIENCE ?? DEFAULT_OIDC_AUDIENCE,
                durationSeconds: config.OIDC_STS_DURATION_SECONDS ?? DEFAULT_STS_DURATION_SECONDS,
                sts: deps.sts,
              },
      });
    }
    case 'oidc_model2':
      return new OidcNamespaceSaAuth({
        ...common,
        clientId: required(context, 'clientId', 'OIDC Model 2'),
        serviceAccount: required(context, 'serviceAccount', 'OIDC Model 2'),
        audience: context.oidcAudience ?? config.FLYTE_DATABRICKS_OIDC_AUDIENCE ?? DEFAULT_OIDC_AUDIENCE,
        expirationSeconds: config.KUBERNETES_SA_TOKEN_EXPIRATION_SECONDS ?? DEFAULT_SA_TOKEN_EXPIRATION_SECONDS,
        kubernetes: deps.kubernetes,
      });
  }
}

const MODE_AUTH_TYPE: Readonly<Record<AuthMode, AuthType>> = {
  pat: 'pat',
  oauth_m2m: 'oauth_m2m',
  oidc_model1_file: 'oidc_federation',
  oidc_model1_sts: 'oidc_federation',
  oidc_model2: 'oidc_federation',
};

/** The stored mode; for a context without one, what its fields say (the first release wrote PAT only). */
function modeOf(context: AuthContext): AuthMode {
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

function required(context: AuthContext, field: 'clientId' | 'serviceAccount' | 'oidcTokenFile', what: string): string {
  const value = context[field];
  if (!value) {
    throw new AuthConfigError(
      `Cannot rebuild ${what} strategy without ${field} in the job's stored auth context (namespace ` +
        `'${context.namespace}'); the job must be resubmitted`,
    );
  }
  return value;
}

function connectorCredentialsConfig(config: SelectConfig | AuthConfig): ConnectorClientCredentials {
  return {
    clientId: config.DATABRICKS_CLIENT_ID,
    clientSecret: config.DATABRICKS_CLIENT_SECRET,
    clientSecretSecretId: config.DATABRICKS_CLIENT_SECRET_SECRET_ID,
  };
}

interface Family {
  type: AuthType;
  /** Variable names only, never values. */
  seen: string[];
}

/** One acceptance's worth of resolution state. */
class Selection {
  private readonly config: SelectConfig;
  private readonly fileExists: (path: string) => boolean;

  constructor(
    private readonly namespace: string,
    private readonly task: TaskSpec,
    private readonly deps: SelectDeps,
  ) {
    this.config = deps.config;
    this.fileExists = deps.fileExists ?? existsSync;
  }

  async select(): Promise<AuthContext> {
    const explicit = this.explicit();
    if (explicit) {
      switch (explicit.type) {
        case 'pat':
          return this.pat(explicit.reason);
        case 'oauth_m2m':
          return this.m2m(explicit.reason);
        case 'oidc_federation':
          return this.oidc(explicit.reason);
      }
    }
    return this.autoDetect();
  }

  private explicit(): { type: AuthType; reason: string } | undefined {
    if (this.task.databricksAuthType) {
      return { type: this.task.databricksAuthType, reason: `task databricksAuthType=${this.task.databricksAuthType}` };
    }
    const fromEnv = this.config.FLYTE_DATABRICKS_AUTH_TYPE;
    return fromEnv ? { type: fromEnv, reason: `FLYTE_DATABRICKS_AUTH_TYPE=${fromEnv}` } : undefined;
  }

  private async autoDetect(): Promise<AuthContext> {
    const { namespace, deps } = this;
    const lookup = await deps.discovery();
    const serviceAccount = lookup ? await lookup.discover(namespace) : undefined;
    if (serviceAccount) return this.model2('auto-detect', serviceAccount);

    const oauthWhere = deps.secrets.locate(namespace, this.oauthSecretName);
    const oauthValues = await deps.secrets.read(namespace, this.oauthSecretName);
    if (oauthValues) return this.m2m(`auto-detect: namespace '${namespace}' has ${oauthWhere}`, oauthValues);

    const patWhere = deps.secrets.locate(namespace, this.tokenSecretName);
    if (await deps.secrets.read(namespace, this.tokenSecretName)) {
      return this.pat(`auto-detect: namespace '${namespace}' has ${patWhere}`);
    }

    const families = this.connectorFamilies();
    const [only] = families;
    if (families.length > 1) {
      const listed = families.map((f) => `${f.type} (${f.seen.join(', ')})`).join('; ');
      throw new AuthConfigError(
        `Cannot choose how to authenticate namespace '${namespace}' to Databricks: the namespace has no credentials ` +
          `of its own (${lookup ? 'no Databricks-enabled ServiceAccount, ' : ''}no ${oauthWhere}, no ${patWhere}) ` +
          `and the connector has more than one auth method configured: ${listed}. Set FLYTE_DATABRICKS_AUTH_TYPE ` +
          "(or the task's databricksAuthType) to choose one.",
      );
    }
    if (only === undefined) {
      return this.pat(
        `auto-detect: nothing configured in namespace '${namespace}' or the connector; pat is the default`,
      );
    }
    const reason = `auto-detect: connector has ${only.seen.join(' + ')}`;
    switch (only.type) {
      case 'oidc_federation':
        return this.model1(reason, `no Model 2 ServiceAccount in namespace '${namespace}'`);
      case 'oauth_m2m':
        return this.m2m(reason, undefined);
      case 'pat':
        return this.pat(reason);
    }
  }

  /** Connector-level auth families and the variables that configure each (names only). */
  private connectorFamilies(): Family[] {
    const c = this.config;
    const families: Family[] = [];
    const set = (names: (keyof SelectConfig)[]) => names.filter((name) => Boolean(c[name]));
    if (c.DATABRICKS_CLIENT_ID) {
      const source = c.OIDC_SUBJECT_TOKEN_SOURCE ?? 'auto';
      const file =
        source === 'sts' ? undefined : this.connectorTokenFiles().find((candidate) => this.fileExists(candidate.path));
      if (source === 'sts')
        families.push({ type: 'oidc_federation', seen: ['DATABRICKS_CLIENT_ID', 'OIDC_SUBJECT_TOKEN_SOURCE=sts'] });
      else if (file) families.push({ type: 'oidc_federation', seen: ['DATABRICKS_CLIENT_ID', file.setting] });
    }
    const m2m = set(['DATABRICKS_CLIENT_SECRET', 'DATABRICKS_CLIENT_SECRET_SECRET_ID']);
    if (m2m.length > 0) families.push({ type: 'oauth_m2m', seen: [...set(['DATABRICKS_CLIENT_ID']), ...m2m] });
    const pat = set(['FLYTE_DATABRICKS_ACCESS_TOKEN', 'FLYTE_DATABRICKS_ACCESS_TOKEN_SECRET_ID']);
    if (pat.length > 0) families.push({ type: 'pat', seen: pat });
    return families;
  }

  private get tokenSecretName(): string {
    return this.task.databricksTokenSecret ?? DEFAULT_TOKEN_SECRET_NAME;
  }

  private get oauthSecretName(): string {
    return (
      this.task.databricksOauthSecret ?? this.config.FLYTE_DATABRICKS_OAUTH_SECRET_NAME ?? DEFAULT_OAUTH_SECRET_NAME
    );
  }

  private get audience(): string {
    return this.task.databricksOidcAudience ?? this.config.FLYTE_DATABRICKS_OIDC_AUDIENCE ?? DEFAULT_OIDC_AUDIENCE;
  }

  private base(authType: AuthType, mode: AuthMode, reason: string): AuthContext {
    return { authType, mode, namespace: this.namespace, reason, secretSource: this.deps.secretSource };
  }

  private pat(reason: string): AuthContext {
    return { ...this.base('pat', 'pat', reason), tokenSecretName: this.tokenSecretName };
  }

  /**
   * The client id is resolved now when its source is known (the namespace secret, or DATABRICKS_CLIENT_ID), so the
   * job is pinned to that principal; the connector's DATABRICKS_CLIENT_SECRET_SECRET_ID is only read at token time.
   */
  private async m2m(reason: string, preRead?: SecretValues): Promise<AuthContext> {
    const { namespace, deps, oauthSecretName } = this;
    const where = deps.secrets.locate(namespace, oauthSecretName);
    const values = preRead ?? (await deps.secrets.read(namespace, oauthSecretName));
    const clientId =
      values === undefined
        ? connectorClientId(
            connectorCredentialsConfig(this.config),
            `OAuth M2M (${reason}) for namespace '${namespace}': ${where} does not exist and`,
          )
        : namespaceCredentials(values, where).clientId;
    const pinned = this.task.databricksClientId;
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
      ...this.base('oauth_m2m', 'oauth_m2m', reason),
      oauthSecretName,
      ...(resolved === undefined ? {} : { clientId: resolved }),
    };
  }

  private async oidc(reason: string): Promise<AuthContext> {
    const lookup = await this.deps.discovery();
    const serviceAccount = lookup ? await lookup.discover(this.namespace) : undefined;
    if (serviceAccount) return this.model2(reason, serviceAccount);
    const why = lookup
      ? `no Model 2 ServiceAccount in namespace '${this.namespace}'`
      : 'Kubernetes is not configured, so no Model 2 discovery';
    return this.model1(reason, why);
  }

  private model2(reason: string, sa: DatabricksServiceAccount): AuthContext {
    return {
      ...this.base('oidc_federation', 'oidc_model2', reason),
      reason:
        `${reason}: namespace '${this.namespace}' has ServiceAccount '${sa.name}' labelled ` +
        'flyte.org/databricks-enabled=true (OIDC Model 2)',
      clientId: sa.clientId,
      serviceAccount: sa.name,
      oidcAudience: sa.audience ?? this.audience,
    };
  }

  private model1(reason: string, why: string): AuthContext {
    const { namespace, task, config } = this;
    const clientId = task.databricksClientId ?? config.DATABRICKS_CLIENT_ID;
    if (!clientId) {
      throw new AuthConfigError(
        `OIDC federation (${reason}): no Model 2 ServiceAccount was discovered in namespace '${namespace}' and ` +
          "Model 1 cannot run without a client_id: set the task's databricksClientId or DATABRICKS_CLIENT_ID, or " +
          'label a ServiceAccount in the namespace flyte.org/databricks-enabled=true with the annotation ' +
          `flyte.org/databricks-client-id${why.startsWith('Kubernetes') ? ` (${why})` : ''}`,
      );
    }
    const source = config.OIDC_SUBJECT_TOKEN_SOURCE ?? 'auto';
    if (source !== 'sts') {
      const candidates = this.tokenFiles();
      const file = candidates.find((candidate) => this.fileExists(candidate.path));
      if (file) {
        return {
          ...this.base(
            'oidc_federation',
            'oidc_model1_file',
            `${reason}; ${why}; Model 1, token file from ${file.setting}`,
          ),
          clientId,
          oidcTokenFile: file.path,
        };
      }
      if (source === 'file') {
        const looked = [
          'task databricksOidcTokenFile',
          'FLYTE_DATABRICKS_OIDC_TOKEN_FILE',
          'AWS_WEB_IDENTITY_TOKEN_FILE',
        ]
          .map((setting) => {
            const candidate = candidates.find((c) => c.setting === setting);
            return candidate ? `${setting} ('${candidate.path}', missing)` : `${setting} (unset)`;
          })
          .concat(`${DEFAULT_OIDC_TOKEN_FILE} (missing)`);
        throw new AuthConfigError(
          `OIDC Model 1 (${reason}) cannot run without a subject token file (OIDC_SUBJECT_TOKEN_SOURCE=file): ` +
            `looked at ${looked.join(', ')}. Project a token to one of them, or set OIDC_SUBJECT_TOKEN_SOURCE=sts`,
        );
      }
    }
    return {
      ...this.base('oidc_federation', 'oidc_model1_sts', `${reason}; ${why}; Model 1, STS GetWebIdentityToken`),
      clientId,
      oidcAudience: this.audience,
    };
  }

  /** Model 1 subject token files in order: the task's, then the connector's. */
  private tokenFiles(): { setting: string; path: string }[] {
    const fromTask = this.task.databricksOidcTokenFile;
    return [
      ...(fromTask ? [{ setting: 'task databricksOidcTokenFile', path: fromTask }] : []),
      ...this.connectorTokenFiles(),
    ];
  }

  private connectorTokenFiles(): { setting: string; path: string }[] {
    const { FLYTE_DATABRICKS_OIDC_TOKEN_FILE: explicit, AWS_WEB_IDENTITY_TOKEN_FILE: irsa } = this.config;
    return [
      ...(explicit ? [{ setting: 'FLYTE_DATABRICKS_OIDC_TOKEN_FILE', path: explicit }] : []),
      ...(irsa ? [{ setting: 'AWS_WEB_IDENTITY_TOKEN_FILE', path: irsa }] : []),
      { setting: DEFAULT_OIDC_TOKEN_FILE, path: DEFAULT_OIDC_TOKEN_FILE },
    ];
  }
}
