import { CHECKPOINT_SCHEMA_VERSION, uuidv7, type FlowCheckpoint, type NodeCheckpointState } from '@savepoint/core';

/** A checkpoint shaped like the engine's: one header, a few node states. */
export function checkpoint(runId: string, seq: number, parent: string | null, nodeStates: Record<string, NodeCheckpointState>): FlowCheckpoint {
  const now = new Date();
  return {
    id: uuidv7(),
    flowId: 'bench',
    runId,
    seq,
    parentCheckpointId: parent,
    status: 'active',
    nodeStates,
    completedNodeIds: Object.keys(nodeStates),
    pendingNodeIds: [],
    originalInput: { query: 'bench' },
    originalConfig: {},
    pendingInputs: [],
    createdAt: now,
    updatedAt: now,
    schemaVersion: CHECKPOINT_SCHEMA_VERSION,
    libraryVersion: 'bench',
    metadata: {},
  };
}

export function nodeState(nodeId: string, output: unknown, internalState?: unknown): NodeCheckpointState {
  return { nodeId, nodeType: 'function', status: 'success', output, internalState, attempt: 1 };
}

/** A 2 KB chat message, frozen as the Agent node freezes its history (so the store can memoize it). */
export function message(i: number): Readonly<{ role: string; content: string }> {
  return Object.freeze({ role: i % 2 ? 'assistant' : 'user', content: `step ${i} `.padEnd(2048, 'x') });
}

/** The value a small checkpoint changes each time (Savepoint: one node's output; LangGraph: one channel). */
export function smallValue(seq: number): { seq: number; docs: string[] } {
  return { seq, docs: ['a', 'b'] };
}
