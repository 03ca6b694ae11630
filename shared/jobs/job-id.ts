/**
 * The job id is derived, never random: the same (namespace, executionId) always names the same job, and the id
 * doubles as the Databricks `idempotency_token` (at most 64 characters), so a repeated POST or a redelivered
 * message can never start a second run.
 */
import { createHash } from 'node:crypto';

const JOB_ID_PREFIX = 'fdl-';
const JOB_ID_PATTERN = /^fdl-[0-9a-f]{40}$/;

export function jobIdFor(namespace: string, executionId: string): string {
  // A NUL separator keeps ("a-b", "c") and ("a", "b-c") apart; neither field may contain NUL.
  const digest = createHash('sha256').update(`${namespace}\u0000${executionId}`).digest('hex');
  return `${JOB_ID_PREFIX}${digest.slice(0, 40)}`;
}

export function isJobId(value: string): boolean {
  return JOB_ID_PATTERN.test(value);
}
