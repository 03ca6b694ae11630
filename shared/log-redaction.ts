/**
 * What the logger never prints: the value of any key that names a credential (token, secret, password,
 * authorization, cookie, ... at any depth, whatever the case or separators), and anything that looks like one
 * wherever it appears (a Databricks PAT or OAuth secret, a JWT, a Bearer/Basic credential, an EKS token, a
 * `client_secret=...` pair or `"access_token": "..."` member inside a message or an error stack).
 *
 * `redactingJsonReplacer` is the Powertools logger's `jsonReplacerFn`: it sees every key and value of every log line
 * (child loggers inherit it), before Powertools formats Error objects, whose message, stack and cause it then sees
 * as strings.
 */

export const REDACTED = '[REDACTED]';

/**
 * Normalized key endings (lower case, separators removed) that name a credential: `client_secret`,
 * `access_token`, `subject_token`, `x-amz-security-token`, `Set-Cookie`, `dbPassword`, `Authorization` ...
 */
const SECRET_KEY_SUFFIXES = [
  'token',
  'secret',
  'password',
  'passwd',
  'passphrase',
  'authorization',
  'cookie',
  'apikey',
  'privatekey',
  'secretaccesskey',
  'signature',
] as const;

/** Keys that end like a credential but hold none: the Databricks idempotency token is the job id; page tokens. */
const NOT_SECRET_KEYS: ReadonlySet<string> = new Set(['idempotencytoken', 'nexttoken']);

const normalizeKey = (key: string): string => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/** True when a value under this key must never be printed. */
export function isSecretKey(key: string): boolean {
  const normalized = normalizeKey(key);
  if (normalized.length === 0 || NOT_SECRET_KEYS.has(normalized)) return false;
  return SECRET_KEY_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}

/** Credential shapes recognised anywhere in a string; each is replaced, keeping any scheme word for context. */
const VALUE_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // A JWT (JWS compact: header.payload.signature, header and payload base64url JSON objects).
  [/eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // A Databricks personal access token, optionally with its `-N` suffix.
  [/dapi[0-9a-f]{16,}(?:-\d+)?/gi, REDACTED],
  // A Databricks OAuth client secret.
  [/dose[0-9a-f]{16,}/gi, REDACTED],
  // An EKS bearer token (a presigned STS GetCallerIdentity URL).
  [/k8s-aws-v1\.[A-Za-z0-9_-]+/g, REDACTED],
  // HTTP credentials as they appear in headers or messages.
  [/\b(Bearer)\s+[A-Za-z0-9._~+/-]{12,}=*/gi, `$1 ${REDACTED}`],
  [/\b(Basic)\s+[A-Za-z0-9+/]{12,}={0,2}/g, `$1 ${REDACTED}`],
];

/** `"client_secret": "..."` inside a string (a response body quoted in an error message). */
const JSON_MEMBER = /"([^"\\]{1,64})"(\s*:\s*)"(?:[^"\\]|\\.)*"/g;
/** `client_secret=...` inside a string (a form body or a query string quoted in a message). */
const FORM_PAIR = /([A-Za-z0-9_.-]{1,64})=([^&\s"',;]+)/g;

/** The string with every credential-looking part replaced by [REDACTED]. */
export function redactString(text: string): string {
  let out = text;
  for (const [pattern, replacement] of VALUE_PATTERNS) out = out.replace(pattern, replacement);
  if (out.includes('"')) {
    out = out.replace(JSON_MEMBER, (member, key: string, colon: string) =>
      isSecretKey(key) ? `"${key}"${colon}"${REDACTED}"` : member,
    );
  }
  if (out.includes('=')) {
    out = out.replace(FORM_PAIR, (pair, key: string) => (isSecretKey(key) ? `${key}=${REDACTED}` : pair));
  }
  return out;
}

/**
 * A JSON.stringify replacer (the Powertools `jsonReplacerFn`): secret keys lose their value, every other string is
 * scrubbed of credential-looking parts. Booleans and null under a secret key are kept (`hasToken: false` says
 * nothing secret); everything else under one becomes [REDACTED], objects and arrays whole.
 */
export function redactingJsonReplacer(key: string, value: unknown): unknown {
  if (key !== '' && isSecretKey(key) && value !== null && value !== undefined && typeof value !== 'boolean') {
    return REDACTED;
  }
  if (typeof value === 'string') return redactString(value);
  return value;
}
