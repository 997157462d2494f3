import type { PendingInputContext } from '../models/checkpoint.js';

/**
 * `paused`: a shutdown handed the run over (`workflow.shutdown()`, a runtime's `close()`): its progress is
 * checkpointed (status `paused`) and its lease released, so `resume({ runId })` continues it at once, anywhere.
 */
export type RunStatus = 'success' | 'failure' | 'pending_input' | 'canceled' | 'paused';

/** Something that went wrong without failing the run (a checkpoint not written, retention not applied). */
export interface RunWarning {
  code: 'CHECKPOINT_WRITE_FAILED' | 'RETENTION_FAILED' | 'CHECKPOINT_FALLBACK' | 'CORRUPT_CHECKPOINT';
  message: string;
}

/** What `run` and `resume` resolve to. Failure, cancel and waiting for a human are results, not rejections. */
export interface RunResult<O = unknown> {
  status: RunStatus;
  /** The single sink's output, or `{ [sinkId]: output }` for several sinks; undefined unless `success`. */
  output: O | undefined;
  /** `NodeFailedError` (cause = what the node threw), `CheckpointWriteError`, `LeaseLostError` or `RunCanceledError`. */
  error?: Error;
  runId: string;
  /** The run's last committed checkpoint; null when checkpointing is off or nothing was written. */
  checkpointId: string | null;
  pendingInputs: PendingInputContext[];
  warnings: RunWarning[];
}
