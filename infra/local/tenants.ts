/**
 * The local stack's demo tenants: one workflow namespace per auth mode, each set up the way an operator would set
 * it up for real, so the connector finds its credentials by the same rules it uses in production:
 * - `pat`: a `databricks-token` secret in Secrets Manager;
 * - `oauth_m2m`: a `databricks-oauth` secret (client_id + client_secret of a service principal);
 * - `oidc_model1_file`: the connector's own projected ServiceAccount JWT in a file, trusted by a federation policy;
 * - `oidc_model1_sts`: the connector's IAM role, JWT from STS GetWebIdentityToken, trusted likewise;
 * - `oidc_model2`: a labelled, annotated ServiceAccount in the namespace, its JWT from TokenRequest.
 * Credentials are random per start and never printed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthMode } from '../../shared/auth/auth-context.js';
import type { LocalStack } from './local-stack.js';

export const OIDC_AUDIENCE = 'databricks';
/** The connector's own identity in the cluster (Model 1, file). */
export const CONNECTOR_SERVICE_ACCOUNT = { namespace: 'flyte', name: 'flyte-connector' };
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

/** Seeds every mode's tenant; `suffix` keeps namespaces apart when one stack hosts several sets. */
export async function seedTenants(stack: LocalStack, suffix = ''): Promise<Tenants> {
  const ns = (name: string) => `${name}${suffix}`;
  return {
    pat: seedPat(stack, ns('team-pat')),
    oauth_m2m: seedOAuthM2M(stack, ns('team-m2m')),
    oidc_model1_file: await seedModel1File(stack, ns('team-oidc-file')),
    oidc_model1_sts: seedModel1Sts(stack, ns('team-oidc-sts')),
    oidc_model2: seedModel2(stack, ns('team-oidc-sa')),
  };
}

export function seedPat(stack: LocalStack, namespace: string): Tenant {
  seedPatToken(stack, namespace);
  return { mode: 'pat', namespace, principal: `user:${patOwner(namespace)}`, task: {} };
}

/** Puts a fresh PAT in the namespace's `databricks-token` secret and makes the workspace accept it. */
export function seedPatToken(stack: LocalStack, namespace: string): string {
  const token = `dapi${randomBytes(16).toString('hex')}`;
  stack.secrets.putSecret(`flyte/${namespace}/databricks-token`, JSON.stringify({ token }));
  stack.databricks.addToken(token, patOwner(namespace));
  return token;
}

const patOwner = (namespace: string) => `${namespace}@example.com`;

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
    JSON.stringify({ client_id: clientId, client_secret: clientSecret }),
  );
  return { mode: 'oauth_m2m', namespace, principal: clientId, task: {} };
}

export const CONNECTOR_SUBJECT = `system:serviceaccount:${CONNECTOR_SERVICE_ACCOUNT.namespace}:${CONNECTOR_SERVICE_ACCOUNT.name}`;

/**
 * A Model 1 (file) tenant. The file holds what the kubelet would project into the connector's pod: its
 * ServiceAccount JWT, valid for an hour; tests may put any other JWT there instead.
 */
export async function seedModel1File(stack: LocalStack, namespace: string, jwt?: string): Promise<Tenant> {
  const clientId = randomUUID();
  stack.databricks.addServicePrincipal({
    applicationId: clientId,
    displayName: `${namespace}-connector-sp`,
    federationPolicies: [{ issuer: stack.kubernetes.issuer, audiences: [OIDC_AUDIENCE], subject: CONNECTOR_SUBJECT }],
  });
  const path = join(mkdtempSync(join(stack.scratchDir, 'oidc-')), 'token');
  const token =
    jwt ?? (await stack.kubernetes.oidc.sign({ sub: CONNECTOR_SUBJECT, aud: OIDC_AUDIENCE, expiresInSeconds: 3600 }));
  writeFileSync(path, token, { mode: 0o600 });
  return {
    mode: 'oidc_model1_file',
    namespace,
    principal: clientId,
    task: { databricksAuthType: 'oidc_federation', databricksClientId: clientId, databricksOidcTokenFile: path },
  };
}

function seedModel1Sts(stack: LocalStack, namespace: string): Tenant {
  const clientId = randomUUID();
  stack.databricks.addServicePrincipal({
    applicationId: clientId,
    displayName: `${namespace}-lambda-sp`,
    // STS puts the caller's role ARN in `sub`: the functions' role, here the local credentials' principal.
    federationPolicies: [{ issuer: stack.sts.issuer, audiences: [OIDC_AUDIENCE], subject: stack.functionRoleArn }],
  });
  return {
    mode: 'oidc_model1_sts',
    namespace,
    principal: clientId,
    task: { databricksAuthType: 'oidc_federation', databricksClientId: clientId },
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
    annotations: { 'flyte.org/databricks-client-id': clientId },
  });
  return { mode: 'oidc_model2', namespace, principal: clientId, task: {} };
}
