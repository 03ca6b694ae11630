/**
 * Jobs and requests of an exact DynamoDB item size, for the size limits' tests. A request must stay within the API's
 * body and string limits, so its padding is mostly what makes JSON small and items large: lists nested 20 deep
 * around an empty one, under an unknown task key (41 bytes of JSON, 80 of item, and no numbers, which are what
 * costs dynalite most), with strings making up the rest to the exact byte. A job written directly is padded with
 * one string, which dynalite handles quickest.
 */
import type { AcceptConfig } from '../../shared/jobs/accept-job.js';
import { acceptJob } from '../../shared/jobs/accept-job.js';
import { dynamoItemSize } from '../../shared/jobs/item-size.js';
import type { Job } from '../../shared/jobs/job.js';
import type { JobStore } from '../../shared/jobs/job-store.js';
import { MAX_BODY_BYTES } from '../../shared/jobs/json-limits.js';
import { type SubmitRequest, submitRequestSchema } from '../../shared/jobs/submit-request.js';

const NESTING = 20;
type Nested = Nested[];
const nestedList = (depth: number): Nested => (depth === 1 ? [] : [nestedList(depth - 1)]);
/** One padding element: as a list element, 1 + 3 bytes of item per level; `[` and `]` per level, and a comma. */
const NESTED = nestedList(NESTING);
const NESTED_ITEM_BYTES = 4 * NESTING;
const NESTED_JSON_BYTES = 2 * NESTING + 1;
/** The JSON the padding of a request may take: the body limit, less room for the rest of a test's request. */
const PADDING_JSON_BUDGET = MAX_BODY_BYTES - 16 * 1024;
/** Under the JSON limits' longest string (32,768 characters). */
const CHUNK = 32_000;

export interface Padding {
  lists: Nested[];
  strings: string[];
}

/**
 * `task` with an `extra` padding key such that `job` carrying it is exactly `targetBytes` of item: within a
 * request's limits (the default), or, with `request: false`, as one string.
 */
export function taskPaddedTo(
  job: Job,
  targetBytes: number,
  options: { request: boolean } = { request: true },
): Job['task'] & { extra: Padding } {
  const empty: Padding = { lists: [], strings: [] };
  const room = targetBytes - dynamoItemSize({ ...job, task: { ...job.task, extra: empty } });
  if (room < 0) throw new Error(`The job is ${-room} bytes over ${targetBytes} before any padding`);
  // As few nested lists as keep the padding's JSON within budget; each string costs 1 byte of item more than its
  // characters, 3 bytes of JSON more (a margin of 64 covers that for every string).
  const saving = NESTED_ITEM_BYTES - NESTED_JSON_BYTES;
  const lists = options.request ? Math.max(0, Math.ceil((room - PADDING_JSON_BUDGET + 64) / saving)) : 0;
  const rest = room - lists * NESTED_ITEM_BYTES;
  const count = options.request ? Math.ceil(rest / (CHUNK + 1)) : Math.min(rest, 1);
  const characters = rest - count;
  const strings = Array.from({ length: count }, (_, i) =>
    'x'.repeat(i < count - 1 ? CHUNK : characters - CHUNK * (count - 1)),
  );
  const task = { ...job.task, extra: { lists: Array.from({ length: lists }, () => NESTED), strings } };
  const size = dynamoItemSize({ ...job, task });
  if (size !== targetBytes) throw new Error(`Padding missed: ${size} bytes instead of ${targetBytes}`);
  return task;
}

/** The job with its task padded to exactly `targetBytes` of item, to be written directly. */
export function jobOfItemSize(job: Job, targetBytes: number): Job {
  return { ...job, task: taskPaddedTo(job, targetBytes, { request: false }) };
}

/** The job `acceptJob` would store for `request`, without storing anything. */
export async function jobFor(request: unknown, config: AcceptConfig, now = new Date()): Promise<Job> {
  let created: Job | undefined;
  const capture: JobStore = {
    create: async (job) => {
      created = job;
      return true;
    },
    get: async () => undefined,
    update: async () => {
      throw new Error('not used');
    },
    listByNamespace: async () => ({ jobs: [], nextToken: null }),
    listStale: async () => [],
  };
  await acceptJob(submitRequestSchema.parse(request), { store: capture, config, now });
  if (!created) throw new Error('acceptJob stored nothing');
  return created;
}

/**
 * `request` (a small, valid one) with its task padded so that the job accepted from it at `now` is exactly
 * `targetBytes` of item. Accepted at another time it may be a byte smaller: timestamps and hashes have fixed
 * lengths, but `expiresAt` may end in zeros, which a number's size does not count.
 */
export async function requestOfItemSize(
  request: Record<string, unknown>,
  targetBytes: number,
  config: AcceptConfig,
  now = new Date(),
): Promise<SubmitRequest> {
  const job = await jobFor(request, config, now);
  return { ...submitRequestSchema.parse(request), task: taskPaddedTo(job, targetBytes) };
}
