/**
 * The local stack's demo tenants: one workflow namespace per auth mode, each set up the way an operator would set
 * it up for real, so the connector finds its credentials by the same rules it uses in production:
 * - `pat`: a `databricks-token` secret in Secrets Manager;
 * - `oauth_m2m`: a `databricks-oauth` secret (client_id + client_secret of a service principal);
 * - `oidc_model1_file`: the connector's own projected ServiceAccount JWT in a file the task names (inside the stack's
 *   OIDC_TOKEN_FILE_DIRS), exchanged for the connector's service principal (DATABRICKS_CLIENT_ID, the operator's);
 * - `oidc_model1_sts`: the connector's IAM role, JWT from STS GetWebIdentityToken, exchanged for the same principal;
 * - `oidc_model2`: a labelled, annotated ServiceAccount in the namespace, its JWT from TokenRequest.
 * Namespace secrets name their workspace (`host`), as the connector requires before sending them anywhere.
 * Credentials are random per start and never printed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthMode } from '../../shared/auth/auth-context.js';
import { CONNECTOR_SUBJECT, OIDC_AUDIENCE } from './connector-identity.js';
import type { LocalCallers, LocalStack, LocalStackOptions } from './local-stack.js';

export { CONNECTOR_SERVICE_ACCOUNT, CONNECTOR_SUBJECT, OIDC_AUDIENCE } from './connector-identity.js';

const MODEL2_SERVICE_ACCOUNT = 'databricks-runner';

export interface Tenant {
  mode: AuthMode;
  namespace: string;
  /** The service principal Databricks should see run the job (PAT: the token's owner). */
  principal: string;
  /** What the task itself must say (Model 1 tasks name their service principal and, for a file, the path). */
  task: Record<string, unknown>;
}

export type Tenants = Record<AuthMode, Tenant>;

const secret = () => randomBytes(24).toString('hex');

/** The namespace of each mode's tenant; `suffix` keeps namespaces apart when one stack hosts several sets. */
export function tenantNamespaces(suffix = ''): Record<AuthMode, string> {
  return {
    pat: `team-pat${suffix}`,
    oauth_m2m: `team-m2m${suffix}`,
    oidc_model1_file: `team-oidc-file${suffix}`,
    oidc_model1_sts: `team-oidc-sts${suffix}`,
    oidc_model2: `team-oidc-sa${suffix}`,
  };
}

/**
 * CALLER_NAMESPACES binding the local caller (by ARN at the front door, by principal id as a queue producer) to
 * exactly these namespaces: what a scenario declares instead of the stack's default "any namespace".
 */
export function callerMayUseOnly(namespaces: readonly string[]): NonNullable<LocalStackOptions['callerNamespaces']> {
  return ({ callerArn, callerPrincipalId }: LocalCallers) => ({
    [callerArn]: [...namespaces],
    [callerPrincipalId]: [...namespaces],
  });
}

/** Seeds every mode's tenant, in the namespaces tenantNamespaces(suffix) names. */
export async function seedTenants(stack: LocalStack, suffix = ''): Promise<Tenants> {
  const ns = tenantNamespaces(suffix);
  return {
    pat: seedPat(stack, ns.pat),
    oauth_m2m: seedOAuthM2M(stack, ns.oauth_m2m),
    oidc_model1_file: await seedModel1File(stack, ns.oidc_model1_file),
    oidc_model1_sts: seedModel1Sts(stack, ns.oidc_model1_sts),
    oidc_model2: seedModel2(stack, ns.oidc_model2),
  };
}

export function seedPat(stack: LocalStack, namespace: string): Tenant {
  seedPatToken(stack, namespace);
  return { mode: 'pat', namespace, principal: `user:${patOwner(namespace)}`, task: {} };
}

/** Puts a fresh PAT in the namespace's `databricks-token` secret and makes the workspace accept it. */
export function seedPatToken(stack: LocalStack, namespace: string): string {
  const token = `dapi${randomBytes(16).toString('hex')}`;
  stack.secrets.putSecret(`flyte/${namespace}/databricks-token`, JSON.stringify({ token, host: workspaceOf(stack) }));
  stack.databricks.addToken(token, patOwner(namespace));
  return token;
}

const patOwner = (namespace: string) => `${namespace}@example.com`;

/** The workspace a namespace secret is bound to (its `host` key): the stack's workspace. */
const workspaceOf = (stack: LocalStack) => new URL(stack.databricks.url).host;

export function seedOAuthM2M(stack: LocalStack, namespace: string): Tenant {
  const clientId = randomUUID();
  const clientSecret = `dose${secret()}`;
  stack.databricks.addServicePrincipal({
    applicationId: clientId,
    displayName: `${namespace}-sp`,
    secrets: [clientSecret],
  });
  stack.secrets.putSecret(
    `flyte/${namespace}/databricks-oauth`,
    JSON.stringify({ client_id: clientId, client_secret: clientSecret, host: workspaceOf(stack) }),
  );
  return { mode: 'oauth_m2m', namespace, principal: clientId, task: {} };
}

/**
 * A Model 1 (file) tenant. The file holds what the kubelet would project into the connector's pod: its
 * ServiceAccount JWT, valid for an hour; tests may put any other JWT there instead. It lies in the stack's scratch
 * folder, the one directory OIDC_TOKEN_FILE_DIRS lets a task name.
 */
export async function seedModel1File(stack: LocalStack, namespace: string, jwt?: string): Promise<Tenant> {
  const path = join(mkdtempSync(join(stack.scratchDir, 'oidc-')), 'token');
  const token =
    jwt ?? (await stack.kubernetes.oidc.sign({ sub: CONNECTOR_SUBJECT, aud: OIDC_AUDIENCE, expiresInSeconds: 3600 }));
  writeFileSync(path, token, { mode: 0o600 });
  return {
    mode: 'oidc_model1_file',
    namespace,
    principal: stack.connectorClientId,
    task: { databricksAuthType: 'oidc_federation', databricksOidcTokenFile: path },
  };
}

function seedModel1Sts(stack: LocalStack, namespace: string): Tenant {
  // The connector's principal trusts the functions' role through STS (local-stack.ts); nothing per namespace.
  return {
    mode: 'oidc_model1_sts',
    namespace,
    principal: stack.connectorClientId,
    task: { databricksAuthType: 'oidc_federation' },
  };
}

export function seedModel2(stack: LocalStack, namespace: string, serviceAccount = MODEL2_SERVICE_ACCOUNT): Tenant {
  const clientId = randomUUID();
  stack.databricks.addServicePrincipal({
    applicationId: clientId,
    displayName: `${namespace}-sa-sp`,
    federationPolicies: [
      {
        issuer: stack.kubernetes.issuer,
        audiences: [OIDC_AUDIENCE],
        subject: `system:serviceaccount:${namespace}:${serviceAccount}`,
      },
    ],
  });
  stack.kubernetes.addServiceAccount(namespace, serviceAccount, {
    labels: { 'flyte.org/databricks-enabled': 'true' },
    annotations: { 'flyte.org/databricks-client-id': clientId, 'flyte.org/databricks-host': workspaceOf(stack) },
  });
  return { mode: 'oidc_model2', namespace, principal: clientId, task: {} };
}
