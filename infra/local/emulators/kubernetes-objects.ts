/**
 * The Kubernetes API emulator's object store: ServiceAccounts and Secrets (core/v1), kept in their wire form, with
 * the create / get / list / update (PUT) / patch / delete semantics kubectl and client libraries rely on.
 *
 * Verified (apiserver registry and apimachinery validation, read; kubectl 1.32 run against this emulator):
 * - Create: 201 with the stored object (uid, resourceVersion, creationTimestamp set by the server); a name taken is
 *   409 AlreadyExists; a body whose namespace differs from the URL's is 400 "the namespace of the provided object does
 *   not match the namespace sent on the request"; no name is 422 `metadata.name: Required value: name or
 *   generateName is required`; `generateName` appends 5 random characters; names are RFC 1123 subdomains (message
 *   below); label keys and values are validated (the label selector's rules). `dryRun=All` validates without storing.
 * - Secrets: `stringData` is merged into `data` (base64) and not stored; `data` must be base64 (400 otherwise);
 *   `type` defaults to Opaque.
 * - Patch: `application/merge-patch+json` (RFC 7386; kubectl label and annotate send it) and strategic merge, which
 *   for these kinds' maps (labels, annotations, data) merges the same way; a `metadata.resourceVersion` in a patch or
 *   an update that is not the current one is 409 Conflict; renaming through a patch or update is 400.
 * - Delete answers a Status with status Success and details {name, kind: <resource>, uid}.
 *
 * Assumed: every namespace exists (the real server 404s a create in a missing namespace); JSON patch and
 * server-side apply are refused with 415; other metadata (finalizers, ownerReferences, managedFields) is neither
 * kept nor validated; the exact 400 messages for malformed bodies.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type LabelRequirement, matchesLabelSelector, validKey, validValue } from './kubernetes-label-selector.js';
import { alreadyExists, badRequest, type Cause, conflict, invalid, notFound } from './kubernetes-status.js';

export type KubernetesResource = 'serviceaccounts' | 'secrets';

export const KIND: Record<KubernetesResource, string> = { serviceaccounts: 'ServiceAccount', secrets: 'Secret' };

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** An object as the API serves it. */
export interface KubernetesObject {
  apiVersion: 'v1';
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export type PatchType = 'merge' | 'strategic';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const KEY_MESSAGE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function stringMap(value: unknown, field: string, kind: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw badRequest(`${kind} in version "v1" cannot be handled as a ${kind}: ${field}: expected map of strings`);
  }
  return Object.keys(value).length > 0 ? { ...(value as Record<string, string>) } : undefined;
}

export class ObjectStore {
  private readonly objects = new Map<string, KubernetesObject>();
  private version = 1000;

  constructor(private readonly clock: () => number) {}

  get resourceVersion(): string {
    return String(this.version);
  }

  private key(resource: KubernetesResource, namespace: string, name: string): string {
    return `${resource}/${namespace}/${name}`;
  }

  /** A copy of the stored object, or undefined. */
  find(resource: KubernetesResource, namespace: string, name: string): KubernetesObject | undefined {
    const found = this.objects.get(this.key(resource, namespace, name));
    return found ? structuredClone(found) : undefined;
  }

  get(resource: KubernetesResource, namespace: string, name: string): KubernetesObject {
    const found = this.find(resource, namespace, name);
    if (!found) throw notFound(resource, name);
    return found;
  }

  /** Sorted by namespace, then name (as etcd keys are); `namespace` undefined: all namespaces. */
  list(
    resource: KubernetesResource,
    namespace: string | undefined,
    labels: LabelRequirement[],
    fields: { name?: string; namespace?: string } = {},
  ): KubernetesObject[] {
    return [...this.objects.values()]
      .filter(
        (o) =>
          o.kind === KIND[resource] &&
          (namespace === undefined || o.metadata.namespace === namespace) &&
          (fields.name === undefined || o.metadata.name === fields.name) &&
          (fields.namespace === undefined || o.metadata.namespace === fields.namespace) &&
          matchesLabelSelector(labels, o.metadata.labels ?? {}),
      )
      .sort(
        (a, b) =>
          a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name),
      )
      .map((o) => structuredClone(o));
  }

  create(resource: KubernetesResource, namespace: string, body: unknown, dryRun = false): KubernetesObject {
    const kind = KIND[resource];
    if (!isRecord(body)) throw badRequest(`the object provided is unrecognized (must be of type ${kind})`);
    const metadata = isRecord(body.metadata) ? body.metadata : {};
    if (typeof metadata.namespace === 'string' && metadata.namespace !== '' && metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    let name = typeof metadata.name === 'string' ? metadata.name : '';
    if (!name && typeof metadata.generateName === 'string' && metadata.generateName) {
      name = `${metadata.generateName}${Array.from(randomBytes(5), (b) => GENERATE_ALPHABET[b % 27]).join('')}`;
    }
    const object = this.normalize(resource, body, {
      name,
      namespace,
      uid: randomUUID(),
      resourceVersion: '',
      creationTimestamp: rfc3339(this.clock()),
    });
    if (this.objects.has(this.key(resource, namespace, name))) throw alreadyExists(resource, name);
    return dryRun ? object : this.store(resource, object);
  }

  /** PUT: replaces everything but the server-set metadata. */
  update(resource: KubernetesResource, namespace: string, name: string, body: unknown): KubernetesObject {
    const existing = this.get(resource, namespace, name);
    if (!isRecord(body)) throw badRequest(`the object provided is unrecognized (must be of type ${KIND[resource]})`);
    this.checkIdentity(resource, existing, body);
    return this.store(resource, this.normalize(resource, body, existing.metadata));
  }

  patch(
    resource: KubernetesResource,
    namespace: string,
    name: string,
    patch: unknown,
    _type: PatchType,
  ): KubernetesObject {
    const existing = this.get(resource, namespace, name);
    if (!isRecord(patch)) throw badRequest('the patch is not a JSON object');
    const patched = mergePatch(existing, patch) as Record<string, unknown>;
    this.checkIdentity(resource, existing, patched, patch);
    return this.store(resource, this.normalize(resource, patched, existing.metadata));
  }

  delete(resource: KubernetesResource, namespace: string, name: string): KubernetesObject {
    const existing = this.get(resource, namespace, name);
    this.objects.delete(this.key(resource, namespace, name));
    this.version++;
    return existing;
  }

  /** For seeding: creates or replaces, keeping uid and creationTimestamp of an existing object. */
  put(resource: KubernetesResource, namespace: string, name: string, body: Record<string, unknown>): KubernetesObject {
    const existing = this.find(resource, namespace, name);
    const meta = existing?.metadata ?? {
      name,
      namespace,
      uid: randomUUID(),
      resourceVersion: '',
      creationTimestamp: rfc3339(this.clock()),
    };
    return this.store(
      resource,
      this.normalize(
        resource,
        { ...body, metadata: { ...(isRecord(body.metadata) ? body.metadata : {}), name } },
        meta,
      ),
    );
  }

  /** The namespaces that hold an object. */
  namespaces(): string[] {
    return [...new Set([...this.objects.values()].map((o) => o.metadata.namespace))];
  }

  clear(): void {
    this.objects.clear();
  }

  private store(resource: KubernetesResource, object: KubernetesObject): KubernetesObject {
    object.metadata.resourceVersion = String(++this.version);
    this.objects.set(this.key(resource, object.metadata.namespace, object.metadata.name), object);
    return structuredClone(object);
  }

  /** A patch or update may not rename, and may only name the current resourceVersion. */
  private checkIdentity(
    resource: KubernetesResource,
    existing: KubernetesObject,
    body: Record<string, unknown>,
    patch?: Record<string, unknown>,
  ): void {
    const metadata = isRecord(body.metadata) ? body.metadata : {};
    const { name, namespace, resourceVersion } = existing.metadata;
    if (metadata.name !== undefined && metadata.name !== name) {
      throw badRequest(
        `the name of the object (${String(metadata.name)}) does not match the name on the URL (${name})`,
      );
    }
    if (metadata.namespace !== undefined && metadata.namespace !== '' && metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const sent = patch
      ? isRecord(patch.metadata)
        ? patch.metadata.resourceVersion
        : undefined
      : metadata.resourceVersion;
    if (sent !== undefined && sent !== null && sent !== '' && sent !== resourceVersion) throw conflict(resource, name);
  }

  /** The stored form of a request body: validated, server metadata applied, Secret data encoded. */
  private normalize(
    resource: KubernetesResource,
    body: Record<string, unknown>,
    meta: Omit<ObjectMeta, 'labels' | 'annotations'>,
  ): KubernetesObject {
    const kind = KIND[resource];
    if (body.kind !== undefined && body.kind !== kind) {
      throw badRequest(`${kind} in version "v1" cannot be handled as a ${kind}: the kind is ${String(body.kind)}`);
    }
    if (body.apiVersion !== undefined && body.apiVersion !== 'v1') {
      throw badRequest(
        `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (v1)`,
      );
    }
    const metadata = isRecord(body.metadata) ? body.metadata : {};
    const labels = stringMap(metadata.labels, 'metadata.labels', kind);
    const annotations = stringMap(metadata.annotations, 'metadata.annotations', kind);
    const causes: Cause[] = [];
    if (!meta.name) {
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      });
    } else if (meta.name.length > 253 || !DNS_SUBDOMAIN.test(meta.name)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${meta.name}": ${SUBDOMAIN_MESSAGE}`,
        field: 'metadata.name',
      });
    }
    for (const [key, value] of Object.entries(labels ?? {})) {
      if (!validKey(key)) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${key}": ${KEY_MESSAGE}`,
          field: 'metadata.labels',
        });
      } else if (!validValue(value)) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${value}": ${LABEL_VALUE_MESSAGE}`,
          field: 'metadata.labels',
        });
      }
    }
    for (const key of Object.keys(annotations ?? {})) {
      if (!validKey(key)) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${key}": ${KEY_MESSAGE}`,
          field: 'metadata.annotations',
        });
      }
    }
    if (causes.length > 0) throw invalid(kind, meta.name, causes);

    const { apiVersion: _v, kind: _k, metadata: _m, status: _s, ...fields } = body;
    const object: KubernetesObject = {
      apiVersion: 'v1',
      kind,
      metadata: {
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
        creationTimestamp: meta.creationTimestamp,
        ...(labels ? { labels } : {}),
        ...(annotations ? { annotations } : {}),
      },
      ...structuredClone(fields),
    };
    if (resource === 'secrets') this.normalizeSecret(object);
    return object;
  }

  private normalizeSecret(secret: KubernetesObject): void {
    const data = stringMap(secret.data, 'data', 'Secret') ?? {};
    for (const [key, value] of Object.entries(data)) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
        throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data.${key}`);
      }
    }
    const stringData = stringMap(secret.stringData, 'stringData', 'Secret') ?? {};
    for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(value, 'utf8').toString('base64');
    delete secret.stringData;
    // Go's omitempty: an empty map is not written.
    if (Object.keys(data).length > 0) secret.data = data;
    else delete secret.data;
    if (secret.type === undefined || secret.type === '') secret.type = 'Opaque';
  }
}
