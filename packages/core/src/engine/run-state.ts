import type { CheckpointStatus, NodeCheckpointState, PendingInputContext } from '../models/checkpoint.js';
import { pathBelongsTo } from './node-path.js';

/** The mutable state of one run: what the next checkpoint will record. */
export class RunState {
  status: CheckpointStatus = 'active';
  readonly nodeStates: Record<string, NodeCheckpointState>;
  /** Inputs awaited right now, by nodePath. */
  readonly pending: Map<string, PendingInputContext>;

  constructor(
    readonly nodeIds: readonly string[],
    nodeStates: Record<string, NodeCheckpointState> = {},
    pendingInputs: readonly PendingInputContext[] = [],
  ) {
    this.nodeStates = { ...nodeStates };
    this.pending = new Map(pendingInputs.map((p) => [p.nodePath, p]));
  }

  /** Success and skip are final: such a node never runs again in this run or its resumes. */
  isDone(nodeId: string): boolean {
    const status = this.nodeStates[nodeId]?.status;
    return status === 'success' || status === 'skip';
  }

  completedNodeIds(): string[] {
    return this.nodeIds.filter((id) => this.isDone(id));
  }

  pendingNodeIds(): string[] {
    return this.nodeIds.filter((id) => !this.isDone(id));
  }

  /**
   * The status a checkpoint records: a run that asks a human while it keeps working (a live channel, or
   * other nodes still running) is already waiting, so it is listed with the waiting runs at once.
   */
  checkpointStatus(): CheckpointStatus {
    return this.status === 'active' && this.pending.size > 0 ? 'pending_input' : this.status;
  }

  pendingInputs(): PendingInputContext[] {
    return [...this.pending.values()];
  }

  /** Forgets the inputs awaited below a node that starts again (it asks anew if it still needs them). */
  clearPendingUnder(nodeId: string): void {
    for (const path of this.pending.keys()) if (pathBelongsTo(path, nodeId)) this.pending.delete(path);
  }
}
