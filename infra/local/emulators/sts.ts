/**
 * AWS STS emulator: `GetWebIdentityToken` (IAM outbound identity federation) and `GetCallerIdentity`, speaking the
 * AWS Query protocol as @aws-sdk/client-sts 3.1162.0 does, and the account's token issuer (`/.well-known/openid-
 * configuration`, `/.well-known/jwks.json`) on the same port. Binds 127.0.0.1 only (emulator-server.ts: request log,
 * faults per action).
 *
 * Verified:
 * - Wire format (client-sts 3.1162.0 + @aws-sdk/core AwsQueryProtocol, read in node_modules): `POST /`,
 *   `Content-Type: application/x-www-form-urlencoded`, body `Action=<op>&Version=2011-06-15&...`, lists as
 *   `Audience.member.N`, `Tags.member.N.Key/Value`, scalars `SigningAlgorithm`, `DurationSeconds`; the response is read
 *   from `<GetWebIdentityTokenResponse><GetWebIdentityTokenResult>` (WebIdentityToken, Expiration as ISO 8601); errors
 *   from `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`: Code
 *   `OutboundWebIdentityFederationDisabledException` maps to that class (its awsQueryError code, HTTP 403), other codes
 *   (ValidationError, AccessDenied, SignatureDoesNotMatch...) become STSServiceException with `name` = Code.
 * - API reference: Audience 1-10 items of 1-1000 chars; SigningAlgorithm required, RS256 or ES384, fixed length 5;
 *   DurationSeconds 60-3600, default 300; Expiration = issue time + DurationSeconds; not on the global endpoint.
 * - Claims (IAM user guide, "Understanding token claims"): iss (account issuer), aud, sub = the IAM role ARN, iat,
 *   exp, jti, and `https://sts.amazonaws.com/` {aws_account, source_region, ..., request_tags}; no nbf in the sample.
 * - Auth errors (shared with sts-presign.ts): MissingAuthenticationToken 403 "Request is missing Authentication
 *   Token", InvalidClientTokenId 403, SignatureDoesNotMatch 403 incl. the 15-minute skew messages; ValidationError
 *   wording "1 validation error detected: Value '30' at 'durationSeconds' failed to satisfy constraint: Member must
 *   have value greater than or equal to 60" (STS's own format, seen for GetSessionToken).
 *
 * Assumed: the message for an unsupported SigningAlgorithm of the right length; the AccessDenied message and that
 * authorization comes after validation and before the federation check; the federation-disabled and
 * SessionDurationEscalation messages; IncompleteSignature (400) details; InvalidAction for unknown actions or
 * versions; JWT header `typ: JWT`; a single audience is a string `aud`, several an array; kid scheme; GetCallerIdentity
 * for a role key answers the assumed-role ARN with session name = access key id and an AROA-style UserId.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { verifySigV4 } from './aws-sigv4.js';
import { type EmulatorReply, FaultQueue, startEmulatorServer } from './emulator-server.js';
import { createOidcIssuer, type OidcIssuer, oidcRoute } from './oidc-issuer.js';
import { parseAmzDate, type StsAuthFailure, skewFailure, verifyPresignedSts } from './sts-presign.js';

export type StsSigningAlgorithm = 'RS256' | 'ES384';

export interface StsOptions {
  port?: number;
  region?: string;
  accountId?: string;
  /** accessKeyId -> secretAccessKey; 'any' accepts any key id without checking signatures. */
  credentials: Record<string, string> | 'any';
  /** The IAM principal behind a key; default `arn:aws:iam::<accountId>:role/<accessKeyId>`. */
  roleArnFor?: (accessKeyId: string) => string;
  /**
   * Who a key is, as the rest of the account sees it (the local stack's IAM registry): its session ARN and aws:userid.
   * Default: derived from roleArnFor, a role's session named after the key.
   */
  identityFor?: (accessKeyId: string) => { arn: string; userId: string } | undefined;
  /** IAM `EnableOutboundWebIdentityFederation` done for the account (default true). */
  outboundFederationEnabled?: boolean;
  /** Emulates an IAM condition on `sts:IdentityTokenAudience`: other audiences are AccessDenied. */
  allowedAudiences?: string[];
  /** Emulates an IAM condition on `sts:DurationSeconds` (default 3600, the API maximum): longer is AccessDenied. */
  maxDurationSeconds?: number;
  /** When a key's session expires (ms); a token outliving it is SessionDurationEscalationException. */
  sessionExpiresAt?: (accessKeyId: string) => number | undefined;
  /** Milliseconds since the epoch; defaults to Date.now. */
  clock?: () => number;
}

export interface IssuedWebIdentityToken {
  accessKeyId: string;
  subject: string;
  audience: string[];
  durationSeconds: number;
  signingAlgorithm: StsSigningAlgorithm;
  token: string;
  expiration: Date;
}

export interface RecordedStsRequest {
  method: string;
  action: string | undefined;
  status: number;
  /** Error code, when it failed. */
  code?: string;
}

/** An STS error answered instead of the real handler, or `'reset'` (socket destroyed). */
export type StsFault = { status: number; code: string; message?: string; type?: 'Sender' | 'Receiver' } | 'reset';

export interface StsEmulator {
  readonly url: string;
  /** The account's token issuer URL (= url; real ones look like https://<uuid>.tokens.sts.global.api.aws). */
  readonly issuer: string;
  readonly issuers: Readonly<Record<StsSigningAlgorithm, OidcIssuer>>;
  readonly issued: readonly IssuedWebIdentityToken[];
  readonly requests: readonly RecordedStsRequest[];
  setOutboundFederationEnabled(enabled: boolean): void;
  setAllowedAudiences(audiences: string[] | undefined): void;
  injectFaults(action: 'GetWebIdentityToken' | 'GetCallerIdentity' | 'any', faults: StsFault[]): void;
  close(): Promise<void>;
}

class StsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
  }
}

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const API_VERSION = '2011-06-15';
const ALGORITHMS: readonly string[] = ['RS256', 'ES384'];

const xml = (value: string): string =>
  value.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string,
  );

function successXml(action: string, fields: Record<string, string>, requestId: string): string {
  const inner = Object.entries(fields)
    .map(([name, value]) => `    <${name}>${xml(value)}</${name}>\n`)
    .join('');
  return `<${action}Response xmlns="${XMLNS}">\n  <${action}Result>\n${inner}  </${action}Result>\n  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`;
}

function errorXml(error: StsError, requestId: string): string {
  return `<ErrorResponse xmlns="${XMLNS}">\n  <Error>\n    <Type>${error.type}</Type>\n    <Code>${xml(error.code)}</Code>\n    <Message>${xml(error.message)}</Message>\n  </Error>\n  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`;
}

/** Query-protocol names for what verifySigV4 reports in JSON-protocol terms. */
function queryAuthError(type: string, message: string): StsError {
  switch (type) {
    case 'MissingAuthenticationTokenException':
      return new StsError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    case 'IncompleteSignatureException':
      return new StsError(400, 'IncompleteSignature', message);
    case 'UnrecognizedClientException':
      return new StsError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    default:
      return new StsError(403, 'SignatureDoesNotMatch', message);
  }
}

const fromFailure = (failure: StsAuthFailure): StsError => new StsError(failure.status, failure.code, failure.message);

/** `Prefix.member.N` values in order (N from 1, stopping at the first gap), or undefined when none is present. */
function memberList(params: URLSearchParams, prefix: string): string[] | undefined {
  if (params.get(prefix) === '') return [];
  const values: string[] = [];
  for (let i = 1; params.has(`${prefix}.member.${i}`); i++) values.push(params.get(`${prefix}.member.${i}`) as string);
  return values.length > 0 ? values : undefined;
}

/** A stable IAM-style unique id (AROA/AIDA + 17 characters) for a principal. */
function uniqueId(prefix: string, seed: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = createHash('sha256').update(seed).digest();
  return prefix + Array.from(bytes.subarray(0, 17), (b) => alphabet[b % 32]).join('');
}

/** What the server logs of a request: its record, and whether it was the issuer's (those are not recorded). */
type StsLog = RecordedStsRequest & { oidc?: true };

/** An answer, and the error code it carries (for the request log). */
type StsReply = EmulatorReply & { code?: string };

const xmlReply = (status: number, text: string, code?: string): StsReply => ({
  status,
  headers: {
    'Content-Type': 'text/xml',
    'x-amzn-RequestId': /<RequestId>([^<]+)<\/RequestId>/.exec(text)?.[1] ?? randomUUID(),
  },
  body: text,
  ...(code ? { code } : {}),
});

const errorReply = (error: StsError): StsReply => xmlReply(error.status, errorXml(error, randomUUID()), error.code);

/** Notes the reply's error code in the request's log entry. */
function withCode(log: Partial<StsLog>, { code, ...reply }: StsReply): EmulatorReply {
  if (code) log.code = code;
  return reply;
}

/** The request URL with the Host header as received (a presigned request signs it, port included). */
function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
  } catch {
    return new URL(req.url ?? '/', 'http://127.0.0.1');
  }
}

export async function startSts(options: StsOptions): Promise<StsEmulator> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const clock = options.clock ?? Date.now;
  const roleArnFor = options.roleArnFor ?? ((accessKeyId: string) => `arn:aws:iam::${accountId}:role/${accessKeyId}`);
  const maxDuration = options.maxDurationSeconds ?? 3600;
  let federationEnabled = options.outboundFederationEnabled ?? true;
  let allowedAudiences = options.allowedAudiences;
  const issued: IssuedWebIdentityToken[] = [];
  const faults = new FaultQueue<'GetWebIdentityToken' | 'GetCallerIdentity', StsFault>();

  /** The caller as GetCallerIdentity reports it: roles appear as assumed-role sessions named after the key. */
  function callerOf(accessKeyId: string): { arn: string; userId: string; account: string; principalArn: string } {
    const principalArn = roleArnFor(accessKeyId);
    const account = principalArn.split(':')[4] || accountId;
    const known = options.identityFor?.(accessKeyId);
    if (known) return { ...known, account, principalArn };
    const role = /^arn:(aws[\w-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(principalArn);
    if (role) {
      return {
        arn: `arn:${role[1]}:sts::${role[2]}:assumed-role/${role[3]}/${accessKeyId}`,
        userId: `${uniqueId('AROA', principalArn)}:${accessKeyId}`,
        account,
        principalArn,
      };
    }
    const userId = principalArn.endsWith(':root') ? account : uniqueId('AIDA', principalArn);
    return { arn: principalArn, userId, account, principalArn };
  }

  function validationError(problems: string[]): StsError {
    const count = problems.length === 1 ? '1 validation error' : `${problems.length} validation errors`;
    return new StsError(400, 'ValidationError', `${count} detected: ${problems.join('; ')}`);
  }

  async function getWebIdentityToken(params: URLSearchParams, accessKeyId: string): Promise<Record<string, string>> {
    const problems: string[] = [];
    const audience = memberList(params, 'Audience');
    if (audience === undefined) {
      problems.push("Value null at 'audience' failed to satisfy constraint: Member must not be null");
    } else if (audience.length < 1 || audience.length > 10) {
      const bound = audience.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 10';
      problems.push(
        `Value '[${audience.join(', ')}]' at 'audience' failed to satisfy constraint: Member must have length ${bound}`,
      );
    } else {
      for (const value of audience) {
        if (value.length < 1 || value.length > 1000) {
          const bound = value.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 1000';
          problems.push(
            `Value '[${audience.join(', ')}]' at 'audience' failed to satisfy constraint: Member must satisfy constraint: [Member must have length ${bound}]`,
          );
          break;
        }
      }
    }
    const algorithm = params.get('SigningAlgorithm');
    if (algorithm === null) {
      problems.push("Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null");
    } else if (algorithm.length !== 5) {
      const bound = algorithm.length < 5 ? 'greater than or equal to 5' : 'less than or equal to 5';
      problems.push(
        `Value '${algorithm}' at 'signingAlgorithm' failed to satisfy constraint: Member must have length ${bound}`,
      );
    }
    const durationText = params.get('DurationSeconds');
    let durationSeconds = 300;
    if (durationText !== null) {
      durationSeconds = /^-?\d+$/.test(durationText) ? Number(durationText) : Number.NaN;
      if (Number.isNaN(durationSeconds)) {
        problems.push(
          `Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must be a number`,
        );
      } else if (durationSeconds < 60) {
        problems.push(
          `Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60`,
        );
      } else if (durationSeconds > 3600) {
        problems.push(
          `Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 3600`,
        );
      }
    }
    if (problems.length > 0) throw validationError(problems);
    if (!ALGORITHMS.includes(algorithm as string)) {
      throw new StsError(
        400,
        'ValidationError',
        `The specified signing algorithm '${algorithm}' is not supported. Supported values are RS256 and ES384.`,
      );
    }
    const audiences = audience as string[];
    const caller = callerOf(accessKeyId);

    const deniedAudience = allowedAudiences && audiences.some((a) => !allowedAudiences?.includes(a));
    if (deniedAudience || durationSeconds > maxDuration) {
      throw new StsError(
        403,
        'AccessDenied',
        `User: ${caller.arn} is not authorized to perform: sts:GetWebIdentityToken because no identity-based policy allows the sts:GetWebIdentityToken action`,
      );
    }
    if (!federationEnabled) {
      throw new StsError(
        403,
        'OutboundWebIdentityFederationDisabledException',
        'The outbound web identity federation feature is not enabled for this account. To use this feature, you must first enable it through the AWS Management Console or API.',
      );
    }
    const now = clock();
    const sessionEnd = options.sessionExpiresAt?.(accessKeyId);
    if (sessionEnd !== undefined && now + durationSeconds * 1000 > sessionEnd) {
      throw new StsError(
        403,
        'SessionDurationEscalationException',
        'The requested token duration would extend the session beyond its original expiration time.',
      );
    }

    const tags: Record<string, string> = {};
    for (let i = 1; params.has(`Tags.member.${i}.Key`); i++) {
      tags[params.get(`Tags.member.${i}.Key`) as string] = params.get(`Tags.member.${i}.Value`) ?? '';
    }
    const signingAlgorithm = algorithm as StsSigningAlgorithm;
    const token = await issuers[signingAlgorithm].sign({
      sub: caller.principalArn,
      aud: audiences.length === 1 ? (audiences[0] as string) : audiences,
      expiresInSeconds: durationSeconds,
      notBefore: false,
      extra: {
        'https://sts.amazonaws.com/': {
          aws_account: caller.account,
          source_region: region,
          ...(Object.keys(tags).length > 0 ? { request_tags: tags } : {}),
        },
      },
    });
    const expiration = new Date((Math.floor(now / 1000) + durationSeconds) * 1000);
    issued.push({
      accessKeyId,
      subject: caller.principalArn,
      audience: [...audiences],
      durationSeconds,
      signingAlgorithm,
      token,
      expiration,
    });
    return { WebIdentityToken: token, Expiration: expiration.toISOString() };
  }

  /** Authenticates (header or query-string SigV4) and returns the caller's access key id. */
  function authenticate(req: IncomingMessage, url: URL, body: Buffer): string {
    if (req.headers.authorization === undefined && url.searchParams.has('X-Amz-Signature')) {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string') headers[name] = value;
      }
      const result = verifyPresignedSts(url, {
        credentials: options.credentials,
        now: clock(),
        region,
        headers,
        method: req.method ?? 'GET',
        body,
      });
      if (!result.ok) throw fromFailure(result.failure);
      return result.identity.accessKeyId;
    }
    const failure = verifySigV4(req, body, { region, service: 'sts', credentials: options.credentials });
    if (failure) throw queryAuthError(failure.type, failure.message);
    const date = parseAmzDate(String(req.headers['x-amz-date']));
    if (date === undefined) throw new StsError(400, 'IncompleteSignature', 'X-Amz-Date is malformed.');
    const skew = skewFailure(date, clock());
    if (skew) throw fromFailure(skew);
    return /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] as string;
  }

  async function dispatch(req: IncomingMessage, url: URL, body: Buffer, params: URLSearchParams): Promise<StsReply> {
    try {
      const action = params.get('Action') ?? undefined;
      const accessKeyId = authenticate(req, url, body);
      if (req.method !== 'POST' && req.method !== 'GET') {
        throw new StsError(405, 'InvalidAction', `Method ${req.method} is not supported.`);
      }
      const requestId = randomUUID();
      if (action === 'GetWebIdentityToken' && params.get('Version') === API_VERSION) {
        return xmlReply(200, successXml(action, await getWebIdentityToken(params, accessKeyId), requestId));
      }
      if (action === 'GetCallerIdentity' && params.get('Version') === API_VERSION) {
        const caller = callerOf(accessKeyId);
        const fields = { Arn: caller.arn, UserId: caller.userId, Account: caller.account };
        return xmlReply(200, successXml(action, fields, requestId));
      }
      throw new StsError(
        400,
        'InvalidAction',
        `Could not find operation ${action ?? ''} for version ${params.get('Version') ?? ''}`,
      );
    } catch (err) {
      return errorReply(err instanceof StsError ? err : new StsError(500, 'InternalFailure', String(err), 'Receiver'));
    }
  }

  /** The Query parameters: the form body of a POST, else the query string. */
  const paramsOf = (x: { req: IncomingMessage; url: URL; text(): string }): URLSearchParams =>
    x.req.method === 'POST' ? new URLSearchParams(x.text()) : new URLSearchParams(x.url.searchParams);

  const server = await startEmulatorServer<StsLog>({
    port: options.port,
    maxBodyBytes: Number.POSITIVE_INFINITY,
    clock,
    // Faults are taken for requests to `/` only, by action, before authentication.
    fault: (x) => {
      if (x.url.pathname !== '/') return undefined;
      x.log.action = paramsOf(x).get('Action') ?? undefined;
      const fault = faults.take(x.log.action as 'GetWebIdentityToken' | undefined);
      return typeof fault === 'object' ? { status: fault.status, body: fault } : fault;
    },
    faultReply: (fault, x) => {
      const f = fault.body as Exclude<StsFault, 'reset'>;
      return withCode(x.log, errorReply(new StsError(f.status, f.code, f.message ?? f.code, f.type ?? 'Sender')));
    },
    handle: async (x) => {
      const oidc = oidcRoute([issuers.RS256, issuers.ES384], x.method, x.url.pathname);
      if (oidc) {
        x.log.oidc = true;
        return oidc;
      }
      if (x.url.pathname !== '/') {
        const error = new StsError(404, 'UnknownOperationException', 'The requested path is not served by STS.');
        return withCode(x.log, errorReply(error));
      }
      return withCode(x.log, await dispatch(x.req, requestUrl(x.req), x.body, paramsOf(x)));
    },
    record: (x, status) =>
      x.log.oidc
        ? undefined
        : { method: x.method, action: x.log.action, status, ...(x.log.code ? { code: x.log.code } : {}) },
  });
  const url = server.url;
  const common = { issuerUrl: url, jwksPath: '/.well-known/jwks.json', typ: 'JWT', clock };
  const issuers: Record<StsSigningAlgorithm, OidcIssuer> = {
    RS256: await createOidcIssuer({ ...common, algorithm: 'RS256' }),
    ES384: await createOidcIssuer({ ...common, algorithm: 'ES384' }),
  };

  return {
    url,
    issuer: url,
    issuers,
    issued,
    requests: server.requests,
    setOutboundFederationEnabled: (enabled) => {
      federationEnabled = enabled;
    },
    setAllowedAudiences: (audiences) => {
      allowedAudiences = audiences ? [...audiences] : undefined;
    },
    injectFaults: (action, list) => faults.inject(action, list),
    close: () => server.close(),
  };
}
