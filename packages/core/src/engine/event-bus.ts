import type { CheckpointStatus, NodeError, PendingInputContext } from '../models/checkpoint.js';
import type { NodeRetrying } from './attempts.js';

export type WorkflowEventType =
  | 'run_started'
  | 'node_started'
  | 'node_completed'
  | 'node_failed'
  | 'node_skipped'
  | 'node_retrying'
  | 'checkpoint_created'
  | 'checkpoint_failed'
  | 'checkpoint_resumed'
  | 'approval_requested'
  | 'approval_received'
  | 'run_paused'
  | 'run_completed'
  | 'run_failed'
  | 'run_canceled';

/**
 * The `data` of every event the engine emits, by type; `I` and `O` are the workflow's input and output. Declare the
 * custom events your nodes emit (`ctx.emit`) by augmenting it (`declare module '@savepoint/core' { interface
 * WorkflowEventMap<I, O> { my_event: { ... } } }`) to have them typed too.
 */
export interface WorkflowEventMap<I = unknown, O = unknown> {
  run_started: { input: I; resumed: boolean };
  node_started: { attempt: number; isResumed: boolean };
  node_completed: { output: unknown; attempt: number };
  node_failed: { error: NodeError; attempt: number };
  node_skipped: { reason: string };
  node_retrying: NodeRetrying;
  checkpoint_created: { checkpointId: string; seq: number; status: CheckpointStatus };
  checkpoint_failed: { seq: number; message: string; error: Error };
  checkpoint_resumed: { checkpointId: string; seq: number; forkedFrom?: string };
  /** The question as stored (`PendingInputContext`); `isResumed`: asked again after a resume. */
  approval_requested: PendingInputContext & { isResumed: boolean; checkpointId?: string };
  approval_received: { nodePath: string; requestId?: string; value: unknown };
  /** `reason: 'shutdown'`: handed over by a shutdown; otherwise the run waits for the listed inputs. */
  run_paused: { pendingInputs: PendingInputContext[]; checkpointId?: string; reason?: 'shutdown' };
  run_completed: { output: O };
  run_failed: { error: NodeError | undefined };
  run_canceled: { error: NodeError | undefined };
  /** An agent's model streams its answer. */
  stream_chunk: { nodePath: string; loop: number; delta: string };
}

/** One event of type `K`, its `data` typed. */
export interface WorkflowEventOf<K extends keyof WorkflowEventMap, I = unknown, O = unknown> extends WorkflowEvent<WorkflowEventMap<I, O>[K]> {
  type: K;
}

/** Any event of `WorkflowEventMap`: narrow it on `type` (`if (event.type === 'run_completed') event.data.output`). */
export type AnyWorkflowEvent<I = unknown, O = unknown> = { [K in keyof WorkflowEventMap]: WorkflowEventOf<K, I, O> }[keyof WorkflowEventMap];

export interface WorkflowEvent<T = unknown> {
  /** One of `WorkflowEventType`, or a custom type a node emitted through `ctx.emit`. */
  type: string;
  runId: string;
  nodeId?: string;
  data: T;
  /** Epoch milliseconds. */
  ts: number;
}

export type WorkflowEventListener = (event: WorkflowEvent) => void;

/** Listeners per event type; `'*'` receives every event. */
export class EventBus {
  private readonly listeners = new Map<string, Set<WorkflowEventListener>>();

  on(type: WorkflowEventType | '*' | (string & {}), listener: WorkflowEventListener): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => this.off(type, listener);
  }

  off(type: string, listener: WorkflowEventListener): void {
    this.listeners.get(type)?.delete(listener);
  }

  emit(type: string, runId: string, data: unknown, nodeId?: string): void {
    const own = this.listeners.get(type);
    const all = this.listeners.get('*');
    // Every node start and end emits: with nobody listening, nothing is built.
    if (!own?.size && !all?.size) return;
    const event: WorkflowEvent = { type, runId, data, ts: Date.now() };
    if (nodeId !== undefined) event.nodeId = nodeId;
    for (const set of [own, all]) {
      for (const listener of set ?? []) {
        // An observer must never change the outcome of a run, so its errors stop here.
        try {
          listener(event);
        } catch {
          /* ignored on purpose */
        }
      }
    }
  }
}
