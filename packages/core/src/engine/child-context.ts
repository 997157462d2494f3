import { abandoned, withRetries } from './attempts.js';
import { systemClock } from './clock.js';
import { migratedState, type Node } from './node.js';
import type { NodeContext } from './node-context.js';
import { executionOf, type RetryPolicy } from './retry-policy.js';

/** What a nested node saved with `saveProgress`, as the node that runs it records it. */
export interface ChildProgress {
  state: unknown;
  stateVersion: number;
}

export interface ChildOptions {
  node: Node;
  /** Full address, e.g. `map[3]/agent` or `write/tool:approve`; human input below it extends it. */
  nodePath: string;
  /** Defaults to `${runId}:${nodePath}`; an agent passes one per tool call. */
  idempotencyKey?: string;
  attempt: number;
  /** True when an earlier attempt of this child was interrupted. */
  isResumed: boolean;
  /** What the child saved in an earlier attempt. */
  previous?: ChildProgress | undefined;
  /** Defaults to the parent's signal (a map aborts its other iterations with its own on fail-fast). */
  signal?: AbortSignal;
  /** Records the child's progress in the parent's state and saves the parent (via `parent.saveProgress`). */
  save(progress: ChildProgress): Promise<void>;
  /** Overrides the node's own `retry` (a map's `itemRetry`). */
  retry?: RetryPolicy | undefined;
  /** Overrides the node's own `timeoutMs` (a map's `itemTimeoutMs`). */
  timeoutMs?: number | undefined;
  /** Told the number of each attempt as it starts (a map records it in the iteration). */
  onAttempt?(attempt: number): void;
}

/**
 * The context of a node running inside another node (an agent's tool, a map iteration, an orchestrator
 * step). Its progress becomes part of the parent's state, so a resume continues it where it stopped, and
 * its human input is addressed by its full `nodePath`.
 */
export function childContext(parent: NodeContext, options: ChildOptions): NodeContext {
  const { node, nodePath, previous } = options;
  const idempotencyKey = options.idempotencyKey ?? `${parent.runId}:${nodePath}`;
  return {
    runId: parent.runId,
    flowId: parent.flowId,
    workflowId: parent.workflowId,
    nodeId: node.id,
    nodePath,
    attempt: options.attempt,
    signal: options.signal ?? parent.signal,
    idempotencyKey,
    isResumed: options.isResumed,
    resumeState: previous && migratedState(node, previous.state, previous.stateVersion),
    ...(parent.clock ? { clock: parent.clock } : {}),
    stepKey: (step) => `${idempotencyKey}:${step}`,
    saveProgress: (state) => options.save({ state, stateVersion: node.stateVersion }),
    emit: (type, data) => parent.emit(type, data),
    requestInput: (request) => parent.requestInput(request),
  };
}

/**
 * Runs a nested node like a flow would: a false `when` condition skips it (output undefined), and its `retry` and
 * `timeoutMs` apply. Retries stay inside the parent's execution; each attempt continues from what the previous
 * one saved. A crash during a nested back-off is a crash of the parent: its resume runs the child again.
 */
export async function executeChild(parent: NodeContext, options: ChildOptions, input: unknown): Promise<unknown> {
  const { node } = options;
  const { retry, timeoutMs } = executionOf({ retry: options.retry ?? node.retry, timeoutMs: options.timeoutMs ?? node.timeoutMs });
  const first = options.attempt;
  let progress = options.previous;
  return withRetries({
    nodeId: node.id,
    nodePath: options.nodePath,
    policy: retry,
    timeoutMs,
    clock: parent.clock ?? systemClock,
    signal: options.signal ?? parent.signal,
    attempt: first,
    ...(options.onAttempt ? { onAttempt: options.onAttempt } : {}),
    run: async (attempt, signal) => {
      const ctx = childContext(parent, {
        ...options,
        attempt,
        isResumed: options.isResumed || attempt > first,
        previous: progress,
        signal,
        // An attempt abandoned at its timeout must not overwrite a later attempt's progress.
        save: (saved) => (abandoned(signal) ? Promise.resolve() : options.save((progress = saved))),
      });
      return (await node.when(input, ctx)) ? node.execute(input, ctx) : undefined;
    },
    emit: (type, data) => parent.emit(type, data),
  });
}
