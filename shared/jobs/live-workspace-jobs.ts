/**
 * Where a job stands among its workspace's live jobs, for pacing (shared/jobs/workspace-pacing.ts): its rank in the
 * sorted list of their ids, and how many there are. The list comes from a keys-only Query of the sparse
 * `liveByWorkspace` index, kept per workspace in the warm container.
 *
 * When it is read again. Every job places its next poll by its rank in the list its poller holds, and the polls of
 * a period stay one per slot only if they were placed with the same list: lists read at different times rank a job
 * differently by the jobs started and ended in between, and slots placed with the two overlap. So the list is a
 * snapshot taken on a grid every container shares: the first poll after each boundary reads it again, and all
 * containers read within a second or two of each other. While the workspace is paced the grid is its pacing period
 * (a multiple of it of at least 60 s), so all the polls of a period were placed with the snapshots of the period
 * before; unpaced, it is the minute. A job missing from the snapshot (one that started since) waits, paced, for the
 * next one (nextSnapshotMs; shared/jobs/workspace-pacing.ts, arrival). Unpaced, a missing job has the list read again
 * once it is 10 s old, so that a workspace growing into pacing is noticed soon; paced, never sooner than the grid,
 * which would make this container's list differ from the others'.
 *
 * Cost: the Query is amortised over every poll the container makes meanwhile. At 10,000 live jobs (one 1 MB page,
 * about 115 read units) and a 896 s period, each container reads about 8 read units a minute, against the about
 * 960 the polls' own GetItems read in that minute. The polls of one batch share a read in flight.
 */
import type { LiveJobIndex } from './job-store.js';
import { type PacingSettings, paceFor } from './workspace-pacing.js';

/** The snapshot grid of an unpaced workspace, and the shortest one of a paced workspace. */
export const SNAPSHOT_SECONDS = 60;
/** Unpaced, a list this old is read again for a job missing from it; and a failed read is retried after this. */
export const MISSING_JOB_REFRESH_MS = 10_000;

export interface WorkspacePosition {
  /** The job's index in the sorted list; where it would go if it is not in it. */
  rank: number;
  /** Live jobs in the list. */
  activeJobs: number;
  /** Whether the job is in the list. */
  listed: boolean;
  /** When the list was read. */
  readAtMs: number;
  /** Live jobs in the list this container held before it, if any: a change of period starts from there. */
  previousActiveJobs?: number | undefined;
  /** When the next snapshot is due (the grid's next boundary): a job not listed waits for it. */
  nextSnapshotMs: number;
}

/** The grid (seconds) a list of `activeJobs` is read again on: the pacing period's multiple of at least 60 s. */
export function snapshotSeconds(activeJobs: number, settings: PacingSettings): number {
  const pace = paceFor(activeJobs, settings);
  if (pace === undefined) return SNAPSHOT_SECONDS;
  return pace.periodSeconds * Math.ceil(SNAPSHOT_SECONDS / pace.periodSeconds);
}

/**
 * Whether a list of `activeJobs` read at `readAtMs` is read again at `nowMs`, for a job that is (or is not) in it:
 * past a grid boundary, or, unpaced, for a missing job once the list is MISSING_JOB_REFRESH_MS old.
 */
export function refreshDue(options: {
  readAtMs: number;
  nowMs: number;
  activeJobs: number;
  listed: boolean;
  settings: PacingSettings;
}): boolean {
  const { readAtMs, nowMs, activeJobs, listed, settings } = options;
  const gridMs = snapshotSeconds(activeJobs, settings) * 1000;
  if (Math.floor(nowMs / gridMs) > Math.floor(readAtMs / gridMs)) return true;
  const paced = paceFor(activeJobs, settings) !== undefined;
  return !listed && !paced && nowMs - readAtMs >= MISSING_JOB_REFRESH_MS;
}

/** The job's index in `sortedIds` (ascending), or where it would go, by binary search; and whether it is there. */
export function rankIn(sortedIds: readonly string[], jobId: string): { rank: number; listed: boolean } {
  let low = 0;
  let high = sortedIds.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sortedIds[middle] as string) < jobId) low = middle + 1;
    else high = middle;
  }
  return { rank: low, listed: sortedIds[low] === jobId };
}

interface WorkspaceList {
  /** Ascending; undefined when it could never be read. */
  ids: string[] | undefined;
  /** When it was last read (or a read was last tried). */
  readAtMs: number;
  /** The length of the list held before. */
  previousLength?: number | undefined;
}

function positionIn(
  list: WorkspaceList & { ids: string[] },
  jobId: string,
  settings: PacingSettings,
  nowMs: number,
): WorkspacePosition {
  const gridMs = snapshotSeconds(list.ids.length, settings) * 1000;
  return {
    ...rankIn(list.ids, jobId),
    activeJobs: list.ids.length,
    readAtMs: list.readAtMs,
    previousActiveJobs: list.previousLength,
    nextSnapshotMs: (Math.floor(nowMs / gridMs) + 1) * gridMs,
  };
}

export class LiveWorkspaceJobs {
  private readonly lists = new Map<string, WorkspaceList>();
  private readonly reading = new Map<string, Promise<WorkspaceList>>();

  constructor(
    private readonly index: LiveJobIndex,
    private readonly settings: PacingSettings,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /**
   * The job's position among its workspace's live jobs; undefined while the list cannot be read (retried after
   * MISSING_JOB_REFRESH_MS, not at every poll). Throws a failed read's error to the polls that waited on it.
   */
  async position(databricksHost: string, jobId: string): Promise<WorkspacePosition | undefined> {
    let list = this.lists.get(databricksHost);
    if (list === undefined || this.due(list, true)) list = await this.read(databricksHost);
    if (list.ids === undefined) return undefined;
    const position = positionIn({ ...list, ids: list.ids }, jobId, this.settings, this.nowMs());
    if (position.listed || !this.due(list, false)) return position;
    const fresh = await this.read(databricksHost);
    return fresh.ids === undefined
      ? position
      : positionIn({ ...fresh, ids: fresh.ids }, jobId, this.settings, this.nowMs());
  }

  private due(list: WorkspaceList, listed: boolean): boolean {
    const nowMs = this.nowMs();
    if (list.ids === undefined) return nowMs - list.readAtMs >= MISSING_JOB_REFRESH_MS;
    const { readAtMs } = list;
    return refreshDue({ readAtMs, nowMs, activeJobs: list.ids.length, listed, settings: this.settings });
  }

  private read(databricksHost: string): Promise<WorkspaceList> {
    const inFlight = this.reading.get(databricksHost);
    if (inFlight) return inFlight;
    const readAtMs = this.nowMs();
    const reading = this.index
      .listLiveJobIds(databricksHost)
      .then(
        (ids) => {
          const list = { ids: ids.sort(), readAtMs, previousLength: this.lists.get(databricksHost)?.ids?.length };
          this.lists.set(databricksHost, list);
          return list;
        },
        (error: unknown) => {
          // Keep what was known until the next boundary; with nothing known, try again soon, not at every poll.
          const known = this.lists.get(databricksHost);
          this.lists.set(databricksHost, { ids: known?.ids, readAtMs, previousLength: known?.previousLength });
          throw error;
        },
      )
      .finally(() => this.reading.delete(databricksHost));
    this.reading.set(databricksHost, reading);
    return reading;
  }
}
