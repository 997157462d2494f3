import {
  CheckpointConflictError,
  CheckpointWriteError,
  LeaseLostError,
  RunLockedError,
  SavepointError,
} from '../errors.js';
import type { WriteRetryConfig } from '../models/checkpoint-config.js';
import { CHECKPOINT_SCHEMA_VERSION, type FlowCheckpoint, type NodeCheckpointState, type TraceContext } from '../models/checkpoint.js';
import type { CheckpointStore, SaveResult } from '../store/checkpoint-store.js';
import type { Lease } from '../store/storage-adapter.js';
import { backoffDelayMs, sleep } from '../util/backoff.js';
import type { CommitTracing } from '../telemetry/run-telemetry.js';
import type { Logger } from '../util/logger.js';
import { uuidv7 } from '../util/uuidv7.js';
import type { EventBus } from './event-bus.js';
import type { ExcludedNodes } from './excluded-nodes.js';
import type { RunState } from './run-state.js';
import type { RunWarnings } from './run-warnings.js';
import { isTransientWriteError } from './transient-write-error.js';
import { failUnstorableNode, isDeterministicSaveError } from './unstorable-state.js';
import { LIBRARY_VERSION } from './version.js';

/** What every checkpoint of a run repeats. */
export interface RunIdentity {
  flowId: string;
  workflowId: string;
  runId: string;
  tenantId?: string;
  traceContext?: TraceContext;
  metadata: Record<string, unknown>;
  originalInput: unknown;
  originalConfig: Record<string, unknown>;
}

export interface CheckpointWriterOptions {
  store: CheckpointStore;
  state: RunState;
  identity: RunIdentity;
  /** The run head this writer must find in place (compare-and-set); null for a new run. */
  expectedHead: string | null;
  /** Parent of the first checkpoint written: the checkpoint resumed (or forked) from. */
  parentCheckpointId: string | null;
  nextSeq: number;
  /** The lease as currently renewed; every header is written with it (fencing). */
  lease: () => Lease;
  onCheckpointError: 'continue' | 'fail';
  /** `excludeNodes`: what they produced is never written, so a resume runs them again. */
  exclude: ExcludedNodes;
  /** Bounded retries of a write that failed transiently, before `onCheckpointError` applies. */
  writeRetry: WriteRetryConfig;
  events: EventBus;
  warnings: RunWarnings;
  /** Commits and retries are reported at debug level. */
  logger: Logger;
  /** A span and metrics per commit, when the workflow has `telemetry`. */
  telemetry?: CommitTracing;
}

interface Batch {
  promise: Promise<string | null>;
  resolve: (committedId: string | null) => void;
}

/**
 * Commits a run's state with group commit: while a write is in flight, every request joins the next
 * write, which snapshots the state when it starts. So parallel completions share writes, the write
 * rate stays bounded and `seq` strictly increases. Requests never reject: a transient write failure is
 * retried a bounded number of times, then a warning (`continue`) or, like a lost lease, recorded in `error`
 * for the run to stop on. A deterministic one (state the codec refuses) always ends the run: the node holding
 * the value is recorded as failed without it, and that state is written instead, so the run can end durably
 * `failed`.
 */
export class CheckpointWriter {
  /** Id of the last checkpoint this writer committed. */
  lastCommittedId: string | null = null;
  /** Set when the run must end: a write failure in `fail` mode, a lost lease, a moved head, unstorable state. */
  error: SavepointError | undefined;
  /** How many headers were committed (observability and tests). */
  commits = 0;
  /** Nothing more can be committed (fenced, failed in `fail` mode, or state that cannot be stored at all). */
  private closed = false;
  /** Node states as last committed: what a node's refused internal state goes back to. */
  private committedStates: Readonly<Record<string, NodeCheckpointState>>;
  private head: string | null;
  private parent: string | null;
  private seq: number;
  private inFlight: Promise<void> | null = null;
  private next: Batch | null = null;

  constructor(private readonly options: CheckpointWriterOptions) {
    this.head = options.expectedHead;
    this.parent = options.parentCheckpointId;
    this.seq = options.nextSeq;
    this.committedStates = options.state.nodeStates;
  }

  /**
   * Resolves once a write that started after this call has finished: with the id of the checkpoint it
   * committed (so it holds everything the state had at the call), or null when nothing was committed.
   */
  request(): Promise<string | null> {
    if (this.closed) return Promise.resolve(null);
    if (!this.next) {
      let resolve!: (committedId: string | null) => void;
      const promise = new Promise<string | null>((r) => (resolve = r));
      this.next = { promise, resolve };
    }
    const waiting = this.next.promise;
    if (!this.inFlight) this.startNext();
    return waiting;
  }

  /** Waits until every requested write has finished. */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private startNext(): void {
    const batch = this.next!;
    this.next = null;
    this.inFlight = this.write().then((committedId) => {
      batch.resolve(committedId);
      this.inFlight = null;
      if (this.next) this.startNext();
    });
  }

  private async write(): Promise<string | null> {
    const { events, identity, logger } = this.options;
    let checkpoint: FlowCheckpoint;
    for (;;) {
      if (this.closed) return null;
      checkpoint = this.snapshot();
      const traced = this.options.telemetry?.start(checkpoint, this.options.state.nodeStates);
      try {
        const { bytesWritten } = await this.save(checkpoint);
        traced?.committed(bytesWritten);
        break;
      } catch (cause) {
        traced?.failed(cause);
        if (!this.settle(cause, checkpoint)) return null;
      }
    }
    this.committedStates = checkpoint.nodeStates;
    this.head = this.parent = this.lastCommittedId = checkpoint.id;
    this.seq += 1;
    this.commits += 1;
    logger.debug(`Checkpoint ${checkpoint.seq} of run ${identity.runId} committed.`, {
      runId: identity.runId,
      checkpointId: checkpoint.id,
      seq: checkpoint.seq,
    });
    events.emit('checkpoint_created', identity.runId, {
      checkpointId: checkpoint.id,
      seq: checkpoint.seq,
      status: checkpoint.status,
    });
    return checkpoint.id;
  }

  /**
   * Saves one checkpoint, retrying transient failures with back-off. Every attempt writes the same checkpoint
   * (same id, same bytes), so when an attempt landed but its reply was lost, the store recognises the retry's
   * header as already committed (`commitHeader`) instead of writing it twice or reporting a conflict.
   */
  private async save(checkpoint: FlowCheckpoint): Promise<SaveResult> {
    const { store, writeRetry, logger, identity } = this.options;
    for (let attempt = 1; ; attempt += 1) {
      try {
        // Node states are replaced, never mutated (see snapshot()): unchanged nodes are not encoded again.
        return await store.save(checkpoint, { expectedHead: this.head, lease: this.options.lease(), immutableNodeStates: true });
      } catch (cause) {
        if (attempt >= writeRetry.maxAttempts || !isTransientWriteError(cause)) throw cause;
        const delayMs = backoffDelayMs({ ...writeRetry, factor: 2, jitter: 0.5 }, attempt);
        logger.debug(`Checkpoint ${checkpoint.seq} of run ${identity.runId} could not be written (${errorMessage(cause)}); retrying.`, {
          runId: identity.runId,
          seq: checkpoint.seq,
          attempt,
          delayMs,
        });
        await sleep(delayMs);
      }
    }
  }

  /** Handles a failed save; true when the state was repaired and should be written again. */
  private settle(cause: unknown, checkpoint: FlowCheckpoint): boolean {
    if (!isDeterministicSaveError(cause)) {
      this.fail(cause, checkpoint);
      return false;
    }
    const { state, events, identity } = this.options;
    events.emit('checkpoint_failed', identity.runId, { seq: checkpoint.seq, message: cause.message, error: cause });
    if (!failUnstorableNode(state, cause, this.committedStates)) {
      // Nothing in a node's state to drop (e.g. the run's own input): no checkpoint of this run can be stored.
      this.error = cause;
      this.closed = true;
      return false;
    }
    this.error ??= cause;
    // Found while committing the run's end: that end is now a failure.
    if (state.status !== 'active') state.status = 'failed';
    return true;
  }

  private fail(cause: unknown, checkpoint: FlowCheckpoint): void {
    const { onCheckpointError, events, warnings, identity } = this.options;
    const fencing = LeaseLostError.isInstance(cause) || CheckpointConflictError.isInstance(cause) || RunLockedError.isInstance(cause);
    if (fencing) {
      this.error = cause as SavepointError;
      this.closed = true;
      return;
    }
    const { maxAttempts } = this.options.writeRetry;
    const attempts = maxAttempts > 1 && isTransientWriteError(cause) ? ` after ${maxAttempts} attempts` : '';
    const failed = `Checkpoint ${checkpoint.seq} of run ${identity.runId} could not be written${attempts} (${errorMessage(cause)})`;
    if (onCheckpointError === 'fail') {
      this.error = new CheckpointWriteError(`${failed}; the run stopped because onCheckpointError is 'fail'. Fix the backend and resume the run.`, {
        cause,
      });
      this.closed = true;
      return;
    }
    const message = `${failed}; the run continues without it.`;
    warnings.push({ code: 'CHECKPOINT_WRITE_FAILED', message });
    events.emit('checkpoint_failed', identity.runId, { seq: checkpoint.seq, message, error: cause });
  }

  private snapshot(): FlowCheckpoint {
    const { state, identity, exclude } = this.options;
    const now = new Date();
    return {
      id: uuidv7(now.getTime()),
      flowId: identity.flowId,
      workflowId: identity.workflowId,
      runId: identity.runId,
      seq: this.seq,
      parentCheckpointId: this.parent,
      status: state.checkpointStatus(),
      // Node states are replaced, never mutated, so a shallow copy freezes this moment.
      nodeStates: exclude.storable(state.nodeStates),
      completedNodeIds: state.completedNodeIds().filter((nodeId) => !exclude.ids.has(nodeId)),
      pendingNodeIds: state.nodeIds.filter((nodeId) => exclude.ids.has(nodeId) || !state.isDone(nodeId)),
      originalInput: identity.originalInput,
      originalConfig: identity.originalConfig,
      pendingInputs: state.pendingInputs(),
      createdAt: now,
      updatedAt: now,
      schemaVersion: CHECKPOINT_SCHEMA_VERSION,
      libraryVersion: LIBRARY_VERSION,
      ...(identity.tenantId === undefined ? {} : { tenantId: identity.tenantId }),
      ...(identity.traceContext === undefined ? {} : { traceContext: identity.traceContext }),
      metadata: identity.metadata,
    };
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
