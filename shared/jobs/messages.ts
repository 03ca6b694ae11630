/**
 * The SQS message contracts between the handlers. Every message names its job; a submit message may instead be
 * the very body POST /v1/jobs takes, so any producer can trigger a job by SendMessage alone and reach the same job.
 */
import * as z from 'zod';
import { isJobId } from './job-id.js';
import { type SubmitRequest, submitRequestSchema } from './submit-request.js';

const jobId = z.string().refine(isJobId, 'must be a job id as returned by POST /v1/jobs');

/** From the API: the job already exists. */
export const submitByIdMessageSchema = z.strictObject({ jobId });

/**
 * `generation` names the poll chain: a message from an older chain is stale and dropped (see the poll handler).
 * `attempt` counts the polls of this chain, so the schedule can back off without a table write per poll.
 * `notBefore` (epoch ms) is the time slot pacing gave the poll (shared/jobs/workspace-pacing.ts): a message that
 * arrives before it waits on, as one whose wait was longer than SQS's 15-minute delay does. `redelays` counts the
 * times pacing sent the message on without polling. Both are absent from messages of releases without pacing.
 * `place` marks a poll held for its workspace's next live-job snapshot (its job was not listed yet): on arrival it is
 * placed in its slot by that snapshot rather than polled at `notBefore`.
 */
export const pollMessageSchema = z.strictObject({
  jobId,
  generation: z.int().min(1),
  attempt: z.int().min(0).max(1_000_000).default(0),
  notBefore: z.int().min(0).optional(),
  redelays: z.int().min(0).max(1_000_000).optional(),
  place: z.literal(true).optional(),
});

export const cancelMessageSchema = z.strictObject({ jobId });

export type SubmitMessage = { jobId: string } | SubmitRequest;
export type PollMessage = z.input<typeof pollMessageSchema>;
export type CancelMessage = z.infer<typeof cancelMessageSchema>;

/**
 * Chooses the schema by the presence of `jobId` rather than with a zod union, so the errors speak of the shape the
 * producer meant to send.
 */
export function submitMessageSchemaFor(value: unknown): z.ZodType<SubmitMessage> {
  return typeof value === 'object' && value !== null && 'jobId' in value
    ? submitByIdMessageSchema
    : submitRequestSchema;
}
