/**
 * AWS Secrets Manager emulator speaking the AWS JSON 1.1 protocol as @aws-sdk/client-secrets-manager sends it:
 * `POST /`, `X-Amz-Target: secretsmanager.<Operation>`, `Content-Type: application/x-amz-json-1.1`, SigV4-signed.
 * Operations: CreateSecret, PutSecretValue, GetSecretValue, DeleteSecret. Binds 127.0.0.1 only.
 *
 * Verified:
 * - The SDK (3.1162.0, AwsJson1_1Protocol) reads the error name from body `__type` (then `code`, then the
 *   `x-amzn-ErrorType` header), cutting anything after ':' and before '#', and the message from `message`/`Message`;
 *   timestamps default to epoch seconds (read in node_modules/@aws-sdk/core and @smithy/core).
 * - No credentials: 400 MissingAuthenticationTokenException "Missing Authentication Token" (see aws-sigv4.ts).
 * - ResourceNotFoundException "Secrets Manager can't find the specified secret."; ResourceExistsException on a
 *   duplicate name; ARN `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>`; VersionId is
 *   the ClientRequestToken, which the SDK fills with a UUID when absent; PutSecretValue moves AWSCURRENT to the new
 *   version and AWSPREVIOUS to the old one; DeleteSecret without ForceDeleteWithoutRecovery schedules deletion
 *   (default window 30 days) and the secret is then unusable but its name stays taken (AWS API reference).
 *
 * Assumed (not verified): exact messages other than the two above; ValidationException for missing or malformed
 * parameters; UnknownOperationException without a message; SerializationException for a body that is not JSON;
 * re-sending CreateSecret with the same ClientRequestToken and value is answered as a success; Content-Type is not
 * checked; partial ARNs (without the random suffix) are accepted as SecretId.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySigV4 } from './aws-sigv4.js';

export interface SecretsManagerOptions {
  port?: number;
  region?: string;
  accountId?: string;
  /** accessKeyId -> secretAccessKey used to verify SigV4 signatures; 'any' skips the signature check. */
  credentials?: Record<string, string> | 'any';
  clock?: () => number;
}

export interface SecretsManagerEmulator {
  readonly url: string;
  /** Seeds a secret directly (creates it, or adds a new AWSCURRENT version). */
  putSecret(name: string, value: string): { arn: string; versionId: string };
  close(): Promise<void>;
}

interface SecretVersion {
  versionId: string;
  secretString: string | undefined;
  secretBinary: string | undefined;
  createdAt: number;
  stages: Set<string>;
}

interface Secret {
  name: string;
  arn: string;
  versions: Map<string, SecretVersion>;
  deletionDate: number | undefined;
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type Input = Record<string, unknown>;

const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const notFound = (): AwsError =>
  new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
const epochSeconds = (ms: number): number => ms / 1000;

function required(input: Input, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') {
    const member = field.charAt(0).toLowerCase() + field.slice(1);
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function optionalString(input: Input, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsError('ValidationException', `${field} must be a string.`);
  return value;
}

function versionToken(input: Input): string {
  const token = optionalString(input, 'ClientRequestToken') ?? randomUUID();
  if (token.length < 32 || token.length > 64) {
    throw new AwsError('ValidationException', 'ClientRequestToken must be between 32 and 64 characters.');
  }
  return token;
}

export async function startSecretsManager(options: SecretsManagerOptions = {}): Promise<SecretsManagerEmulator> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const credentials = options.credentials ?? { test: 'test' };
  const clock = options.clock ?? Date.now;
  const secrets = new Map<string, Secret>();

  const arnFor = (name: string): string => {
    const suffix = Array.from(randomBytes(6), (byte) => SUFFIX_CHARS[byte % SUFFIX_CHARS.length]).join('');
    return `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`;
  };

  function find(secretId: string): Secret | undefined {
    if (!secretId.startsWith('arn:')) return secrets.get(secretId);
    return [...secrets.values()].find((s) => s.arn === secretId || s.arn.slice(0, -7) === secretId);
  }

  function usable(input: Input): Secret {
    const secret = find(required(input, 'SecretId'));
    if (!secret) throw notFound();
    if (secret.deletionDate !== undefined) {
      throw new AwsError(
        'InvalidRequestException',
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
    }
    return secret;
  }

  function current(secret: Secret): SecretVersion | undefined {
    return [...secret.versions.values()].find((v) => v.stages.has('AWSCURRENT'));
  }

  /** Adds a version, or returns the existing one for an idempotent retry with the same token and value. */
  function addVersion(secret: Secret, versionId: string, input: Input, stages = ['AWSCURRENT']): SecretVersion {
    const secretString = optionalString(input, 'SecretString');
    const secretBinary = optionalString(input, 'SecretBinary');
    if ((secretString === undefined) === (secretBinary === undefined)) {
      throw new AwsError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
    }
    const existing = secret.versions.get(versionId);
    if (existing) {
      if (existing.secretString === secretString && existing.secretBinary === secretBinary) return existing;
      throw new AwsError(
        'ResourceExistsException',
        "You can't modify an existing version, you can only create a new version.",
      );
    }
    const previous = current(secret);
    for (const version of secret.versions.values()) {
      for (const stage of stages) version.stages.delete(stage);
    }
    if (previous && stages.includes('AWSCURRENT')) {
      for (const version of secret.versions.values()) version.stages.delete('AWSPREVIOUS');
      previous.stages.add('AWSPREVIOUS');
    }
    const version = { versionId, secretString, secretBinary, createdAt: clock(), stages: new Set(stages) };
    secret.versions.set(versionId, version);
    return version;
  }

  const operations: Record<string, (input: Input) => object> = {
    CreateSecret(input) {
      const name = required(input, 'Name');
      if (!NAME.test(name)) {
        throw new AwsError(
          'ValidationException',
          'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
        );
      }
      const hasValue = input.SecretString !== undefined || input.SecretBinary !== undefined;
      const token = versionToken(input);
      const existing = secrets.get(name);
      if (existing?.deletionDate !== undefined) {
        throw new AwsError(
          'InvalidRequestException',
          "You can't create this secret because a secret with this name is already scheduled for deletion.",
        );
      }
      if (existing) {
        const retried = existing.versions.get(token);
        if (!hasValue || !retried) {
          throw new AwsError(
            'ResourceExistsException',
            `The operation failed because the secret ${name} already exists.`,
          );
        }
        addVersion(existing, token, input);
        return { ARN: existing.arn, Name: name, VersionId: token };
      }
      const secret: Secret = { name, arn: arnFor(name), versions: new Map(), deletionDate: undefined };
      if (hasValue) addVersion(secret, token, input);
      secrets.set(name, secret);
      return { ARN: secret.arn, Name: name, ...(hasValue ? { VersionId: token } : {}) };
    },

    PutSecretValue(input) {
      const secret = usable(input);
      const stages = input.VersionStages;
      if (stages !== undefined && (!Array.isArray(stages) || stages.some((s) => typeof s !== 'string'))) {
        throw new AwsError('ValidationException', 'VersionStages must be a list of strings.');
      }
      const version = addVersion(
        secret,
        versionToken(input),
        input,
        (stages as string[] | undefined) ?? ['AWSCURRENT'],
      );
      return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
    },

    GetSecretValue(input) {
      const secret = usable(input);
      const versionId = optionalString(input, 'VersionId');
      const stage = optionalString(input, 'VersionStage') ?? (versionId ? undefined : 'AWSCURRENT');
      const version = versionId
        ? secret.versions.get(versionId)
        : [...secret.versions.values()].find((v) => stage !== undefined && v.stages.has(stage));
      if (!version || (stage !== undefined && !version.stages.has(stage))) {
        const what = versionId ? `VersionId: ${versionId}` : `staging label: ${stage}`;
        throw new AwsError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for ${what}`,
        );
      }
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        ...(version.secretString !== undefined ? { SecretString: version.secretString } : {}),
        ...(version.secretBinary !== undefined ? { SecretBinary: version.secretBinary } : {}),
        VersionStages: [...version.stages],
        CreatedDate: epochSeconds(version.createdAt),
      };
    },

    DeleteSecret(input) {
      const secret = find(required(input, 'SecretId'));
      if (!secret) throw notFound();
      const force = input.ForceDeleteWithoutRecovery === true;
      const window = input.RecoveryWindowInDays;
      if (force && window !== undefined) {
        throw new AwsError(
          'InvalidParameterException',
          "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        );
      }
      if (window !== undefined && (typeof window !== 'number' || window < 7 || window > 30)) {
        throw new AwsError('InvalidParameterException', 'RecoveryWindowInDays value must be between 7 and 30 days.');
      }
      if (force) {
        secrets.delete(secret.name);
        return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(clock()) };
      }
      if (secret.deletionDate !== undefined) {
        throw new AwsError(
          'InvalidRequestException',
          "You can't perform this operation on the secret because it was already scheduled for deletion.",
        );
      }
      secret.deletionDate = clock() + ((window as number | undefined) ?? 30) * 86_400_000;
      return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(secret.deletionDate) };
    },
  };

  function dispatch(req: IncomingMessage, body: Buffer): { status: number; payload: object; type?: string } {
    try {
      const failure = verifySigV4(req, body, { region, service: 'secretsmanager', credentials });
      if (failure) throw new AwsError(failure.type, failure.message);
      const target = req.headers['x-amz-target'];
      const match = typeof target === 'string' ? /^secretsmanager\.(\w+)$/.exec(target) : null;
      const operation = match?.[1] !== undefined ? operations[match[1]] : undefined;
      if (req.method !== 'POST' || !operation) throw new AwsError('UnknownOperationException', '');
      let input: unknown;
      try {
        input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch {
        throw new AwsError('SerializationException', 'Start of structure or map found where not expected.');
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new AwsError('SerializationException', 'Start of structure or map found where not expected.');
      }
      return { status: 200, payload: operation(input as Input) };
    } catch (err) {
      const failure = err instanceof AwsError ? err : new AwsError('InternalServiceError', String(err), 500);
      const payload = failure.message ? { __type: failure.type, message: failure.message } : { __type: failure.type };
      return { status: failure.status, payload, type: failure.type };
    }
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { status, payload, type } = dispatch(req, Buffer.concat(chunks));
      const text = JSON.stringify(payload);
      res.writeHead(status, {
        'Content-Type': 'application/x-amz-json-1.1',
        'Content-Length': Buffer.byteLength(text),
        'x-amzn-RequestId': randomUUID(),
        ...(type ? { 'x-amzn-ErrorType': type } : {}),
      });
      res.end(text);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    putSecret(name, value) {
      const versionId = randomUUID();
      let secret = secrets.get(name);
      if (!secret || secret.deletionDate !== undefined) {
        secret = { name, arn: arnFor(name), versions: new Map(), deletionDate: undefined };
        secrets.set(name, secret);
      }
      addVersion(secret, versionId, { SecretString: value });
      return { arn: secret.arn, versionId };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) return resolve();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
