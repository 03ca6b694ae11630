/**
 * Feeds the emulators' own fault queues (Databricks Jobs API and token endpoint, Kubernetes API, STS) from the fault
 * plan. Every few milliseconds it looks at the requests each emulator recorded since the last look and rolls the plan
 * once per request for the route's next request (the first roll is made up front); a fault it decides on is queued
 * (at most one pending per route), so it lands on that route's next request. A pending fault is counted once a recorded request shows it was served (its status, 0 for a reset).
 */
import type { DatabricksWorkspace, Fault } from '../emulators/databricks-workspace.js';
import type { KubernetesApi, KubernetesFault, KubernetesRoute } from '../emulators/kubernetes-api.js';
import type { StsEmulator, StsFault } from '../emulators/sts.js';
import type { Dependency, FaultPlan } from './fault-plan.js';

/** The Kubernetes calls the connector makes (discovery, TokenRequest, Secrets), taking turns at the faults. */
const CONNECTOR_ROUTES: readonly KubernetesRoute[] = ['list-serviceaccounts', 'create-token', 'get-secret'];

interface Route {
  dependency: Dependency;
  inject(how: string): number;
  pending?: { how: string; status: number };
}

const k8sStatus = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

export function feedEmulatorFaults(
  emulators: { databricks: DatabricksWorkspace; kubernetes: KubernetesApi; sts: StsEmulator },
  plan: FaultPlan,
  intervalMs = 5,
): () => void {
  const { databricks, kubernetes, sts } = emulators;
  let kubernetesFaults = 0;
  const databricksFault = (how: string): Fault => {
    if (how === 'reset' || how === 'reset-after') return how;
    const status = Number(how);
    return {
      status,
      body: { error_code: status === 429 ? 'REQUEST_LIMIT_EXCEEDED' : 'TEMPORARILY_UNAVAILABLE', message: 'chaos' },
    };
  };
  const [jobsApi, token, k8s, stsRoute] = [
    {
      dependency: 'databricks',
      inject: (how) => {
        databricks.injectFaults('any', [databricksFault(how)]);
        return how.startsWith('reset') ? 0 : Number(how);
      },
    },
    {
      dependency: 'token',
      inject: (how) => {
        databricks.injectFaults('token', [
          how === 'reset' ? 'reset' : { status: 503, body: { error: 'temporarily_unavailable' } },
        ]);
        return how === 'reset' ? 0 : 503;
      },
    },
    {
      dependency: 'kubernetes',
      inject: (how) => {
        const fault: KubernetesFault =
          how === 'reset'
            ? 'reset'
            : {
                status: 503,
                body: k8sStatus(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'),
              };
        // Only the calls the connector makes. The issuer's discovery and JWKS, which Databricks fetches to verify a
        // Model 2 token, are served by this emulator too, but on EKS they are a separate public endpoint.
        kubernetesFaults += 1;
        kubernetes.injectFaults(CONNECTOR_ROUTES[kubernetesFaults % CONNECTOR_ROUTES.length] as KubernetesRoute, [
          fault,
        ]);
        return how === 'reset' ? 0 : 503;
      },
    },
    {
      dependency: 'sts',
      inject: (how) => {
        const fault: StsFault =
          how === 'reset' ? 'reset' : { status: 400, code: 'Throttling', message: 'Rate exceeded', type: 'Sender' };
        sts.injectFaults('any', [fault]);
        return how === 'reset' ? 0 : 400;
      },
    },
  ] as Route[];
  const sources: {
    requests: readonly { status: number; path?: string }[];
    seen: number;
    route: (path?: string) => Route;
  }[] = [
    {
      requests: databricks.requests,
      seen: 0,
      route: (path) => (path?.startsWith('/oidc/') ? token : jobsApi) as Route,
    },
    { requests: kubernetes.requests, seen: 0, route: () => k8s as Route },
    { requests: sts.requests, seen: 0, route: () => stsRoute as Route },
  ];
  /** Decides the fate of the route's next request (one roll per request served, the first one rolled up front). */
  const roll = (route: Route) => {
    if (route.pending) return;
    const how = plan.decide(route.dependency);
    if (how !== undefined) route.pending = { how, status: route.inject(how) };
  };
  for (const route of [jobsApi, token, k8s, stsRoute] as Route[]) roll(route);
  const tick = () => {
    for (const source of sources) {
      // Only the requests recorded since the last look (the emulators' lists only grow).
      for (; source.seen < source.requests.length; source.seen += 1) {
        const request = source.requests[source.seen];
        if (!request) break;
        const route = source.route(request.path);
        if (route.pending && request.status === route.pending.status) {
          plan.count(route.dependency, route.pending.how);
          route.pending = undefined;
        }
        roll(route);
      }
    }
  };
  const timer = setInterval(tick, intervalMs);
  return () => clearInterval(timer);
}
