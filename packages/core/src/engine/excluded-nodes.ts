import type { NodeCheckpointState } from '../models/checkpoint.js';
import type { Flow } from './flow.js';

/**
 * `excludeNodes`: nodes whose results are never stored, so a resume runs them again. What such a node produced
 * is kept out of checkpoints altogether: its own state, and the recorded input of each node that consumed it
 * (a recorded input is only a record: a node that runs again gets its input from its dependencies' outputs).
 */
export class ExcludedNodes {
  readonly ids: ReadonlySet<string>;
  private readonly consumers: ReadonlySet<string>;

  constructor(flow: Flow, ids: readonly string[]) {
    this.ids = new Set(ids);
    this.consumers = new Set(flow.nodes.filter((node) => node.dependsOn.some((dep) => this.ids.has(dep))).map((node) => node.id));
  }

  /** The node states a checkpoint may hold. */
  storable(nodeStates: Readonly<Record<string, NodeCheckpointState>>): Record<string, NodeCheckpointState> {
    const kept: Record<string, NodeCheckpointState> = {};
    for (const [nodeId, nodeState] of Object.entries(nodeStates)) {
      if (this.ids.has(nodeId)) continue;
      if (this.consumers.has(nodeId) && Object.hasOwn(nodeState, 'input')) {
        const { input: _received, ...rest } = nodeState;
        kept[nodeId] = rest;
      } else kept[nodeId] = nodeState;
    }
    return kept;
  }
}
