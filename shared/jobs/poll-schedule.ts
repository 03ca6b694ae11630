/**
 * How long a job waits before its next poll: quick at first (short runs finish soon after they start), then
 * stretching to the configured ceiling so a long run costs few polls.
 */
const GROWTH = 1.5;

export function pollDelaySeconds(attempt: number, minSeconds: number, maxSeconds: number): number {
  const grown = minSeconds * GROWTH ** Math.max(0, attempt);
  return Math.round(Math.min(maxSeconds, Math.max(minSeconds, grown)));
}
