import { z } from 'zod';
import {
  CheckpointConflictError,
  CheckpointWriteError,
  InputAlreadyAnsweredError,
  InvalidArgumentError,
  InvalidResumeInputError,
  LeaseLostError,
  NonRetryableError,
  RunCanceledError,
  RunLockedError,
  UnserializableStateError,
} from '../errors.js';
import { PendingInputSignal } from './pending-input-signal.js';

/** setTimeout's limit: a longer delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const delayMs = z.number().min(0).max(MAX_TIMER_MS);

export const RetryOptions = z.strictObject({
  /** Attempts in all, the first included (default 1: no retry). */
  maxAttempts: z.number().int().min(1).default(1),
  /** Wait after the first failed attempt (default 1000 ms). */
  initialDelayMs: delayMs.default(1_000),
  /** Each further wait is `factor` times the previous one (default 2). */
  factor: z.number().min(1).default(2),
  /** No wait is longer (default 60 000 ms). */
  maxDelayMs: delayMs.default(60_000),
  /** Random fraction (0..1) taken off each wait: delay × (1 − jitter × random()). 0 (default) = none, 1 = full jitter. */
  jitter: z.number().min(0).max(1).default(0),
  /** Return false to fail at once on this error; `attempt` is the (1-based) attempt that threw it. */
  retryOn: z
    .custom<(error: unknown, attempt: number) => boolean>((value) => typeof value === 'function', { message: 'retryOn must be a function' })
    .optional(),
});
/** `retry` as a node, tool, agent LLM call or map item takes it; every field has a default. */
export type RetryOptions = z.input<typeof RetryOptions>;
/** `RetryOptions` with its defaults filled in. */
export type RetryPolicy = z.output<typeof RetryOptions>;

export const TimeoutMs = z.number().int().positive().max(MAX_TIMER_MS);

/** What a `Workflow` or `Flow` applies to each of its nodes that sets none of its own. */
export const NodeDefaults = z.strictObject({
  retry: RetryOptions.optional(),
  timeoutMs: TimeoutMs.optional(),
});
export type NodeDefaults = z.input<typeof NodeDefaults>;
export type ResolvedNodeDefaults = z.output<typeof NodeDefaults>;

/** Today's behaviour: one attempt, no back-off. */
export const NO_RETRY: RetryPolicy = RetryOptions.parse({});

/** Validates execution options (`retry`, `timeoutMs`, `nodeDefaults`...) with a message naming their owner. */
export function parseExecutionOption<S extends z.ZodType>(schema: S, value: unknown, owner: string, option: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new InvalidArgumentError(`${owner}: invalid ${option}: ${z.prettifyError(parsed.error)}`);
}

/**
 * Errors that fail the same way on every attempt, or that mean the run itself must stop (canceled, lease lost,
 * checkpoint writes failing, waiting for a human): never retried, whatever `retryOn` says.
 */
export function isNeverRetried(error: unknown): boolean {
  return (
    PendingInputSignal.isInstance(error) ||
    NonRetryableError.isInstance(error) ||
    InvalidResumeInputError.isInstance(error) ||
    InputAlreadyAnsweredError.isInstance(error) ||
    UnserializableStateError.isInstance(error) ||
    RunCanceledError.isInstance(error) ||
    LeaseLostError.isInstance(error) ||
    RunLockedError.isInstance(error) ||
    CheckpointConflictError.isInstance(error) ||
    CheckpointWriteError.isInstance(error)
  );
}

/** The retry policy and time limit a node runs with: its own, else the first default that sets one, else none. */
export function executionOf(
  node: { retry: RetryPolicy | undefined; timeoutMs: number | undefined },
  ...defaults: ReadonlyArray<ResolvedNodeDefaults | undefined>
): { retry: RetryPolicy; timeoutMs: number | undefined } {
  return {
    retry: node.retry ?? defaults.find((d) => d?.retry)?.retry ?? NO_RETRY,
    timeoutMs: node.timeoutMs ?? defaults.find((d) => d?.timeoutMs !== undefined)?.timeoutMs,
  };
}
