import { formatPath } from '../codec/codec.js';
import { InvalidArgumentError, type SavepointError, UnserializableStateError } from '../errors.js';
import type { NodeCheckpointState } from '../models/checkpoint.js';
import { toNodeError } from './node-error.js';
import type { RunState } from './run-state.js';

/**
 * A save that fails the same way however often it is tried (a value the codec cannot encode, a checkpoint
 * that fails validation): retrying or continuing without checkpoints cannot help, so the run fails.
 */
export function isDeterministicSaveError(error: unknown): error is SavepointError {
  return UnserializableStateError.isInstance(error) || InvalidArgumentError.isInstance(error);
}

const NODE_VALUES = ['output', 'internalState', 'input'] as const;

/**
 * Records the node whose state holds the value the codec refused as failed with that error, without the
 * value: an output or input is dropped, internal state goes back to what was last committed (so a resume
 * continues from there). Then the run can still be committed as failed. Returns false when the error
 * names no value inside a node's state (e.g. the run's input), so nothing can be dropped.
 */
export function failUnstorableNode(state: RunState, error: SavepointError, committed: Readonly<Record<string, NodeCheckpointState>>): boolean {
  const path = UnserializableStateError.isInstance(error) ? (error as UnserializableStateError).path : '';
  for (const [nodeId, current] of Object.entries(state.nodeStates)) {
    const base = formatPath('nodeStates', [nodeId]);
    const field = NODE_VALUES.find((name) => {
      const at = `${base}.${name}`;
      return path === at || path.startsWith(`${at}.`) || path.startsWith(`${at}[`);
    });
    if (!field) continue;
    if (!Object.hasOwn(current, field)) return false;
    const { [field]: _dropped, ...kept } = current;
    const previous = field === 'internalState' ? committed[nodeId] : undefined;
    // The committed state is what was stored last; if even that is refused now, give up rather than loop.
    if (previous !== undefined && previous.internalState === current.internalState) return false;
    const restored = previous?.internalState === undefined ? {} : { internalState: previous.internalState, stateVersion: previous.stateVersion };
    state.nodeStates[nodeId] = { ...kept, ...restored, status: 'failure', error: toNodeError(error), completedAt: new Date() };
    return true;
  }
  return false;
}
