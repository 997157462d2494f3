import type { PendingInputContext } from '../models/checkpoint.js';

const MARKER = Symbol.for('savepoint.pendingInput');

/**
 * Thrown by `ctx.requestInput` to unwind a node that must wait for a human. Not an Error: it is
 * control flow, and the engine records the node as `pending_input` instead of `failure`.
 */
export class PendingInputSignal {
  readonly [MARKER] = true;
  constructor(readonly request: PendingInputContext) {}

  static isInstance(value: unknown): value is PendingInputSignal {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}
