/**
 * Server-side printing: `kubectl get` asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...` and prints
 * the Table's columns (adding NAMESPACE itself from each row's object under `-A`).
 *
 * Verified (apimachinery meta/v1 Table; kubernetes pkg/printers/internalversion column sets; apimachinery
 * util/duration HumanDuration): ServiceAccount columns Name, Secrets (count), Age; Secret columns Name, Type, Data
 * (key count), Age; Namespace columns Name, Status, Age; each row carries the object as `PartialObjectMetadata` (meta.k8s.io/v1), kubectl's default
 * `includeObject=Metadata`; Age is HumanDuration of now - creationTimestamp.
 *
 * Assumed: column descriptions (kubectl does not print them).
 */
import type { KubernetesObject, KubernetesResource } from './kubernetes-objects.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const column = (name: string, type: string, description: string, format = ''): Column => ({
  name,
  type,
  format,
  description,
  priority: 0,
});

const NAME = column('Name', 'string', 'Name must be unique within a namespace.', 'name');
const AGE = column(
  'Age',
  'string',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
);

export type TableResource = KubernetesResource | 'namespaces';

const COLUMNS: Record<TableResource, Column[]> = {
  namespaces: [NAME, column('Status', 'string', 'The status of the namespace'), AGE],
  serviceaccounts: [NAME, column('Secrets', 'string', 'Secrets is a list of the secrets in the same namespace.'), AGE],
  secrets: [
    NAME,
    column('Type', 'string', 'Used to facilitate programmatic handling of secret data.'),
    column('Data', 'string', 'Data contains the secret data.'),
    AGE,
  ],
};

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24) % 365;
  if (hours < 24 * 365 * 8) return days === 0 ? `${Math.floor(hours / 8760)}y` : `${Math.floor(hours / 8760)}y${days}d`;
  return `${Math.floor(hours / 8760)}y`;
}

function cells(resource: TableResource, object: KubernetesObject, now: number): unknown[] {
  const age = humanDuration(now - Date.parse(object.metadata.creationTimestamp));
  if (resource === 'namespaces') {
    return [object.metadata.name, (object.status as { phase?: string } | undefined)?.phase ?? 'Active', age];
  }
  if (resource === 'serviceaccounts') {
    return [object.metadata.name, Array.isArray(object.secrets) ? object.secrets.length : 0, age];
  }
  const data = object.data && typeof object.data === 'object' ? Object.keys(object.data).length : 0;
  return [object.metadata.name, object.type ?? 'Opaque', data, age];
}

/** Whether the Accept header asks for a meta.k8s.io/v1 Table. */
export const wantsTable = (accept: string | undefined): boolean =>
  (accept ?? '').split(',').some((type) => /;\s*as=Table/.test(type) && /;\s*g=meta\.k8s\.io/.test(type));

export function table(
  resource: TableResource,
  objects: KubernetesObject[],
  now: number,
  resourceVersion: string,
): object {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: COLUMNS[resource],
    rows: objects.map((object) => ({
      cells: cells(resource, object, now),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata },
    })),
  };
}
