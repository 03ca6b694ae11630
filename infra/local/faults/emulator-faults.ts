/**
 * Feeds the emulators' own fault queues (Databricks Jobs API and token endpoint, Kubernetes API, STS) from the fault
 * plan. Every few milliseconds it looks at the requests each emulator recorded since the last look and rolls the plan
 * once per request for the route's next request (the first roll is made up front); a fault it decides on is queued
 * (at most one pending per route), so it lands on that route's next request. A pending fault is counted once a
 * recorded request shows it was served (its status, 0 for a reset or a hang, any answer for a slow one). The Jobs
 * API has three routes feeding one queue (errors, slow answers, hangs), so a recorded request is matched to the
 * earliest queued of them, as the emulator serves its queue in order.
 */
import type { DatabricksWorkspace, Fault } from '../emulators/databricks-workspace.js';
import type { KubernetesApi, KubernetesFault, KubernetesRoute } from '../emulators/kubernetes-api.js';
import { statusBody } from '../emulators/kubernetes-status.js';
import type { StsEmulator, StsFault } from '../emulators/sts.js';
import type { Dependency, FaultPlan } from './fault-plan.js';

/** The Kubernetes calls the connector makes (discovery, TokenRequest, Secrets), taking turns at the faults. */
const CONNECTOR_ROUTES: readonly KubernetesRoute[] = ['list-serviceaccounts', 'create-token', 'get-secret'];

/** What a served fault shows in the emulator's record: a status (0: no answer), or just an answer (a slow one). */
type Served = number | 'answered';

interface Route {
  dependency: Dependency;
  inject(how: string): Served;
  /** `seq` orders the faults queued on one emulator queue. */
  pending?: { how: string; served: Served; seq: number };
}

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
  const [jobsApi, latency, hang, token, k8s, stsRoute] = [
    {
      dependency: 'databricks',
      inject: (how) => {
        databricks.injectFaults('any', [databricksFault(how)]);
        return how.startsWith('reset') ? 0 : Number(how);
      },
    },
    {
      // Handled at once, answered late: a run is created even if the caller gives up waiting.
      dependency: 'databricks-latency',
      inject: (how) => {
        const ms = plan.latencyMs();
        databricks.injectFaults('any', [how === 'slow-body' ? { slowBodyMs: ms } : { delayMs: ms }]);
        return 'answered';
      },
    },
    {
      // Never answered: the caller's own timeout (its invocation's deadline) must end the call.
      dependency: 'databricks-hang',
      inject: () => {
        databricks.injectFaults('any', ['hang']);
        return 0;
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
                body: statusBody(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'),
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
  const jobsApiRoutes = [jobsApi, latency, hang] as Route[];
  const sources: {
    requests: readonly { status: number; path?: string }[];
    seen: number;
    routes: (path?: string) => Route[];
  }[] = [
    {
      requests: databricks.requests,
      seen: 0,
      routes: (path) => (path?.startsWith('/oidc/') ? [token as Route] : jobsApiRoutes),
    },
    { requests: kubernetes.requests, seen: 0, routes: () => [k8s as Route] },
    { requests: sts.requests, seen: 0, routes: () => [stsRoute as Route] },
  ];
  let injected = 0;
  /** Decides the fate of the route's next request (one roll per request served, the first one rolled up front). */
  const roll = (route: Route) => {
    if (route.pending) return;
    const how = plan.decide(route.dependency);
    if (how !== undefined) route.pending = { how, served: route.inject(how), seq: injected++ };
  };
  const shows = (status: number, served: Served) => (served === 'answered' ? status !== 0 : status === served);
  // The routes chaos has always had roll first, so a seed still decides their first faults as it used to.
  for (const route of [jobsApi, token, k8s, stsRoute, latency, hang] as Route[]) roll(route);
  const tick = () => {
    for (const source of sources) {
      // Only the requests recorded since the last look (the emulators' lists only grow).
      for (; source.seen < source.requests.length; source.seen += 1) {
        const request = source.requests[source.seen];
        if (!request) break;
        const routes = source.routes(request.path);
        const served = routes
          .filter((route) => route.pending && shows(request.status, route.pending.served))
          .sort((a, b) => (a.pending?.seq ?? 0) - (b.pending?.seq ?? 0))[0];
        if (served?.pending) {
          plan.count(served.dependency, served.pending.how);
          served.pending = undefined;
        }
        for (const route of routes) roll(route);
      }
    }
  };
  const timer = setInterval(tick, intervalMs);
  return () => clearInterval(timer);
}
