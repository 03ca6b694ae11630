/**
 * A mix of Databricks run lengths for the simulations (bench/simulate-schedule.ts, bench/simulate-pacing.ts), each
 * from runs/submit to the run's end, cluster start included. Meant to be realistic for a Flyte deployment rather
 * than kind to the schedule: a quarter of the runs are short (serverless or an existing cluster), most spend minutes
 * starting a job cluster, and a few run for hours. Within a band, lengths are log-uniform.
 *
 * | share | length       | typical run                                              |
 * |-------|--------------|----------------------------------------------------------|
 * | 25 %  | 1 to 5 min   | serverless or existing-cluster tasks, small notebooks    |
 * | 35 %  | 5 to 20 min  | a job cluster's start (4-7 min) and a short task          |
 * | 25 %  | 20 to 90 min | ETL steps, feature jobs                                  |
 * | 15 %  | 1.5 to 6 h   | training, backfills                                      |
 *
 * The mean is about 45 minutes.
 */

export interface RunLengthBand {
  share: number;
  minSeconds: number;
  maxSeconds: number;
}

export const RUN_LENGTH_MIX: readonly RunLengthBand[] = [
  { share: 0.25, minSeconds: 60, maxSeconds: 300 },
  { share: 0.35, minSeconds: 300, maxSeconds: 1200 },
  { share: 0.25, minSeconds: 1200, maxSeconds: 5400 },
  { share: 0.15, minSeconds: 5400, maxSeconds: 21_600 },
];

/** The longest run the mix has. */
export const LONGEST_RUN_SECONDS = Math.max(...RUN_LENGTH_MIX.map((band) => band.maxSeconds));

/** One run length (seconds) drawn from the mix with `random` (uniform in [0, 1)). */
export function sampleRunLengthSeconds(random: () => number): number {
  let pick = random();
  let band = RUN_LENGTH_MIX[RUN_LENGTH_MIX.length - 1] as RunLengthBand;
  for (const candidate of RUN_LENGTH_MIX) {
    if (pick < candidate.share) {
      band = candidate;
      break;
    }
    pick -= candidate.share;
  }
  return band.minSeconds * (band.maxSeconds / band.minSeconds) ** random();
}

/** The mean run length of the mix, exactly (log-uniform band means). */
export function meanRunLengthSeconds(): number {
  return RUN_LENGTH_MIX.reduce(
    (sum, { share, minSeconds, maxSeconds }) =>
      sum + (share * (maxSeconds - minSeconds)) / Math.log(maxSeconds / minSeconds),
    0,
  );
}
