/**
 * `flyte-databricks-lambda`: submit, follow, cancel and list jobs through the front door, signing every request with
 * SigV4 (the standard AWS credential chain). Everything it touches (streams, environment, fetch, credentials, file
 * reading, clock, poll timing) comes in through `CliIo`, so tests drive it without a process.
 *
 * Exit codes: 0 done (a watched job SUCCEEDED), 1 the job ended FAILED / RETRYABLE_FAILED / ABORTED, 2 usage or
 * validation error (the API's message and field are printed), 3 network, credential or authorization error.
 *
 * Input is JSON only: YAML parsers are in node_modules (js-yaml via @kubernetes/client-node, yaml via dev tools) but
 * neither is a dependency of this package, and a transitive one may vanish with any update.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import {
  type ApiErrorBody,
  type ApiResult,
  JobsApiClient,
  JobsApiError,
  type JobView,
  type WatchOptions,
} from '../client/jobs-api-client.js';
import { type ApiCredentials, type CredentialsProvider, defaultCredentialsProvider } from '../client/sigv4-signing.js';
import { CLI_NAME, type CliArgs, parseCliArgs, USAGE, UsageError } from './args.js';
import { describeJob, describeList, type OutputStream, ProgressReporter } from './output.js';

export const EXIT = { OK: 0, JOB_FAILED: 1, USAGE: 2, NETWORK_OR_AUTH: 3, INTERRUPTED: 130 } as const;

/** The region of the local stack (infra/local/local-stack.ts). */
export const LOCAL_STACK_REGION = 'us-east-1';

/** The keys every local stack accepts (its own), used against 127.0.0.1 when no AWS credentials are configured. */
export const LOCAL_STACK_CREDENTIALS: ApiCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
  /** Default: the standard AWS chain (see cliCredentials). */
  credentials?: ApiCredentials | CredentialsProvider;
  readFile?: (path: string) => Promise<string>;
  readStdin?: () => Promise<string>;
  now?: () => number;
  /** Poll timing for watching (tests make it fast). */
  watch?: Pick<WatchOptions, 'intervalMs' | 'maxIntervalMs' | 'backoff' | 'sleep'>;
  signal?: AbortSignal;
}

const FAILED_PHASES = new Set(['FAILED', 'RETRYABLE_FAILED', 'ABORTED']);

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(
      argv.length === 0 ? `${USAGE}\n` : `${CLI_NAME}: ${error.message}\nRun '${CLI_NAME} --help' for usage.\n`,
    );
    return EXIT.USAGE;
  }
  if (args.command.name === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.OK;
  }
  const out = new Printer(io, args.json);
  try {
    return await run(args, io, out);
  } catch (error) {
    return out.failure(error, args.url);
  }
}

async function run(args: CliArgs, io: CliIo, out: Printer): Promise<number> {
  const now = io.now ?? Date.now;
  const client = new JobsApiClient(args.url, {
    ...(io.fetch ? { fetch: io.fetch } : {}),
    // A local stack runs in us-east-1 whatever AWS_REGION says; elsewhere the client's own rules apply.
    ...(args.region || isLoopback(args.url) ? { region: args.region ?? LOCAL_STACK_REGION } : {}),
    credentials: io.credentials ?? cliCredentials(args.url, args.profile, io.env),
    headers: { 'user-agent': `${CLI_NAME}/cli` },
  });
  const command = args.command;
  switch (command.name) {
    case 'submit': {
      const request = await readRequest(command.file, io);
      if (command.namespace !== undefined) request.namespace = command.namespace;
      if (command.executionId !== undefined) request.executionId = command.executionId;
      const submitted = await client.submit(request);
      if (!submitted.ok) return out.apiError(submitted);
      if (!command.watch) {
        out.human(
          `${submitted.status === 202 ? 'Submitted' : 'Already submitted (same request)'}: ${submitted.body.jobId}`,
        );
        out.human(describeJob(submitted.body, now()));
        out.json(submitted.body);
        return EXIT.OK;
      }
      out.human(
        `${submitted.status === 202 ? 'Submitted' : 'Already submitted (same request)'}: ${submitted.body.jobId}; ` +
          'following it (Ctrl-C stops following, not the job)',
      );
      return watch(client, submitted.body.jobId, io, out, submitted.body);
    }
    case 'status': {
      const result = await client.get(command.jobId);
      if (!result.ok) return out.apiError(result);
      out.human(describeJob(result.body, now()));
      out.json(result.body);
      return FAILED_PHASES.has(result.body.phase) ? EXIT.JOB_FAILED : EXIT.OK;
    }
    case 'cancel': {
      const result = await client.cancel(command.jobId);
      if (!result.ok) return out.apiError(result);
      out.human(
        result.status === 202
          ? `Cancellation requested for ${result.body.jobId}; it becomes ABORTED when Databricks has cancelled the run`
          : result.body.message,
      );
      out.human(describeJob(result.body, now()));
      out.json(result.body);
      return EXIT.OK;
    }
    case 'watch':
      return watch(client, command.jobId, io, out);
    case 'list': {
      const result = await client.list(command.namespace, {
        ...(command.limit !== undefined ? { limit: command.limit } : {}),
        ...(command.nextToken !== undefined ? { nextToken: command.nextToken } : {}),
      });
      if (!result.ok) return out.apiError(result);
      out.human(describeList(result.body, command.namespace, CLI_NAME));
      out.json(result.body);
      return EXIT.OK;
    }
    default:
      return EXIT.USAGE;
  }
}

async function watch(
  client: JobsApiClient,
  jobId: string,
  io: CliIo,
  out: Printer,
  submitted?: JobView,
): Promise<number> {
  const now = io.now ?? Date.now;
  const progress = out.isJson ? undefined : new ProgressReporter(io.stderr, now);
  if (submitted) progress?.update(submitted);
  let view: JobView;
  try {
    view = await client.watch(jobId, {
      intervalMs: 1000,
      maxIntervalMs: 10_000,
      ...io.watch,
      ...(io.signal ? { signal: io.signal } : {}),
      onUpdate: (update) => progress?.update(update),
    });
  } finally {
    progress?.finish();
  }
  out.human(describeJob(view, now()));
  out.json(view);
  return view.phase === 'SUCCEEDED' ? EXIT.OK : EXIT.JOB_FAILED;
}

/** The request file as a JSON object (`-` is standard input). */
async function readRequest(file: string, io: CliIo): Promise<Record<string, unknown>> {
  const extension = extname(file).toLowerCase();
  if (extension === '.yaml' || extension === '.yml') {
    throw new UsageError(
      `${file}: YAML is not supported (no YAML parser is a dependency of this package); write the request as JSON`,
    );
  }
  let text: string;
  try {
    text =
      file === '-'
        ? await (io.readStdin ?? readStdin)()
        : await (io.readFile ?? ((path: string) => readFile(path, 'utf8')))(file);
  } catch (error) {
    throw new UsageError(`Cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${file} must hold a JSON object (the body of POST /v1/jobs)`);
  }
  return value as Record<string, unknown>;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The standard AWS chain (with --profile if given). Against a local stack (127.0.0.1, localhost) the instance
 * metadata service is skipped (a local stack never knows those keys) and, when the chain finds no credentials,
 * the stack's own dummy keys are used, so `npm start` + the CLI works with nothing configured.
 */
export function cliCredentials(
  url: string,
  profile: string | undefined,
  env: Record<string, string | undefined>,
): CredentialsProvider {
  const loopback = isLoopback(url);
  if (loopback && env === process.env) process.env.AWS_EC2_METADATA_DISABLED ??= 'true';
  const chain = defaultCredentialsProvider(profile ? { profile } : {});
  if (!loopback) return chain;
  return async () => {
    try {
      return await chain();
    } catch (error) {
      if (profile) throw error;
      return LOCAL_STACK_CREDENTIALS;
    }
  };
}

export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Prints for people (stdout, stderr) or, with --json, JSON only on stdout. */
class Printer {
  constructor(
    private readonly io: CliIo,
    readonly isJson: boolean,
  ) {}

  human(text: string): void {
    if (!this.isJson) this.io.stdout.write(`${text}\n`);
  }

  json(value: unknown): void {
    if (this.isJson) this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A failed API call: 2 for a request the API refused as invalid or unknown, 3 for auth, throttling, 5xx. */
  apiError(result: Extract<ApiResult<unknown>, { ok: false }>): number {
    return this.error(result.status, result.body);
  }

  failure(error: unknown, url: string): number {
    if (error instanceof UsageError) {
      if (this.isJson) this.json({ error: { code: 'UsageError', message: error.message } });
      else this.io.stderr.write(`${CLI_NAME}: ${error.message}\n`);
      return EXIT.USAGE;
    }
    if (error instanceof JobsApiError) {
      return this.error(error.status, {
        error: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) },
      });
    }
    if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
      return EXIT.INTERRUPTED;
    }
    const message = describeFailure(error, url);
    if (this.isJson) this.json({ error: { code: 'NetworkOrCredentialsError', message } });
    else this.io.stderr.write(`${CLI_NAME}: ${message}\n`);
    return EXIT.NETWORK_OR_AUTH;
  }

  private error(status: number, body: ApiErrorBody): number {
    const usage = status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 429;
    if (this.isJson) {
      this.json(body);
    } else {
      const { code, message, field } = body.error;
      this.io.stderr.write(`${CLI_NAME}: ${message}${field ? ` (field: ${field})` : ''} [HTTP ${status} ${code}]\n`);
      if (status === 403 && /security token|signature|Missing Authentication/i.test(message)) {
        this.io.stderr.write(
          `${CLI_NAME}: the request's SigV4 signature was refused; check the AWS credentials, --region and --url ` +
            '(a local stack accepts the keys `npm start` prints)\n',
        );
      }
    }
    return usage ? EXIT.USAGE : EXIT.NETWORK_OR_AUTH;
  }
}

function describeFailure(error: unknown, url: string): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'CredentialsProviderError') {
    return `No AWS credentials to sign with: ${error.message} (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or use --profile)`;
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (error instanceof TypeError && cause) {
    const hint = isLoopback(url) && cause.code === 'ECONNREFUSED' ? '; is the local stack running (npm start)?' : '';
    return `Cannot reach ${url}: ${cause.code ?? cause.message ?? error.message}${hint}`;
  }
  return error.message;
}
