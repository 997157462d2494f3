import type { FlowCheckpoint, NodeCheckpointState } from '@savepoint/core';
import { canonical, toPlain } from './output.js';

/** Fields of a node state a diff reports; timestamps change with every attempt and are left out of "changed". */
const COMPARED = ['status', 'input', 'output', 'error', 'internalState', 'attempt'] as const;

export interface NodeChange {
  nodeId: string;
  /** The compared fields that differ. */
  fields: string[];
  status: { from: string; to: string };
  /** Present when the output differs. */
  output?: { from: unknown; to: unknown };
  /** Present when the error differs. */
  error?: { from: unknown; to: unknown };
}

export interface CheckpointDiff {
  from: { id: string; runId: string; seq: number; status: string };
  to: { id: string; runId: string; seq: number; status: string };
  status: { from: string; to: string } | null;
  nodes: {
    added: Array<{ nodeId: string; status: string }>;
    removed: Array<{ nodeId: string; status: string }>;
    changed: NodeChange[];
  };
  pendingInputs: {
    added: Array<{ nodePath: string; requestId: string | null; prompt: string }>;
    removed: Array<{ nodePath: string; requestId: string | null; prompt: string }>;
  };
}

/** What changed from checkpoint `a` to checkpoint `b` (usually an ancestor and a descendant of one run). */
export function diffCheckpoints(a: FlowCheckpoint, b: FlowCheckpoint): CheckpointDiff {
  const ref = (cp: FlowCheckpoint) => ({ id: cp.id, runId: cp.runId, seq: cp.seq, status: cp.status });
  const question = (p: FlowCheckpoint['pendingInputs'][number]) => ({ nodePath: p.nodePath, requestId: p.requestId ?? null, prompt: p.prompt });
  const key = (p: FlowCheckpoint['pendingInputs'][number]) => `${p.nodePath}\n${p.requestId ?? ''}`;
  const before = new Set(a.pendingInputs.map(key));
  const after = new Set(b.pendingInputs.map(key));
  return {
    from: ref(a),
    to: ref(b),
    status: a.status === b.status ? null : { from: a.status, to: b.status },
    nodes: diffNodeStates(a.nodeStates, b.nodeStates),
    pendingInputs: {
      added: b.pendingInputs.filter((p) => !before.has(key(p))).map(question),
      removed: a.pendingInputs.filter((p) => !after.has(key(p))).map(question),
    },
  };
}

export function diffNodeStates(a: Record<string, NodeCheckpointState>, b: Record<string, NodeCheckpointState>): CheckpointDiff['nodes'] {
  const added = Object.keys(b)
    .filter((id) => !(id in a))
    .map((nodeId) => ({ nodeId, status: b[nodeId]!.status }));
  const removed = Object.keys(a)
    .filter((id) => !(id in b))
    .map((nodeId) => ({ nodeId, status: a[nodeId]!.status }));
  const changed: NodeChange[] = [];
  for (const nodeId of Object.keys(b)) {
    const from = a[nodeId];
    const to = b[nodeId]!;
    if (!from) continue;
    const fields = COMPARED.filter((field) => canonical(from[field]) !== canonical(to[field]));
    if (fields.length === 0) continue;
    changed.push({
      nodeId,
      fields: [...fields],
      status: { from: from.status, to: to.status },
      ...(fields.includes('output') ? { output: { from: toPlain(from.output), to: toPlain(to.output) } } : {}),
      ...(fields.includes('error') ? { error: { from: toPlain(from.error), to: toPlain(to.error) } } : {}),
    });
  }
  return { added, removed, changed };
}

/** Node ids added or changed from `a` to `b` (the timeline's "changed" column). */
export function changedNodeIds(a: FlowCheckpoint | undefined, b: FlowCheckpoint): string[] {
  if (!a) return Object.keys(b.nodeStates);
  const nodes = diffNodeStates(a.nodeStates, b.nodeStates);
  return [...nodes.added.map((n) => n.nodeId), ...nodes.changed.map((n) => n.nodeId), ...nodes.removed.map((n) => `-${n.nodeId}`)];
}
