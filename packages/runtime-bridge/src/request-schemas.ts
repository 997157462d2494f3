import { InvalidArgumentError } from '@savepoint/core';
import { z } from 'zod';
import type { Answer } from './answer-intake.js';

/** The shapes clients send, checked before anything runs; unknown fields are refused so typos surface. */
const Answers = z.record(z.string().min(1).max(1024), z.unknown()).refine((answers) => Object.keys(answers).length > 0, 'at least one answer');
const SafeId = z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/, 'use 1-200 characters of A-Z a-z 0-9 . _ : -').refine((id) => id !== '.' && id !== '..', 'not "." or ".."');
const Status = z.enum(['active', 'paused', 'completed', 'failed', 'canceled', 'pending_input']);

export const StartRunBody = z.strictObject({
  workflow: z.string().min(1).max(256),
  input: z.unknown().optional(),
  runId: SafeId.optional(),
  /** Stored with the run's checkpoints (sealed like them); `startedBy` is the runtime's own. */
  metadata: z.record(z.string().min(1).max(256), z.unknown()).optional(),
});
/** The question each answer is for (`requestId` from `approval_requested` / `pendingInputs`), by nodePath. */
const RequestIds = z.record(z.string().min(1).max(1024), SafeId);
const answerFields = { input: Answers, requestIds: RequestIds.optional() };
const onlyAnsweredPaths = (body: { input: Record<string, unknown>; requestIds?: Record<string, string> | undefined }) =>
  Object.keys(body.requestIds ?? {}).every((nodePath) => Object.hasOwn(body.input, nodePath));
const requestIdsIssue = { message: 'every nodePath in requestIds must have an answer in input', path: ['requestIds'] };

export const InputBody = z.strictObject(answerFields).refine(onlyAnsweredPaths, requestIdsIssue);
export const ResumeBody = z.strictObject({ checkpointId: z.string().min(1).max(256).optional(), input: Answers.optional(), requestIds: RequestIds.optional() });
/** Page sizes of the list routes (`?limit=`). */
export const RUNS_PAGE = { default: 50, max: 500 } as const;
export const CHECKPOINTS_PAGE = { default: 100, max: 1000 } as const;
/** A `nextCursor` as the server returned it (opaque; see list-cursor.ts). */
const Cursor = z.string().min(1).max(1024);
export const ListRunsQuery = z.object({
  status: Status.optional(),
  workflow: z.string().min(1).optional(),
  /** Only runs the principal started. */
  mine: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value === 'true'),
  limit: z.coerce.number().int().min(1).max(RUNS_PAGE.max).default(RUNS_PAGE.default),
  cursor: Cursor.optional(),
});
export const CheckpointsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(CHECKPOINTS_PAGE.max).default(CHECKPOINTS_PAGE.default),
  cursor: Cursor.optional(),
});
/** Positions the list cursors carry: a run listing's head checkpoint id, a run's checkpoint seq. */
export const RunsPosition = SafeId;
export const CheckpointsPosition = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
/** A sequence number from `?after=` or `Last-Event-ID`. */
export const Seq = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const IdempotencyKey = SafeId;

export const ClientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('subscribe'), runId: z.string().min(1), after: Seq.optional() }),
  z.strictObject({ type: z.literal('unsubscribe'), runId: z.string().min(1) }),
  z.strictObject({ type: z.literal('input'), runId: z.string().min(1), ...answerFields, idempotencyKey: IdempotencyKey.optional() }).refine(onlyAnsweredPaths, requestIdsIssue),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

/** The answers of an input body or message, each with the question it names (if it names one). */
export function answersOf(body: { input: Record<string, unknown>; requestIds?: Record<string, string> | undefined }): Answer[] {
  return Object.entries(body.input).map(([nodePath, value]) => ({ nodePath, value, requestId: body.requestIds?.[nodePath] }));
}

/** Parses or throws `InvalidArgumentError` (a 400) naming what is wrong, without echoing the value. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const detail = result.error.issues.map((issue) => `${issue.path.join('.') || what}: ${issue.message}`).join('; ');
  throw new InvalidArgumentError(`Invalid ${what}: ${detail}`);
}
