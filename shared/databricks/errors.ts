import { ConnectorError } from '../errors.js';
import { redactString } from '../log-redaction.js';

/**
 * A failed Jobs API call. `retryable` says whether the same request could succeed later (429/5xx/connection);
 * `permanent` (for the SQS handlers) is its inverse. Messages never carry the token or the Authorization header.
 */
export class DatabricksApiError extends ConnectorError {
  /** HTTP status, or undefined when no response arrived (connection error, timeout). */
  readonly status: number | undefined;
  /** Databricks `error_code` (e.g. INVALID_PARAMETER_VALUE), always a string. */
  readonly errorCode: string | undefined;
  readonly retryable: boolean;
  /** The API operation, e.g. `runs/submit`. */
  readonly operation: string;

  constructor(
    message: string,
    options: { operation: string; status?: number; errorCode?: string; retryable: boolean; cause?: unknown },
  ) {
    super(message, { permanent: !options.retryable, cause: options.cause });
    this.operation = options.operation;
    this.status = options.status;
    this.errorCode = options.errorCode;
    this.retryable = options.retryable;
  }
}

/** Longest `error_code` or `message` taken from an error body. */
const MAX_FIELD_CHARS = 300;
/** What a field is cut to before redaction, so a huge field costs little yet a secret across the cut is still seen. */
const MAX_SCANNED_CHARS = 4 * MAX_FIELD_CHARS;

/**
 * Reads `{error_code, message}` (Jobs API), legacy `{error, message}` / `{error}` (API 1.2) and OAuth
 * `{error, error_description}`. Only those fields are taken, each bounded and redacted: the body comes from
 * whatever host the job names, so anything else (an HTML page, a JSON document of another shape) is never quoted,
 * only described by its size. `loneError` says what a body with `error` alone carries: a message (Jobs API 1.2) or
 * a code (OAuth, where `error` is required and `error_description` optional).
 */
export function parseErrorBody(
  text: string,
  options: { loneError?: 'message' | 'code' } = {},
): { errorCode?: string; message: string } {
  if (text.trim() === '') return { message: '(empty body)' };
  const size = `${Buffer.byteLength(text, 'utf8')} bytes`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { message: `(non-JSON error body, ${size})` };
  }
  const body = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
  const field = (name: string) => asText((body as Record<string, unknown>)[name]);
  let message = field('message') ?? field('error_description');
  let code = field('error_code');
  const error = field('error');
  if (code === undefined && error !== undefined) {
    if (message !== undefined || options.loneError === 'code') code = error;
    else message = error;
  }
  const withCode = code === undefined ? {} : { errorCode: boundedField(code) };
  if (message !== undefined) return { ...withCode, message: boundedField(message) };
  return { ...withCode, message: `(JSON error body without a message, ${size})` };
}

/** `Databricks runs/submit failed (HTTP 400 INVALID_PARAMETER_VALUE): <message>`. */
export function formatApiErrorMessage(
  operation: string,
  status: number | undefined,
  code: string | undefined,
  detail: string,
) {
  const where = status === undefined ? 'no response' : `HTTP ${status}${code === undefined ? '' : ` ${code}`}`;
  return `Databricks ${operation} failed (${where}): ${detail}`;
}

/**
 * Removes secrets from text that may end up in an error: the exact token values we sent, plus anything that looks
 * like a bearer header or a Databricks PAT (a server or proxy could echo them back).
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('[REDACTED]');
  }
  return out.replace(/Bearer\s+[^\s"',;]+/gi, 'Bearer [REDACTED]').replace(/dapi[0-9a-f]{32}(-\d+)?/gi, '[REDACTED]');
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string' && value.trim().length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** A field of an error body as a message may carry it: credentials redacted, at most MAX_FIELD_CHARS. */
function boundedField(text: string): string {
  const redacted = redactString(text.slice(0, MAX_SCANNED_CHARS)).trim();
  return redacted.length > MAX_FIELD_CHARS ? `${redacted.slice(0, MAX_FIELD_CHARS - 1)}…` : redacted;
}
