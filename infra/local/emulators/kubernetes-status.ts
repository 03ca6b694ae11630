/**
 * Kubernetes API answers: the JSON the API server writes (Go's json.Encoder, so a trailing newline) and its Status
 * objects for errors, and the error the emulator's handlers throw to answer with one.
 *
 * Verified (apimachinery pkg/api/errors): NotFound `<resource> "<name>" not found`, AlreadyExists `<resource> "<name>"
 * already exists` (409, details {name, kind: <resource>}), Conflict `Operation cannot be fulfilled on <resource>
 * "<name>": the object has been modified; please apply your changes to the latest version and try again` (409,
 * reason Conflict), Invalid `<Kind> "<name>" is invalid: <field>: <detail>` (422, details {name, kind: <Kind>,
 * causes}); RequestEntityTooLarge `Request entity too large: limit is <n>` (413).
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorReply } from './emulator-server.js';

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface Cause {
  reason: string;
  message: string;
  field: string;
}

export const DEFAULT_REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>): object {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

export const failure = (code: number, reason: string, message: string, details?: Record<string, unknown>): Reply => ({
  status: code,
  body: statusBody(code, reason, message, details),
});

/** Thrown by handlers; the server answers with its Status. */
export class KubernetesError extends Error {
  constructor(readonly reply: Reply) {
    super((reply.body as { message?: string }).message ?? `HTTP ${reply.status}`);
  }
}

export const notFound = (resource: string, name: string): KubernetesError =>
  new KubernetesError(failure(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource }));

export const alreadyExists = (resource: string, name: string): KubernetesError =>
  new KubernetesError(failure(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource }));

export const conflict = (resource: string, name: string): KubernetesError =>
  new KubernetesError(
    failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, kind: resource },
    ),
  );

export const badRequest = (message: string): KubernetesError =>
  new KubernetesError(failure(400, 'BadRequest', message));

/** 422 Invalid; `group` only for non-core kinds. */
export function invalid(kind: string, name: string, causes: Cause[], group?: string): KubernetesError {
  const qualified = group ? `${kind}.${group}` : kind;
  const list = causes.map((c) => `${c.field}: ${c.message}`);
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new KubernetesError(
    failure(422, 'Invalid', `${qualified} "${name}" is invalid: ${summary}`, {
      ...(name ? { name } : {}),
      ...(group ? { group } : {}),
      kind,
      causes,
    }),
  );
}

/** The wire form: JSON with the encoder's newline, and the headers every API server answer has. */
export function toEmulatorReply(reply: Reply): EmulatorReply {
  const text = typeof reply.body === 'string' ? reply.body : `${JSON.stringify(reply.body)}\n`;
  return {
    status: reply.status,
    headers: {
      'Content-Type': typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
      'Cache-Control': 'no-cache, private',
      'Audit-Id': randomUUID(),
      ...reply.headers,
    },
    body: text,
  };
}
