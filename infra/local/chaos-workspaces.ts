/**
 * Workspaces beside the local stack's own, for the chaos scenario: one that browns out and one that stays healthy.
 * Each is its own emulator (own runs, own clock-driven outage windows) with tenants bound to it the way an operator
 * binds them: the namespace secret names the workspace (`host`), NAMESPACE_WORKSPACES binds the namespace to it, and
 * the task names it (`databricksInstance`). Credentials are random per start and never printed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  type DatabricksWorkspace,
  type DatabricksWorkspaceOptions,
  startDatabricksWorkspace,
} from './emulators/databricks-workspace.js';
import type { LocalStack } from './local-stack.js';
import type { Tenant } from './tenants.js';

export interface SideWorkspace {
  workspace: DatabricksWorkspace;
  /** host:port, as ALLOWED_DATABRICKS_HOSTS and NAMESPACE_WORKSPACES name it. */
  host: string;
  /** The namespaces bound to it (NAMESPACE_WORKSPACES), by auth mode. */
  namespaces: { pat: string; oauth_m2m?: string };
}

/** Starts the emulator; tenants are seeded once the stack (and its Secrets Manager) is up. */
export async function startSideWorkspace(
  namespaces: SideWorkspace['namespaces'],
  options: DatabricksWorkspaceOptions,
): Promise<SideWorkspace> {
  const workspace = await startDatabricksWorkspace(options);
  return { workspace, host: new URL(workspace.url).host, namespaces };
}

/** NAMESPACE_WORKSPACES binding each side workspace's namespaces to it (other namespaces are left unbound). */
export function namespaceWorkspaces(sides: readonly SideWorkspace[]): Record<string, string[]> {
  const bindings: Record<string, string[]> = {};
  for (const side of sides) {
    for (const namespace of Object.values(side.namespaces)) if (namespace) bindings[namespace] = [side.host];
  }
  return bindings;
}

/** A PAT tenant (and an OAuth M2M one when named) whose jobs run on the side workspace. */
export function seedSideTenants(stack: LocalStack, side: SideWorkspace): Tenant[] {
  const { workspace, host, namespaces } = side;
  const task = { databricksInstance: workspace.url };
  const token = `dapi${randomBytes(16).toString('hex')}`;
  const owner = `${namespaces.pat}@example.com`;
  workspace.addToken(token, owner);
  stack.secrets.putSecret(`flyte/${namespaces.pat}/databricks-token`, JSON.stringify({ token, host }));
  const tenants: Tenant[] = [{ mode: 'pat', namespace: namespaces.pat, principal: `user:${owner}`, task }];
  if (namespaces.oauth_m2m) {
    const clientId = randomUUID();
    const clientSecret = `dose${randomBytes(24).toString('hex')}`;
    workspace.addServicePrincipal({
      applicationId: clientId,
      displayName: `${namespaces.oauth_m2m}-sp`,
      secrets: [clientSecret],
    });
    stack.secrets.putSecret(
      `flyte/${namespaces.oauth_m2m}/databricks-oauth`,
      JSON.stringify({ client_id: clientId, client_secret: clientSecret, host }),
    );
    tenants.push({ mode: 'oauth_m2m', namespace: namespaces.oauth_m2m, principal: clientId, task });
  }
  return tenants;
}
