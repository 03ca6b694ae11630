/**
 * AWS Secrets Manager emulator speaking the AWS JSON 1.1 protocol as @aws-sdk/client-secrets-manager and the AWS CLI
 * (`aws --endpoint-url http://127.0.0.1:<port> secretsmanager ...`) send it: `POST /`, `X-Amz-Target:
 * secretsmanager.<Operation>`, `Content-Type: application/x-amz-json-1.1`, SigV4-signed. Operations: CreateSecret,
 * PutSecretValue, GetSecretValue, DescribeSecret, ListSecrets, UpdateSecret, DeleteSecret, RestoreSecret, TagResource,
 * UntagResource. Binds 127.0.0.1 only (emulator-server.ts: request log, faults per operation).
 *
 * Verified:
 * - The SDK (3.1162.0) and botocore read the error name from body `__type` (then the `x-amzn-ErrorType` header),
 *   cutting anything after ':' and before '#', and the message from `message`/`Message`; timestamps are epoch
 *   seconds. No credentials: 400 MissingAuthenticationTokenException (aws-sigv4.ts).
 * - API reference: ResourceNotFoundException "Secrets Manager can't find the specified secret."; ResourceExistsException
 *   on a duplicate name; ARN `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>`;
 *   VersionId is the ClientRequestToken, which SDK and CLI fill with a UUID when absent; PutSecretValue (and
 *   UpdateSecret with a value) moves AWSCURRENT to the new version and AWSPREVIOUS to the old one; DeleteSecret
 *   without ForceDeleteWithoutRecovery schedules deletion (RecoveryWindowInDays 7-30, default 30; both together is
 *   InvalidParameterException), after which value reads and writes are InvalidRequestException while DescribeSecret
 *   still answers (with DeletedDate) and the name stays taken until RestoreSecret; ListSecrets leaves such secrets out
 *   unless IncludePlannedDeletion, pages with MaxResults (1-100) / NextToken, filters by name, description, tag-key,
 *   tag-value or all (prefix matches, a leading '!' negates); DescribeSecret's VersionIdsToStages and ListSecrets'
 *   SecretVersionsToStages map each version that has a stage; TagResource merges tags by key and answers `{}`.
 *
 * Assumed (not verified): exact messages other than the two above; ValidationException for missing or malformed
 * parameters; UnknownOperationException without a message; SerializationException for a body that is not JSON;
 * re-sending CreateSecret with the same ClientRequestToken and value succeeds; DeletedDate is when DeleteSecret was
 * called; tagging a secret scheduled for deletion is refused; ListSecrets sorts by creation (ascending unless
 * SortOrder=desc); versions without a stage are kept; Content-Type is not checked; partial ARNs are accepted.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { verifySigV4 } from './aws-sigv4.js';
import { type EmulatorFault, FaultQueue, startEmulatorServer } from './emulator-server.js';

export interface SecretsManagerOptions {
  port?: number;
  region?: string;
  accountId?: string;
  /** accessKeyId -> secretAccessKey used to verify SigV4 signatures; 'any' skips the signature check. */
  credentials?: Record<string, string> | 'any';
  clock?: () => number;
}

export type SecretsManagerOperation =
  | 'CreateSecret'
  | 'PutSecretValue'
  | 'GetSecretValue'
  | 'DescribeSecret'
  | 'ListSecrets'
  | 'UpdateSecret'
  | 'DeleteSecret'
  | 'RestoreSecret'
  | 'TagResource'
  | 'UntagResource';

/** `{ status, body? }` answers `body` (default: an InternalServiceError-style error for the status); see emulator-server.ts. */
export type SecretsManagerFault = EmulatorFault;

export interface RecordedSecretsManagerRequest {
  operation: string | undefined;
  /** 0: no answer (a reset or a hang). */
  status: number;
  /** The error's `__type`, when it failed. */
  error?: string;
}

export interface SecretVersionSnapshot {
  versionId: string;
  stages: string[];
  secretString?: string;
  secretBinary?: string;
}

/** What the emulator holds for a secret (for tests to assert on). */
export interface SecretSnapshot {
  name: string;
  arn: string;
  description?: string;
  tags: Record<string, string>;
  /** Milliseconds since the epoch when deletion is scheduled to happen. */
  deletionDate?: number;
  versions: SecretVersionSnapshot[];
}

export interface SecretsManagerEmulator {
  readonly url: string;
  /** Seeds a secret directly (creates it, or adds a new AWSCURRENT version). */
  putSecret(name: string, value: string): { arn: string; versionId: string };
  /** A secret by name or ARN (including one scheduled for deletion), or undefined. */
  inspect(secretId: string): SecretSnapshot | undefined;
  readonly requests: readonly RecordedSecretsManagerRequest[];
  injectFaults(operation: SecretsManagerOperation | 'any', faults: SecretsManagerFault[]): void;
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
  description: string | undefined;
  tags: Map<string, string>;
  versions: Map<string, SecretVersion>;
  createdAt: number;
  changedAt: number;
  deletedAt: number | undefined;
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
const OPERATIONS: readonly string[] = [
  'CreateSecret',
  'PutSecretValue',
  'GetSecretValue',
  'DescribeSecret',
  'ListSecrets',
  'UpdateSecret',
  'DeleteSecret',
  'RestoreSecret',
  'TagResource',
  'UntagResource',
];
/** The error a status fault without a body names. */
const FAULT_TYPES: Record<number, string> = {
  400: 'ThrottlingException',
  403: 'AccessDeniedException',
  429: 'ThrottlingException',
};
const notFound = (): AwsError =>
  new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
const markedForDeletion = (): AwsError =>
  new AwsError(
    'InvalidRequestException',
    "You can't perform this operation on the secret because it was marked for deletion.",
  );
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

function tagList(input: Input): [string, string][] {
  const tags = input.Tags ?? [];
  if (!Array.isArray(tags)) throw new AwsError('ValidationException', 'Tags must be a list.');
  return tags.map((tag: unknown) => {
    const t = (tag ?? {}) as Input;
    if (typeof t.Key !== 'string' || t.Key === '' || (t.Value !== undefined && typeof t.Value !== 'string')) {
      throw new AwsError('ValidationException', 'Each tag must have a Key and a string Value.');
    }
    return [t.Key, (t.Value as string | undefined) ?? ''];
  });
}

export async function startSecretsManager(options: SecretsManagerOptions = {}): Promise<SecretsManagerEmulator> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const credentials = options.credentials ?? { test: 'test' };
  const clock = options.clock ?? Date.now;
  const secrets = new Map<string, Secret>();
  const faults = new FaultQueue<SecretsManagerOperation>();

  const arnFor = (name: string): string => {
    const suffix = Array.from(randomBytes(6), (byte) => SUFFIX_CHARS[byte % SUFFIX_CHARS.length]).join('');
    return `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`;
  };

  function newSecret(name: string, description?: string): Secret {
    const now = clock();
    return {
      name,
      arn: arnFor(name),
      description,
      tags: new Map(),
      versions: new Map(),
      createdAt: now,
      changedAt: now,
      deletedAt: undefined,
      deletionDate: undefined,
    };
  }

  function find(secretId: string): Secret | undefined {
    if (!secretId.startsWith('arn:')) return secrets.get(secretId);
    return [...secrets.values()].find((s) => s.arn === secretId || s.arn.slice(0, -7) === secretId);
  }

  /** The secret named by SecretId; one scheduled for deletion only when `deletedOk`. */
  function lookup(input: Input, deletedOk = false): Secret {
    const secret = find(required(input, 'SecretId'));
    if (!secret) throw notFound();
    if (secret.deletionDate !== undefined && !deletedOk) throw markedForDeletion();
    return secret;
  }

  const current = (secret: Secret): SecretVersion | undefined =>
    [...secret.versions.values()].find((v) => v.stages.has('AWSCURRENT'));

  const versionStages = (secret: Secret): Record<string, string[]> =>
    Object.fromEntries(
      [...secret.versions.values()].filter((v) => v.stages.size > 0).map((v) => [v.versionId, [...v.stages]]),
    );

  const tagsOf = (secret: Secret): { Key: string; Value: string }[] | undefined =>
    secret.tags.size > 0 ? [...secret.tags].map(([Key, Value]) => ({ Key, Value })) : undefined;

  /** A secret's metadata as DescribeSecret and ListSecrets answer it; they name the stages map differently. */
  const secretSummary = (secret: Secret, stagesKey: 'VersionIdsToStages' | 'SecretVersionsToStages') => {
    const tags = tagsOf(secret);
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description !== undefined ? { Description: secret.description } : {}),
      LastChangedDate: epochSeconds(secret.changedAt),
      ...(secret.deletedAt !== undefined ? { DeletedDate: epochSeconds(secret.deletedAt) } : {}),
      ...(tags ? { Tags: tags } : {}),
      [stagesKey]: versionStages(secret),
      CreatedDate: epochSeconds(secret.createdAt),
    };
  };

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
    secret.changedAt = clock();
    return version;
  }

  /** The ListSecrets filter check: prefix match per value, '!' negates; a filter holds if any value does. */
  function matches(secret: Secret, filters: unknown): boolean {
    if (filters === undefined) return true;
    if (!Array.isArray(filters)) throw new AwsError('ValidationException', 'Filters must be a list.');
    return filters.every((filter: unknown) => {
      const { Key: key, Values: values } = (filter ?? {}) as Input;
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
        throw new AwsError('ValidationException', 'Filter Values must be a list of strings.');
      }
      const fields: Record<string, string[]> = {
        name: [secret.name],
        description: secret.description ? [secret.description] : [],
        'tag-key': [...secret.tags.keys()],
        'tag-value': [...secret.tags.values()],
      };
      fields.all = Object.values(fields).flat();
      const candidates = typeof key === 'string' ? fields[key] : undefined;
      if (!candidates) throw new AwsError('ValidationException', `Invalid filter key: ${String(key)}`);
      return (values as string[]).some((value) => {
        const negated = value.startsWith('!');
        const prefix = negated ? value.slice(1) : value;
        const hit = candidates.some((c) => c.startsWith(prefix));
        return negated ? !hit : hit;
      });
    });
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
      const tags = tagList(input);
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
      const secret = newSecret(name, optionalString(input, 'Description'));
      for (const [key, value] of tags) secret.tags.set(key, value);
      if (hasValue) addVersion(secret, token, input);
      secrets.set(name, secret);
      return { ARN: secret.arn, Name: name, ...(hasValue ? { VersionId: token } : {}) };
    },

    PutSecretValue(input) {
      const secret = lookup(input);
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
      const secret = lookup(input);
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

    DescribeSecret(input) {
      const secret = lookup(input, true);
      // DescribeSecret names the stages map VersionIdsToStages, ListSecrets SecretVersionsToStages (API reference).
      return secretSummary(secret, 'VersionIdsToStages');
    },

    ListSecrets(input) {
      const max = input.MaxResults ?? 100;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) {
        throw new AwsError(
          'ValidationException',
          `1 validation error detected: Value '${String(max)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100`,
        );
      }
      const order = input.SortOrder ?? 'asc';
      const all = [...secrets.values()]
        .filter(
          (s) => (s.deletionDate === undefined || input.IncludePlannedDeletion === true) && matches(s, input.Filters),
        )
        .sort((a, b) => (order === 'desc' ? b.createdAt - a.createdAt : a.createdAt - b.createdAt));
      const start =
        input.NextToken === undefined ? 0 : Number(Buffer.from(String(input.NextToken), 'base64url').toString());
      if (!Number.isInteger(start) || start < 0)
        throw new AwsError('InvalidNextTokenException', 'The NextToken value is invalid.');
      const page = all.slice(start, start + max);
      return {
        SecretList: page.map((secret) => secretSummary(secret, 'SecretVersionsToStages')),
        ...(start + max < all.length ? { NextToken: Buffer.from(String(start + max)).toString('base64url') } : {}),
      };
    },

    UpdateSecret(input) {
      const secret = lookup(input);
      const description = optionalString(input, 'Description');
      if (description !== undefined) {
        secret.description = description;
        secret.changedAt = clock();
      }
      const hasValue = input.SecretString !== undefined || input.SecretBinary !== undefined;
      const version = hasValue ? addVersion(secret, versionToken(input), input) : undefined;
      return { ARN: secret.arn, Name: secret.name, ...(version ? { VersionId: version.versionId } : {}) };
    },

    DeleteSecret(input) {
      const secret = lookup(input, true);
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
      secret.deletedAt = clock();
      secret.deletionDate = secret.deletedAt + ((window as number | undefined) ?? 30) * 86_400_000;
      return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(secret.deletionDate) };
    },

    RestoreSecret(input) {
      const secret = lookup(input, true);
      secret.deletedAt = undefined;
      secret.deletionDate = undefined;
      return { ARN: secret.arn, Name: secret.name };
    },

    TagResource(input) {
      const secret = lookup(input);
      const tags = tagList(input);
      if (input.Tags === undefined) required(input, 'Tags');
      for (const [key, value] of tags) secret.tags.set(key, value);
      return {};
    },

    UntagResource(input) {
      const secret = lookup(input);
      const keys = input.TagKeys;
      if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) required(input, 'TagKeys');
      for (const key of keys as string[]) secret.tags.delete(key);
      return {};
    },
  };

  const operationOf = (req: IncomingMessage): string | undefined => {
    const target = req.headers['x-amz-target'];
    return (typeof target === 'string' ? /^secretsmanager\.(\w+)$/.exec(target) : null)?.[1];
  };

  function dispatch(req: IncomingMessage, body: Buffer): { status: number; payload: object; type?: string } {
    try {
      const failure = verifySigV4(req, body, { region, service: 'secretsmanager', credentials });
      if (failure) throw new AwsError(failure.type, failure.message);
      const name = operationOf(req);
      const operation = name !== undefined ? operations[name] : undefined;
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

  const json = (status: number, payload: object, type?: string) => ({
    status,
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'x-amzn-RequestId': randomUUID(),
      ...(type ? { 'x-amzn-ErrorType': type } : {}),
    },
    body: JSON.stringify(payload),
  });

  const server = await startEmulatorServer<RecordedSecretsManagerRequest>({
    port: options.port,
    clock,
    fault: (x) => {
      const operation = operationOf(x.req);
      return faults.take(OPERATIONS.includes(operation ?? '') ? (operation as SecretsManagerOperation) : undefined);
    },
    faultReply: (fault, x) => {
      if (fault.body !== undefined) {
        const text = typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body);
        return {
          status: fault.status,
          headers: { 'Content-Type': 'application/x-amz-json-1.1', ...fault.headers },
          body: text,
        };
      }
      const type = FAULT_TYPES[fault.status] ?? (fault.status >= 500 ? 'InternalServiceError' : 'ValidationException');
      x.log.error = type;
      return json(fault.status, { __type: type, message: `injected fault: ${type}` }, type);
    },
    handle: (x) => {
      const { status, payload, type } = dispatch(x.req, x.body);
      if (type) x.log.error = type;
      return json(status, payload, type);
    },
    record: (x, status) => ({
      operation: operationOf(x.req),
      status,
      ...(x.log.error !== undefined ? { error: x.log.error } : {}),
    }),
  });

  return {
    url: server.url,
    putSecret(name, value) {
      const versionId = randomUUID();
      let secret = secrets.get(name);
      if (!secret || secret.deletionDate !== undefined) {
        secret = newSecret(name);
        secrets.set(name, secret);
      }
      addVersion(secret, versionId, { SecretString: value });
      return { arn: secret.arn, versionId };
    },
    inspect(secretId) {
      const secret = find(secretId);
      if (!secret) return undefined;
      return {
        name: secret.name,
        arn: secret.arn,
        ...(secret.description !== undefined ? { description: secret.description } : {}),
        tags: Object.fromEntries(secret.tags),
        ...(secret.deletionDate !== undefined ? { deletionDate: secret.deletionDate } : {}),
        versions: [...secret.versions.values()].map((v) => ({
          versionId: v.versionId,
          stages: [...v.stages],
          ...(v.secretString !== undefined ? { secretString: v.secretString } : {}),
          ...(v.secretBinary !== undefined ? { secretBinary: v.secretBinary } : {}),
        })),
      };
    },
    requests: server.requests,
    injectFaults: (operation, list) => faults.inject(operation, list),
    close: () => server.close(),
  };
}
