// One error base class for everything a user can meet. `isInstance` checks a global symbol instead of
// `instanceof`, so it still works when two copies of @savepoint/core are installed (or ESM and CJS both load).
const MARKER = Symbol.for('savepoint.error');

export type SavepointErrorCode =
  | 'NOT_FOUND'
  | 'CORRUPT_CHECKPOINT'
  | 'UNSERIALIZABLE_STATE'
  | 'INVALID_RESUME_INPUT'
  | 'INPUT_ALREADY_ANSWERED'
  | 'INVALID_ARGUMENT'
  | 'RUN_LOCKED'
  | 'CHECKPOINT_CONFLICT'
  | 'LEASE_LOST'
  | 'CHECKPOINT_WRITE_FAILED'
  | 'BACKEND_UNAVAILABLE'
  | 'NODE_FAILED'
  | 'RUN_CANCELED'
  | 'SHUTTING_DOWN'
  | 'STEP_LIMIT_EXCEEDED'
  | 'ITERATION_FAILED'
  | 'LLM_REQUEST_FAILED'
  | 'NODE_TIMEOUT'
  | 'NON_RETRYABLE'
  | 'INVALID_RUN_INPUT'
  | 'INVALID_NODE_INPUT'
  | 'INVALID_OUTPUT';

export interface SavepointErrorOptions {
  cause?: unknown;
}

export class SavepointError extends Error {
  readonly [MARKER] = true;
  readonly code: SavepointErrorCode;
  override readonly cause?: unknown;

  constructor(code: SavepointErrorCode, message: string, options: SavepointErrorOptions = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    if (options.cause !== undefined) this.cause = options.cause;
  }

  static isInstance(error: unknown): error is SavepointError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** Defines a subclass whose static `isInstance` matches on the code, so it also survives duplicate installs. */
function codedError<C extends SavepointErrorCode>(code: C) {
  return class extends SavepointError {
    static readonly code: C = code;
    constructor(message: string, options?: SavepointErrorOptions) {
      super(code, message, options);
    }
    /** Narrows to the class it is called on (`InvalidResumeInputError.isInstance(e)` gives `e.issues`). */
    static override isInstance<E extends SavepointError>(this: abstract new (...args: never[]) => E, error: unknown): error is E & { code: C } {
      return SavepointError.isInstance(error) && error.code === code;
    }
  };
}

/** A checkpoint, run or flow that does not exist (or belongs to another tenant). */
export class NotFoundError extends codedError('NOT_FOUND') {}
/**
 * A run that retention removed (its checkpoints are gone, so it cannot be resumed, forked or inspected any more).
 * Still a `NotFoundError` (code `NOT_FOUND`, HTTP 404), so existing handlers keep working; `setting` names the
 * retention setting that removed it, and the message says when and how to keep such runs longer.
 */
export class RemovedByRetentionError extends NotFoundError {
  readonly removedByRetention = true;
  readonly setting = 'retentionDays' as const;

  static override isInstance<E extends SavepointError>(this: abstract new (...args: never[]) => E, error: unknown): error is E & { code: 'NOT_FOUND' } {
    return NotFoundError.isInstance(error) && (error as { removedByRetention?: unknown }).removedByRetention === true;
  }
}
/** A blob whose hash does not match, a missing blob, or a header that does not parse. */
export class CorruptCheckpointError extends codedError('CORRUPT_CHECKPOINT') {}
/** A value in the state that the codec cannot encode; the message names its path. */
export class UnserializableStateError extends codedError('UNSERIALIZABLE_STATE') {
  path = '';
}
/** Resume input that fails the waiting node's schema or names no waiting input. Nothing was changed. */
export class InvalidResumeInputError extends codedError('INVALID_RESUME_INPUT') {
  issues: Array<{ nodePath: string; message: string }> = [];
}
/** One way a value fails its zod schema: `path` within the value (`items.0.name`, `''` for the value itself). */
export interface SchemaIssue {
  path: string;
  message: string;
}
/** `workflow.run(input)` with an input the workflow's `inputSchema` refuses. Nothing was started or stored. */
export class InvalidRunInputError extends codedError('INVALID_RUN_INPUT') {
  issues: SchemaIssue[] = [];
}
/**
 * A node's input fails its `inputSchema`: what its dependencies (or the run input) gave it is not what it takes.
 * The node fails without running (retrying cannot change its input); fix the upstream node or the schema, then resume.
 */
export class InvalidNodeInputError extends codedError('INVALID_NODE_INPUT') {
  nodePath = '';
  issues: SchemaIssue[] = [];
}
/**
 * A node's output fails its `outputSchema` (the attempt fails, and is retried when its `retry` allows), or the
 * run's output fails the workflow's `outputSchema` (the run fails; `nodePath` is then undefined).
 */
export class InvalidOutputError extends codedError('INVALID_OUTPUT') {
  nodePath: string | undefined = undefined;
  issues: SchemaIssue[] = [];
}
/**
 * An answer to a question that is no longer open: already answered (by another device, or an earlier request
 * with another idempotency key), or another question than the one now pending at that node path. Nothing was stored.
 */
export class InputAlreadyAnsweredError extends codedError('INPUT_ALREADY_ANSWERED') {}
/** An id, option or argument the library refuses (path traversal, empty id, wrong type...). */
export class InvalidArgumentError extends codedError('INVALID_ARGUMENT') {}
/**
 * Another worker holds the lease on this run. `retryAfterMs`: when its lease expires (if its holder stops
 * renewing it, e.g. because it died), when known; `resume({ waitForLease: true })` waits for it.
 */
export class RunLockedError extends codedError('RUN_LOCKED') {
  retryAfterMs: number | undefined = undefined;
}
/** The run head moved since it was read (compare-and-set failed). */
export class CheckpointConflictError extends codedError('CHECKPOINT_CONFLICT') {}
/** The writer's lease expired or was taken over: its fencing token is stale, so it may not commit. */
export class LeaseLostError extends codedError('LEASE_LOST') {}
/** A checkpoint could not be written (with `onCheckpointError: 'fail'`). */
export class CheckpointWriteError extends codedError('CHECKPOINT_WRITE_FAILED') {}
/** The storage backend cannot be reached; raised within a bounded time, never a hang. */
export class BackendUnavailableError extends codedError('BACKEND_UNAVAILABLE') {}
/** A node threw; `cause` is the original (last) error, `nodeId` names the node, `attempt` is its last attempt's number. */
export class NodeFailedError extends codedError('NODE_FAILED') {
  nodeId = '';
  attempt = 0;
}
/**
 * An attempt ran past its `timeoutMs`. The attempt's `ctx.signal` was aborted with this error as its reason and
 * the attempt was abandoned (work that ignores the signal may still finish in the background). Retried when
 * attempts remain.
 */
export class NodeTimeoutError extends codedError('NODE_TIMEOUT') {
  nodePath = '';
  timeoutMs = 0;
}
/**
 * Throw it (with the original error as `cause`) from a node, tool or LLM when trying again cannot help, e.g. a
 * 400 from an API: the node fails at once, whatever its `retry` policy says.
 */
export class NonRetryableError extends codedError('NON_RETRYABLE') {}
/** The run was canceled through its AbortSignal. */
export class RunCanceledError extends codedError('RUN_CANCELED') {}
/**
 * The workflow (or runtime) is shutting down: it takes no new runs or resumes (start or resume the run on another
 * instance). Also the reason a node's `ctx.signal` aborts with when a shutdown interrupts it after the grace period.
 */
export class ShuttingDownError extends codedError('SHUTTING_DOWN') {}
/** An agent reached `maxLoops`, or a graph orchestrator `maxSteps`, without finishing. */
export class StepLimitError extends codedError('STEP_LIMIT_EXCEEDED') {}
/** Map iterations failed; `failures` lists each by index and nodePath. Resume re-runs only those. */
export class IterationFailedError extends codedError('ITERATION_FAILED') {
  failures: Array<{ index: number; nodePath: string; error: { name: string; message: string; code?: string } }> = [];
}
/** An LLM endpoint refused the request or kept failing after the bounded retries; `status` is the HTTP status (0 = no response). */
export class LLMRequestError extends codedError('LLM_REQUEST_FAILED') {
  status = 0;
}
