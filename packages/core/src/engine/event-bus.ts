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
