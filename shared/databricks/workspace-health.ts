/**
 * Which workspaces are failing, as this container has seen them, so one slow or failing workspace does not hold
 * the records and the concurrency other tenants need (a circuit breaker per workspace origin).
 *
 * A workspace that does not answer a call in time, or resets or answers 5xx/429 on `failuresToOpen` calls in a row,
 * is unhealthy: its calls
 * are refused at once with a DeferError, so its jobs come back later (each after the time left, plus jitter so they
 * do not all return together) without calling it. When that time has passed one call goes through as a probe; if it
 * works the workspace is healthy again, if not it stays unhealthy for twice as long (up to `maxBackoffMs`). Any
 * answer that is not a failure of the workspace itself (a 2xx, a 400, a 404) counts as healthy.
 *
 * The state is per container, shared by the records of every batch it runs; a cold container starts trusting every
 * workspace and learns within `failuresToOpen` calls. The backoffs are the functions' settings
 * WORKSPACE_UNHEALTHY_FIRST_BACKOFF_SECONDS and WORKSPACE_UNHEALTHY_MAX_BACKOFF_SECONDS (shared/config.ts), which the
 * container's view takes when its job ports are built (functions/job-ports.ts).
 */
import { DeferError } from '../invocation-deadline.js';

export interface WorkspaceHealthSettings {
  /** Consecutive failed calls that make a workspace unhealthy. */
  failuresToOpen: number;
  /** How long a workspace is left alone the first time it turns unhealthy. */
  firstBackoffMs: number;
  /** The longest it is left alone (the backoff doubles up to this). */
  maxBackoffMs: number;
}

/** The defaults. The backoffs are also settings, whose defaults these are (shared/config.ts SETTINGS). */
export const DEFAULT_WORKSPACE_HEALTH: Readonly<WorkspaceHealthSettings> = Object.freeze({
  // As many as one Jobs API call's attempts: a single unlucky call never marks a workspace, a hung one's batch does.
  failuresToOpen: 5,
  firstBackoffMs: 10_000,
  maxBackoffMs: 300_000,
});

interface State {
  /** Failed calls in a row. */
  failures: number;
  /** Unhealthy until then (epoch ms); 0 while healthy. */
  openUntil: number;
  /** The backoff the next opening uses. */
  backoffMs: number;
  /** A probe is in flight: others wait for its outcome. */
  probing: boolean;
  /** When the probe was let through: one that never reports back is given up on after PROBE_TIMEOUT_MS. */
  probeStartedAt: number;
}

/**
 * A probe that has not reported back after this long is taken as lost (its invocation ended, or a path that neither
 * released nor reported it), and the next call may probe: a lost probe must never leave a workspace shut for good.
 */
export const PROBE_TIMEOUT_MS = 60_000;

export class WorkspaceHealth {
  private readonly states = new Map<string, State>();

  constructor(
    private settings: Readonly<WorkspaceHealthSettings> = DEFAULT_WORKSPACE_HEALTH,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * Takes the container's configured settings (functions/job-ports.ts, before its first Databricks call); a workspace
   * it already tracks keeps the backoff it has.
   */
  configure(settings: Readonly<WorkspaceHealthSettings>): void {
    this.settings = settings;
  }

  /**
   * Lets a call to the workspace go ahead, or throws a DeferError while it is unhealthy. After the backoff one call
   * is let through as the probe.
   */
  admit(origin: string): void {
    const state = this.states.get(origin);
    if (!state || state.openUntil === 0) return;
    const now = this.now();
    const probeLost = state.probing && now - state.probeStartedAt >= PROBE_TIMEOUT_MS;
    if (now >= state.openUntil && (!state.probing || probeLost)) {
      state.probing = true;
      state.probeStartedAt = now;
      return;
    }
    const waitMs = Math.max(state.openUntil - now, this.settings.firstBackoffMs / 2);
    const jittered = waitMs * (1 + 0.2 * this.random());
    throw new DeferError(
      `Databricks workspace ${new URL(origin).host} is not answering (${state.failures} failed calls in a row); ` +
        'the job tries again later without calling it',
      jittered / 1000,
      { reason: 'workspace-unhealthy' },
    );
  }

  /**
   * The admitted call ended without reaching the workspace (deferred by the budget, its token deferred): if it was
   * the probe, the next call probes instead.
   */
  released(origin: string): void {
    const state = this.states.get(origin);
    if (state) state.probing = false;
  }

  /** The workspace answered (anything but a failure of its own): healthy again. */
  succeeded(origin: string): void {
    this.states.delete(origin);
  }

  /**
   * A call was reset or answered 5xx/429, or (`timedOut`) got no answer in time, which alone makes it unhealthy.
   * `retryAfterMs` is how long the workspace asked to be left alone: an opening lasts at least that, and a backoff
   * the workspace set itself is not doubled.
   */
  failed(origin: string, timedOut = false, retryAfterMs?: number): void {
    const state = this.states.get(origin) ?? {
      failures: 0,
      openUntil: 0,
      backoffMs: this.settings.firstBackoffMs,
      probing: false,
      probeStartedAt: 0,
    };
    state.failures += 1;
    const wasProbe = state.probing;
    state.probing = false;
    const now = this.now();
    // Calls admitted before it was found unhealthy fail too: they neither extend nor double its time out.
    const alreadyOpen = state.openUntil > now;
    if (!alreadyOpen && (wasProbe || timedOut || state.failures >= this.settings.failuresToOpen)) {
      const askedFor = Math.min(this.settings.maxBackoffMs, retryAfterMs ?? 0);
      state.openUntil = now + Math.max(state.backoffMs, askedFor);
      if (askedFor < state.backoffMs) state.backoffMs = Math.min(this.settings.maxBackoffMs, state.backoffMs * 2);
    }
    this.states.set(origin, state);
  }

  /** Forgets every workspace (tests start each case from a fresh container's view). */
  reset(): void {
    this.states.clear();
  }

  /** Whether calls to the workspace are being refused now (for tests and logs). */
  isUnhealthy(origin: string): boolean {
    const state = this.states.get(origin);
    return state !== undefined && state.openUntil > this.now();
  }
}

/**
 * The container's view, shared by every strategy and client in it: the defaults until functions/job-ports.ts
 * configures it from the settings.
 */
export const workspaceHealth = new WorkspaceHealth();

/** The retry loop's view of one workspace's health (shared/http/retry-loop.ts); none when `health` is null. */
export function healthGate(health: WorkspaceHealth | null | undefined, origin: string) {
  const tracked = health === undefined ? workspaceHealth : health;
  if (tracked === null) return undefined;
  return {
    admit: () => tracked.admit(origin),
    succeeded: () => tracked.succeeded(origin),
    failed: (timedOut: boolean, retryAfterMs?: number) => tracked.failed(origin, timedOut, retryAfterMs),
    released: () => tracked.released(origin),
  };
}
