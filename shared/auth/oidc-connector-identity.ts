/**
 * OIDC federation, Model 1: the connector's own identity. A JWT about the connector (a projected token file, or on
 * Lambda a JWT minted by STS GetWebIdentityToken for the function's role) is exchanged (RFC 8693) for a workspace
 * token of the service principal `clientId`, whose federation policy trusts that issuer, subject and audience.
 * The subject JWT is fetched anew on every refresh (files rotate; STS JWTs are short-lived) and never kept.
 */

import type { STSClient } from '@aws-sdk/client-sts';
import { AuthConfigError, ConnectorError } from '../errors.js';
import { DeferError } from '../invocation-deadline.js';
import { countTokenFetch } from '../metrics/metrics.js';
import type { AuthStrategy } from './auth-strategy.js';
import { maskClientId } from './mask-client-id.js';
import { sharedTokenCache, type TokenCache } from './token-cache.js';
import { type TokenHttpOptions, workspaceOrigin } from './token-endpoint.js';
import { exchangeToken } from './token-exchange.js';
import { readTokenFile, TokenFileError } from './token-file.js';

/** The variables a Model 1 subject token file can come from, in order, for messages. */
export const MODEL1_FILE_SETTINGS =
  'task databricksOidcTokenFile, FLYTE_DATABRICKS_OIDC_TOKEN_FILE, AWS_WEB_IDENTITY_TOKEN_FILE or ' +
  '/var/run/secrets/databricks/token';
/** Databricks accepts RS256 and ES256 only; STS offers RS256 and ES384. */
export const STS_SIGNING_ALGORITHM = 'RS256';

export type SubjectTokenSource =
  | { kind: 'file'; path: string; readFile?: ((path: string) => Promise<string>) | undefined }
  | { kind: 'sts'; audience: string; durationSeconds: number; sts: () => STSClient | Promise<STSClient> };

export interface OidcConnectorIdentityOptions {
  host: string;
  /** For describe() only: the job's namespace (the identity is the connector's, not the namespace's). */
  namespace: string;
  clientId: string;
  subject: SubjectTokenSource;
  tokenCache?: TokenCache | undefined;
  http?: TokenHttpOptions | undefined;
}

export class OidcConnectorIdentityAuth implements AuthStrategy {
  readonly authType = 'oidc_federation' as const;
  private readonly origin: string;
  private readonly cache: TokenCache;

  constructor(private readonly options: OidcConnectorIdentityOptions) {
    this.origin = workspaceOrigin(options.host);
    this.cache = options.tokenCache ?? sharedTokenCache;
  }

  /** `oidc1|<origin>|<clientId>|<file path or sts:audience>`. */
  get cacheKey(): string {
    const { subject, clientId } = this.options;
    const source = subject.kind === 'file' ? subject.path : `sts:${subject.audience}`;
    return `oidc1|${this.origin}|${clientId}|${source}`;
  }

  getBearerToken(): Promise<string> {
    const mode = this.options.subject.kind === 'file' ? 'oidc_model1_file' : 'oidc_model1_sts';
    return this.cache.get(this.cacheKey, () =>
      countTokenFetch(mode, async () =>
        exchangeToken({
          ...this.options.http,
          host: this.origin,
          subjectToken: await this.subjectToken(),
          clientId: this.options.clientId,
        }),
      ),
    );
  }

  invalidate(): void {
    this.cache.invalidate(this.cacheKey);
  }

  describe(): string {
    const { subject, namespace, clientId } = this.options;
    const source =
      subject.kind === 'file'
        ? `subject token file '${subject.path}'`
        : `STS GetWebIdentityToken, audience '${subject.audience}'`;
    return `oidc_federation model 1 (namespace '${namespace}', connector identity, client '${maskClientId(clientId)}', ${source})`;
  }

  private async subjectToken(): Promise<string> {
    const { subject } = this.options;
    return subject.kind === 'file'
      ? readSubjectTokenFile(subject.path, subject.readFile)
      : fetchStsWebIdentityToken(await subject.sts(), subject.audience, subject.durationSeconds);
  }
}

/**
 * The file's JWT, trimmed. Missing, unreadable, not a regular file, too large, empty or not a JWT is an
 * AuthConfigError; the content is never quoted, and a file that is not a JWT is never sent (a task's path must pass
 * resolveTaskTokenFile first). The read is bounded and refuses FIFOs and devices (token-file.ts).
 */
export async function readSubjectTokenFile(
  path: string,
  readFile: (path: string) => Promise<string> = (p) => readTokenFile(p),
): Promise<string> {
  let content: string;
  try {
    content = await readFile(path);
  } catch (error) {
    // A refusal already worded for its reader (a task's file outside OIDC_TOKEN_FILE_DIRS) goes out as it is.
    if (error instanceof AuthConfigError && !(error instanceof TokenFileError)) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    const reason =
      error instanceof TokenFileError
        ? error.reason
        : code === 'ENOENT'
          ? 'does not exist'
          : `cannot be read (${typeof code === 'string' ? code : 'error'})`;
    throw new AuthConfigError(
      `OIDC Model 1 subject token file '${path}' ${reason}: point ${MODEL1_FILE_SETTINGS} at a projected ` +
        'token, or set OIDC_SUBJECT_TOKEN_SOURCE=sts to use STS GetWebIdentityToken on Lambda',
    );
  }
  const token = content.trim();
  if (token === '') throw new AuthConfigError(`OIDC Model 1 subject token file '${path}' is empty`);
  // Only Model 1 with a token file needs jose: loaded on first use, off the cold start.
  const { decodeJwt } = await import('./decode-jwt.js');
  try {
    decodeJwt(token);
  } catch {
    throw new AuthConfigError(`OIDC Model 1 subject token file '${path}' does not hold a JWT`);
  }
  return token;
}

const STS_CONFIG_ERRORS: Readonly<Record<string, string>> = {
  OutboundWebIdentityFederationDisabledException:
    'outbound web identity federation is disabled for this AWS account: enable it once per account ' +
    '(IAM EnableOutboundWebIdentityFederation, `aws iam enable-outbound-web-identity-federation`)',
  AccessDenied:
    "the function's role may not call sts:GetWebIdentityToken: allow it, and check the policy's conditions " +
    '(sts:IdentityTokenAudience, sts:SigningAlgorithm, sts:DurationSeconds)',
  AccessDeniedException:
    "the function's role may not call sts:GetWebIdentityToken: allow it, and check the policy's conditions " +
    '(sts:IdentityTokenAudience, sts:SigningAlgorithm, sts:DurationSeconds)',
  ValidationError:
    'STS rejected the request: check FLYTE_DATABRICKS_OIDC_AUDIENCE and OIDC_STS_DURATION_SECONDS (60-3600)',
  SessionDurationEscalationException:
    'OIDC_STS_DURATION_SECONDS exceeds what the sts:DurationSeconds condition allows: lower it or raise the limit',
  RegionDisabledException: 'STS is not activated in this region: activate it, or use a regional STS client elsewhere',
  JWTPayloadSizeExceededException: 'the requested JWT would be too large',
};
const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);

/** STS GetWebIdentityToken (RS256, one audience), errors mapped to what to fix (config) or to retry (transient). */
export async function fetchStsWebIdentityToken(
  sts: STSClient,
  audience: string,
  durationSeconds: number,
): Promise<string> {
  // Loaded on first use (cached by the module system): most jobs never call STS.
  const { GetWebIdentityTokenCommand } = await import('../aws/sts-sdk.js');
  let token: string | undefined;
  try {
    const output = await sts.send(
      new GetWebIdentityTokenCommand({
        Audience: [audience],
        SigningAlgorithm: STS_SIGNING_ALGORITHM,
        DurationSeconds: durationSeconds,
      }),
    );
    token = output.WebIdentityToken;
  } catch (error) {
    throw mapStsError(error, audience, durationSeconds);
  }
  if (!token) {
    throw new ConnectorError('STS GetWebIdentityToken answered without a WebIdentityToken', { permanent: false });
  }
  return token;
}

function mapStsError(error: unknown, audience: string, durationSeconds: number): Error {
  // Cut short by the invocation's deadline: the record is deferred, not failed (shared/invocation-deadline.ts).
  if (error instanceof DeferError) return error;
  const name = error instanceof Error ? error.name : 'UnknownError';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  const fault = (error as { $fault?: unknown } | null)?.$fault;
  const message = error instanceof Error ? error.message : String(error);
  const what = `STS GetWebIdentityToken (audience '${audience}', ${durationSeconds} s, ${STS_SIGNING_ALGORITHM}) failed`;
  const fix = STS_CONFIG_ERRORS[name];
  if (fix !== undefined) return new AuthConfigError(`${what} with ${name}: ${fix}. STS said: ${message}`, error);
  if (THROTTLING.has(name) || fault === 'server' || (status !== undefined && status >= 500) || status === 429) {
    return new ConnectorError(`${what} transiently with ${name}: ${message}`, { permanent: false, cause: error });
  }
  if (fault === 'client') return new AuthConfigError(`${what} with ${name}: ${message}`, error);
  // No response at all (network, credentials provider): retrying the message may help.
  return new ConnectorError(`${what} with ${name}: ${message}`, { permanent: false, cause: error });
}
