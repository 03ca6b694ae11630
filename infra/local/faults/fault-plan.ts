/**
 * A seeded fault plan for chaos runs: per dependency a rate, and per request a decision whether to fail it and how.
 * The same seed gives the same sequence of decisions (the order requests arrive in still varies with timing), and
 * the plan counts every fault it injected, by kind.
 */

/**
 * The dependencies the plan can fail; `handler` is a Lambda invocation killed by its timeout mid-batch. A slow or
 * hung Jobs API answer is its own dependency, each with its own rate: one hang makes the functions leave the whole
 * workspace alone for a while, so hangs must stay much rarer than errors.
 */
export const DEPENDENCIES = [
  'dynamodb',
  'sqs',
  'databricks',
  'databricks-latency',
  'databricks-hang',
  'token',
  'kubernetes',
  'sts',
  'handler',
] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

/** How each dependency fails; a kind is `<dependency>:<how>`. */
export const FAULT_KINDS = {
  dynamodb: ['throttled', 'internal-error', 'reset'],
  sqs: ['throttled', 'internal-error', 'reset'],
  databricks: ['429', '503', 'reset', 'reset-after'],
  'databricks-latency': ['slow-headers', 'slow-body'],
  'databricks-hang': ['hang'],
  token: ['503', 'reset'],
  kubernetes: ['503', 'reset'],
  sts: ['throttled', 'reset'],
  handler: ['killed'],
} as const satisfies Record<Dependency, readonly string[]>;

export type FaultHow<D extends Dependency> = (typeof FAULT_KINDS)[D][number];

export interface FaultPlanOptions {
  seed?: number;
  /** Probability in 0..1 that a call fails, per dependency; `defaultRate` for those not named. */
  rates?: Partial<Record<Dependency, number>>;
  defaultRate?: number;
  /** A killed invocation is abandoned after a random delay in 0..maxKillDelayMs. Default 300. */
  maxKillDelayMs?: number;
  /** A slow answer (`databricks-latency`) is late by a random delay in 0..maxLatencyMs. Default 2000. */
  maxLatencyMs?: number;
}

/** mulberry32: a small, fast, seedable 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

export class FaultPlan {
  readonly seed: number;
  readonly rates: Readonly<Record<Dependency, number>>;
  readonly maxKillDelayMs: number;
  readonly maxLatencyMs: number;
  private readonly random: () => number;
  private readonly counts: Record<string, number> = {};
  private enabled = true;

  constructor(options: FaultPlanOptions = {}) {
    this.seed = options.seed ?? randomSeed();
    this.random = mulberry32(this.seed);
    const rates = {} as Record<Dependency, number>;
    for (const dependency of DEPENDENCIES) {
      const rate = options.rates?.[dependency] ?? options.defaultRate ?? 0;
      if (!(rate >= 0 && rate <= 1)) throw new Error(`fault rate for ${dependency} must be in 0..1, got ${rate}`);
      rates[dependency] = rate;
    }
    this.rates = rates;
    this.maxKillDelayMs = options.maxKillDelayMs ?? 300;
    this.maxLatencyMs = options.maxLatencyMs ?? 2000;
  }

  /** Whether this call of `dependency` fails, and how (undefined: let it through). Does not count it. */
  decide<D extends Dependency>(dependency: D): FaultHow<D> | undefined {
    if (!this.enabled) return undefined;
    if (this.random() >= this.rates[dependency]) return undefined;
    const kinds = FAULT_KINDS[dependency] as readonly FaultHow<D>[];
    return kinds[Math.floor(this.random() * kinds.length)];
  }

  /** Records that a fault was actually injected. */
  count(dependency: Dependency, how: string): void {
    const kind = `${dependency}:${how}`;
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  /** Decides and counts in one step, for injectors that apply the fault themselves. */
  take<D extends Dependency>(dependency: D): FaultHow<D> | undefined {
    const how = this.decide(dependency);
    if (how !== undefined) this.count(dependency, how);
    return how;
  }

  /**
   * For the SQS event sources: the shortened function timeout of a killed invocation (a random delay up to
   * maxKillDelayMs), or undefined to run it with the normal timeout.
   */
  killAfterMs(): number | undefined {
    if (this.take('handler') === undefined) return undefined;
    return Math.floor(this.random() * this.maxKillDelayMs);
  }

  /** How late a slow answer is (seeded, like every other decision). */
  latencyMs(): number {
    return Math.floor(this.random() * this.maxLatencyMs);
  }

  /** Stops injecting (e.g. once the scenario's load is over and only the audit remains). */
  disable(): void {
    this.enabled = false;
  }

  /** Injects again after disable() (e.g. once a fault-free baseline has been measured). */
  enable(): void {
    this.enabled = true;
  }

  /** What was injected so far, by kind (`<dependency>:<how>`), sorted by kind. */
  injected(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.counts).sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Which dependencies had at least one fault injected. */
  dependenciesHit(): Set<Dependency> {
    return new Set(Object.keys(this.counts).map((kind) => kind.split(':')[0] as Dependency));
  }
}
