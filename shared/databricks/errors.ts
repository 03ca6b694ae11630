import { ConnectorError } from '../errors.js';

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

const MAX_BODY_CHARS = 300;

/** Parses `{error_code, message}` (Jobs API), legacy `{error, message}` / `{error}` (API 1.2), else raw text. */
export function parseErrorBody(text: string): { errorCode?: string; message: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { message: truncate(text.trim()) || '(empty body)' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { message: truncate(text.trim()) };
  }
  const body = parsed as Record<string, unknown>;
  const message = asText(body.message) ?? asText(body.error_description);
  const code = asText(body.error_code) ?? (message === undefined ? undefined : asText(body.error));
  // Legacy bodies may carry only `error`, which is then the message, not a code.
  const finalMessage = message ?? asText(body.error) ?? truncate(text.trim());
  return code === undefined
    ? { message: truncate(finalMessage) }
    : { errorCode: code, message: truncate(finalMessage) };
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
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function truncate(text: string): string {
  return text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}…` : text;
}
