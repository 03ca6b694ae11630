/**
 * The container's cached lists of live jobs per workspace: read on a grid every container shares (the pacing period
 * when paced, the minute otherwise), shared by concurrent polls, read again for a missing job only while unpaced,
 * and a failed read neither fails every poll nor is retried at every poll. A fake index and a clock the test moves.
 */
import { describe, expect, it } from 'vitest';
import {
  LiveWorkspaceJobs,
  MISSING_JOB_REFRESH_MS,
  rankIn,
  refreshDue,
  snapshotSeconds,
} from '../../../shared/jobs/live-workspace-jobs.js';
import type { PacingSettings } from '../../../shared/jobs/workspace-pacing.js';

const HOST = 'https://dbc-1.cloud.databricks.com';
/** Minute- and 640 s-aligned (both divide it): the start of a grid interval for the lists below. */
const T0 = 1_774_080_000_000;
const settings: PacingSettings = { budgetRps: 20, minIntervalSeconds: 10, maxPeriodSeconds: 1680 };
const ids = (n: number) => Array.from({ length: n }, (_, i) => `fdl-${String(i).padStart(6, '0')}`);

function fixture(initial: string[]) {
  let now = T0;
  let live = [...initial];
  let reads = 0;
  let failNext: Error | undefined;
  const index = {
    listLiveJobIds: async () => {
      reads++;
      if (failNext) {
        const error = failNext;
        failNext = undefined;
        throw error;
      }
      // In no particular order, as the index promises.
      return [...live].reverse();
    },
  };
  const jobs = new LiveWorkspaceJobs(index, settings, () => now);
  return {
    jobs,
    reads: () => reads,
    at: (ms: number) => {
      now = T0 + ms;
    },
    setLive: (next: string[]) => {
      live = next;
    },
    failNextRead: (error: Error) => {
      failNext = error;
    },
  };
}

describe('Function: rankIn()', () => {
  it('finds a job, or where it would go', () => {
    const sorted = ['a', 'c', 'e'];
    expect(rankIn(sorted, 'c')).toEqual({ rank: 1, listed: true });
    expect(rankIn(sorted, 'd')).toEqual({ rank: 2, listed: false });
    expect(rankIn(sorted, 'z')).toEqual({ rank: 3, listed: false });
    expect(rankIn([], 'a')).toEqual({ rank: 0, listed: false });
  });
});

describe('Function: snapshotSeconds() and refreshDue()', () => {
  it('reads an unpaced list every minute, a paced one every period of at least a minute', () => {
    expect(snapshotSeconds(100, settings)).toBe(60);
    expect(snapshotSeconds(10_000, settings)).toBe(896);
    // 400 jobs: a 33.3 s period, rounded to 40; read every 2 periods, the first multiple of at least 60 s.
    expect(snapshotSeconds(400, settings)).toBe(80);
  });

  it('is due past a grid boundary, and for a missing job only while unpaced', () => {
    const base = { readAtMs: T0 + 1000, activeJobs: 100, listed: true, settings };
    expect(refreshDue({ ...base, nowMs: T0 + 59_000 })).toBe(false);
    expect(refreshDue({ ...base, nowMs: T0 + 60_000 })).toBe(true);
    expect(refreshDue({ ...base, nowMs: T0 + 1000 + MISSING_JOB_REFRESH_MS, listed: false })).toBe(true);
    const paced = { ...base, activeJobs: 10_000 };
    expect(refreshDue({ ...paced, nowMs: T0 + 895_000, listed: false })).toBe(false);
    expect(refreshDue({ ...paced, nowMs: T0 + 896_000 })).toBe(true);
  });
});

describe('Class: LiveWorkspaceJobs', () => {
  it('reads the list once for a batch of polls, sorted, and ranks each job in it', async () => {
    const f = fixture(ids(10));
    const positions = await Promise.all(ids(10).map((id) => f.jobs.position(HOST, id)));
    expect(f.reads()).toBe(1);
    expect(positions.map((p) => p?.rank)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(positions[3]).toEqual({
      rank: 3,
      activeJobs: 10,
      listed: true,
      readAtMs: T0,
      previousActiveJobs: undefined,
      // Unpaced (10 jobs), the grid is the minute.
      nextSnapshotMs: (Math.floor(T0 / 60_000) + 1) * 60_000,
    });
  });

  it('reads it again at the next grid boundary, not before, and remembers the previous length', async () => {
    const f = fixture(ids(10));
    await f.jobs.position(HOST, 'fdl-000001');
    f.at(59_999);
    await f.jobs.position(HOST, 'fdl-000001');
    expect(f.reads()).toBe(1);
    f.setLive(ids(12));
    f.at(60_000);
    const position = await f.jobs.position(HOST, 'fdl-000001');
    expect(f.reads()).toBe(2);
    expect(position).toMatchObject({ activeJobs: 12, previousActiveJobs: 10, readAtMs: T0 + 60_000 });
  });

  it('unpaced, reads it again for a job that is missing once it is 10 s old', async () => {
    const f = fixture(ids(10));
    await f.jobs.position(HOST, 'fdl-000001');
    f.setLive([...ids(10), 'fdl-new']);
    f.at(MISSING_JOB_REFRESH_MS - 1);
    expect(await f.jobs.position(HOST, 'fdl-new')).toMatchObject({ listed: false, rank: 10 });
    f.at(MISSING_JOB_REFRESH_MS);
    expect(await f.jobs.position(HOST, 'fdl-new')).toMatchObject({ listed: true, rank: 10, activeJobs: 11 });
    expect(f.reads()).toBe(2);
  });

  it('paced, keeps the snapshot every container shares and ranks a missing job where its id would go', async () => {
    const f = fixture(ids(10_000));
    await f.jobs.position(HOST, 'fdl-000001');
    f.setLive([...ids(10_000), 'fdl-000100x']);
    f.at(300_000);
    expect(await f.jobs.position(HOST, 'fdl-000100x')).toMatchObject({ listed: false, rank: 101, activeJobs: 10_000 });
    expect(f.reads()).toBe(1);
  });

  it('keeps each workspace to its own list', async () => {
    const f = fixture(ids(3));
    await f.jobs.position(HOST, 'fdl-000001');
    await f.jobs.position('https://dbc-2.cloud.databricks.com', 'fdl-000001');
    expect(f.reads()).toBe(2);
  });

  it('fails the poll whose read failed, answers unknown meanwhile, and reads again 10 s later', async () => {
    const f = fixture(ids(5));
    f.failNextRead(new Error('throttled'));
    await expect(f.jobs.position(HOST, 'fdl-000001')).rejects.toThrow('throttled');
    f.at(MISSING_JOB_REFRESH_MS - 1);
    expect(await f.jobs.position(HOST, 'fdl-000001')).toBeUndefined();
    expect(f.reads()).toBe(1);
    f.at(MISSING_JOB_REFRESH_MS);
    expect(await f.jobs.position(HOST, 'fdl-000001')).toMatchObject({ rank: 1, activeJobs: 5 });
    expect(f.reads()).toBe(2);
  });

  it('keeps the list it had when a later read fails', async () => {
    const f = fixture(ids(5));
    await f.jobs.position(HOST, 'fdl-000001');
    f.at(60_000);
    f.failNextRead(new Error('throttled'));
    await expect(f.jobs.position(HOST, 'fdl-000001')).rejects.toThrow('throttled');
    f.at(61_000);
    expect(await f.jobs.position(HOST, 'fdl-000002')).toMatchObject({ rank: 2, activeJobs: 5 });
    expect(f.reads()).toBe(2);
  });
});
