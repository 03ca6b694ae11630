/**
 * The CLI's command line: `flyte-databricks-lambda <command> [arguments] [options]`, parsed with node:util
 * parseArgs (strict: an unknown option, a missing value or an option another command takes is a usage error).
 */
import { parseArgs } from 'node:util';

export const CLI_NAME = 'flyte-databricks-lambda';
/** The front door of `npm start`. */
export const LOCAL_STACK_URL = 'http://127.0.0.1:3000/prod';
export const URL_ENV = 'FLYTE_DATABRICKS_API_URL';

export type Command =
  | { name: 'submit'; file: string; namespace?: string; executionId?: string; watch: boolean }
  | { name: 'status' | 'cancel' | 'watch'; jobId: string }
  | { name: 'list'; namespace: string; limit?: number; nextToken?: string }
  | { name: 'help' };

export interface CliArgs {
  command: Command;
  /** The API's invoke URL, stage included, without a trailing slash. */
  url: string;
  region?: string;
  profile?: string;
  json: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage: ${CLI_NAME} <command> [arguments] [options]

Commands:
  submit <file.json | ->   Submit a job request (the body of POST /v1/jobs; - reads standard input)
      --namespace <ns>         Override the request's namespace
      --execution-id <id>      Override the request's executionId
      --watch                  Follow the job to its end
  status <jobId>           Show a job
  cancel <jobId>           Ask Databricks to cancel a job's run
  watch <jobId>            Follow a job to its end
  list <namespace>         List a namespace's jobs, newest first
      --limit <1-100>          Jobs per page (default 20)
      --next-token <token>     The page after a previous listing

Options:
  --url <url>        The API's invoke URL, stage included
                     (default: $${URL_ENV}, else the local stack's ${LOCAL_STACK_URL})
  --region <region>  SigV4 signing region (default: from an execute-api URL, else $AWS_REGION, else us-east-1)
  --profile <name>   AWS profile to sign with (default: the standard credential chain: environment,
                     AWS_PROFILE, SSO, web identity, container, instance)
  --json             Print JSON only: the job view (the final one with --watch), or the list
  -h, --help         Show this help

Requests are signed with SigV4 (service execute-api). Against a local stack on 127.0.0.1 with no AWS
credentials configured, the stack's own dummy keys (local/local) are used.

Exit codes: 0 done (a watched job SUCCEEDED), 1 the job ended FAILED, RETRYABLE_FAILED or ABORTED,
2 usage or validation error, 3 network, credential or authorization error.`;

const OPTIONS = {
  url: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  watch: { type: 'boolean' },
  namespace: { type: 'string' },
  'execution-id': { type: 'string' },
  limit: { type: 'string' },
  'next-token': { type: 'string' },
} as const;

const GLOBAL_OPTIONS = ['url', 'region', 'profile', 'json', 'help'];
const COMMAND_OPTIONS: Record<string, string[]> = {
  submit: ['namespace', 'execution-id', 'watch'],
  status: [],
  cancel: [],
  watch: [],
  list: ['limit', 'next-token'],
};

export function parseCliArgs(argv: readonly string[], env: Record<string, string | undefined> = {}): CliArgs {
  const parsed = (() => {
    try {
      return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
  })();
  const { values, positionals } = parsed;
  const url = normalizeUrl(values.url ?? (env[URL_ENV] || LOCAL_STACK_URL));
  const common = {
    url,
    json: values.json ?? false,
    ...(values.region ? { region: values.region } : {}),
    ...(values.profile ? { profile: values.profile } : {}),
  };
  const [name, ...rest] = positionals;
  if (values.help || name === 'help') return { ...common, command: { name: 'help' } };
  if (name === undefined) throw new UsageError('No command given');
  const allowed = COMMAND_OPTIONS[name];
  if (!allowed) throw new UsageError(`Unknown command '${name}'`);
  const misplaced = Object.keys(values).find((key) => !GLOBAL_OPTIONS.includes(key) && !allowed.includes(key));
  if (misplaced) throw new UsageError(`'${name}' does not take --${misplaced}`);

  const one = (what: string): string => {
    if (rest.length !== 1 || !rest[0]) throw new UsageError(`'${name}' takes exactly one argument: <${what}>`);
    return rest[0];
  };
  switch (name) {
    case 'submit':
      return {
        ...common,
        command: {
          name,
          file: one('file.json'),
          watch: values.watch ?? false,
          ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
          ...(values['execution-id'] !== undefined ? { executionId: values['execution-id'] } : {}),
        },
      };
    case 'list':
      return {
        ...common,
        command: {
          name,
          namespace: one('namespace'),
          ...(values.limit !== undefined ? { limit: parseLimit(values.limit) } : {}),
          ...(values['next-token'] !== undefined ? { nextToken: values['next-token'] } : {}),
        },
      };
    default:
      return { ...common, command: { name: name as 'status' | 'cancel' | 'watch', jobId: one('jobId') } };
  }
}

function parseLimit(value: string): number {
  const limit = /^[0-9]{1,3}$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= 100)) throw new UsageError(`--limit must be an integer from 1 to 100, not '${value}'`);
  return limit;
}

function normalizeUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--url is not a URL: '${value}'`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`--url must be http(s): '${value}'`);
  if (url.search || url.hash) throw new UsageError(`--url must be the API's base URL, without a query: '${value}'`);
  return url.toString().replace(/\/+$/, '');
}
