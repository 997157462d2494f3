import type { z } from 'zod';
import type { PendingInputContext } from '../models/checkpoint.js';
import type { Clock } from './clock.js';

/** What a node asks a human for (the engine adds the request time and the JSON Schema). */
export interface InputRequest<S extends z.ZodType = z.ZodType> {
  /** Where the answer is awaited; `resume({ input: { [nodePath]: value } })` addresses it. */
  nodePath: string;
  prompt: string;
  schema: S;
  metadata?: Record<string, unknown>;
  expiresInMs?: number;
}

/** The answer a live channel delivers, or `{ answered: false }` to pause the run as `pending_input`. */
export type InputAnswer = { answered: true; value: unknown } | { answered: false };

/**
 * A live source of human answers (e.g. the runtime bridge waiting up to `hitlTimeoutMs` for a POST).
 * Without one, `HumanInput` pauses at once and the answer arrives later through `resume({ input })`.
 */
export interface HumanInputChannel {
  request(
    pending: PendingInputContext,
    options: { runId: string; schema: z.ZodType; signal: AbortSignal },
  ): Promise<InputAnswer>;
  /**
   * The answer to a question asked before the run paused (the same requestId), if one was given meanwhile,
   * without waiting. A resumed run that finds its answer here goes on without announcing the question
   * again; without this method (or `{ answered: false }`) it re-asks the question, then `request`s it.
   */
  answered?(pending: PendingInputContext, options: { runId: string; schema: z.ZodType; signal: AbortSignal }): Promise<InputAnswer>;
}

/**
 * Everything a node gets for one execution. Nodes are definitions shared by concurrent runs, so all
 * per-run state (resume state, progress, attempt) lives here, never on the node instance.
 */
export interface NodeContext {
  readonly runId: string;
  readonly flowId: string;
  readonly workflowId: string;
  readonly nodeId: string;
  /** Address of this execution, e.g. `approve`; nested nodes extend it (`write/tool:approve`). */
  readonly nodePath: string;
  /** 1 on the first attempt, incremented by every retry and by every resume that runs the node again. */
  readonly attempt: number;
  /** Aborted when the run is canceled, or with a `NodeTimeoutError` when the attempt exceeds its `timeoutMs`. */
  readonly signal: AbortSignal;
  /** The run's clock (retries of nested nodes, a tool or map item, wait on it). Absent: the system clock. */
  readonly clock?: Clock;
  /**
   * `${runId}:${nodePath}`: the same for every attempt and resume of this step in this run, so pass
   * it to external APIs to make retries safe. A fork (time travel) is a new run, hence a new key.
   */
  readonly idempotencyKey: string;
  /** True when a previous attempt of this node was interrupted (failed and retried, canceled, died, waited). */
  readonly isResumed: boolean;
  /** The state the previous attempt saved with `saveProgress`, migrated to the node's `stateVersion`. */
  readonly resumeState: unknown;
  /** `${idempotencyKey}:${step}`: a key per sub-step (a tool call, a map item). */
  stepKey(step: string | number): string;
  /**
   * Records the node's internal state; with `midNodeCheckpoints` it also commits a checkpoint in which
   * the node is `running`, so a resume continues from this state instead of from scratch.
   */
  saveProgress(state: unknown): Promise<void>;
  /** Emits a custom event (e.g. `stream_chunk`) to the workflow's listeners. */
  emit(type: string, data?: unknown): void;
  /**
   * Asks a human. Resolves with the validated answer when one is available (given on resume, or from
   * a live channel); otherwise throws a `PendingInputSignal`, which the engine turns into a
   * `pending_input` pause. Never catch that signal without rethrowing it.
   */
  requestInput<S extends z.ZodType>(request: InputRequest<S>): Promise<z.output<S>>;
}
