import type { z } from 'zod';
import { InvalidNodeInputError, InvalidOutputError, NodeFailedError, RunCanceledError, ShuttingDownError } from '../errors.js';
import type { CheckpointStatus, NodeCheckpointState } from '../models/checkpoint.js';
import type { NodeTracing } from '../telemetry/run-telemetry.js';
import { checkSchema } from '../util/zod-schema.js';
import { abandoned, AttemptsFailed, type NodeRetrying, runAttempts } from './attempts.js';
import { type Clock, systemClock } from './clock.js';
import type { EventBus } from './event-bus.js';
import type { Flow } from './flow.js';
import type { Handoff } from './handoff.js';
import type { InputBroker } from './input-broker.js';
import { migratedState, type Node } from './node.js';
import type { NodeContext } from './node-context.js';
import { toNodeError } from './node-error.js';
import { PendingInputSignal } from './pending-input-signal.js';
import { executionOf, type ResolvedNodeDefaults } from './retry-policy.js';
import type { RunStatus } from './run-result.js';
import type { RunState } from './run-state.js';

/** When the run commits checkpoints (from the workflow's `CheckpointConfig`). */
export interface CheckpointPolicy {
  afterNode: boolean;
  onFailure: boolean;
  midNode: boolean;
  exclude: ReadonlySet<string>;
  /** Sync: a completion is committed before its dependents start. */
  sync: boolean;
}

/** Commits the run's state: the `CheckpointWriter` at the top level, the parent's `saveProgress` for a nested flow. */
export interface Committer {
  /** Resolves once a commit that started after this call has finished (its value is not used here). */
  request(): Promise<unknown>;
  flush(): Promise<void>;
  /** Set when the run must stop (a lost lease, a failed write in `fail` mode). */
  readonly error: Error | undefined;
}

export interface FlowRunOptions {
  flow: Flow;
  workflowId: string;
  runId: string;
  input: unknown;
  state: RunState;
  broker: Pick<InputBroker, 'request'>;
  events: Pick<EventBus, 'emit'>;
  /** Absent when checkpointing is off: then nothing touches storage. */
  writer?: Committer;
  policy: CheckpointPolicy;
  signal?: AbortSignal;
  /** Shutdowns this run follows: once one begins, no node starts; once its grace is over, running nodes are aborted. */
  handoffs?: readonly Handoff[];
  /** Prepended to node ids to form their nodePaths when the flow runs inside a node (e.g. `map[3]/`). */
  pathPrefix?: string;
  /** The workflow's `nodeDefaults`: retry and timeout for nodes that set none (after the flow's own defaults). */
  nodeDefaults?: ResolvedNodeDefaults;
  /** What retries wait on; default: the system clock. */
  clock?: Clock;
  /** The workflow's `outputSchema`: the run's output must satisfy it, or the run fails instead of completing. */
  outputSchema?: z.ZodType;
  /** A span per node attempt, when the workflow has `telemetry`. */
  telemetry?: NodeTracing;
}

export interface FlowRunOutcome {
  status: RunStatus;
  output: unknown;
  error?: Error;
  /** The first input a node waits for (status `pending_input`); a nested flow rethrows it. */
  waitingOn?: PendingInputSignal;
}

const CHECKPOINT_STATUS: Record<RunStatus, CheckpointStatus> = {
  success: 'completed',
  failure: 'failed',
  pending_input: 'pending_input',
  canceled: 'canceled',
  paused: 'paused',
};

/**
 * Executes one attempt of a run over its `RunState`: starts every node whose dependencies are
 * available (bounded by the flow's concurrency), records each outcome, and asks the writer to commit
 * after each completion. Nodes already `success`/`skip` in the state are never executed again.
 */
export class FlowRun {
  /** Nodes whose outputs dependents may use: done, and committed first when durability is sync. */
  private readonly available: Set<string>;
  private readonly running = new Map<string, Promise<void>>();
  private readonly controllers = new Map<string, AbortController>();
  /** Nodes that ended this attempt without completing (failed, waiting, canceled). */
  private readonly stopped = new Set<string>();
  /** What failed the run: a node (`NodeFailedError`) or its output (`InvalidOutputError`). */
  private failure: NodeFailedError | InvalidOutputError | undefined;
  private waitingOn: PendingInputSignal | undefined;
  private canceled = false;
  /** A shutdown interrupted the nodes still running: they stay recorded `running`, so a resume runs them again. */
  private interrupted = false;
  private finished = false;

  constructor(private readonly options: FlowRunOptions) {
    this.available = new Set(options.state.completedNodeIds());
  }

  async execute(): Promise<FlowRunOutcome> {
    const { signal, handoffs = [] } = this.options;
    // Each wait gets its own wake-up: a signal that already fired (a shutdown that began) must not end every later wait.
    let wake = (): void => undefined;
    const onAbort = () => wake();
    const wakers = [signal, ...handoffs.flatMap((handoff) => [handoff.stopping, handoff.interrupting])];
    for (const waker of wakers) waker?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal?.aborted) {
          this.cancel();
          break;
        }
        const interruption = handoffs.find((handoff) => handoff.interrupting.aborted)?.interrupting;
        if (interruption) {
          this.interrupt(interruption.reason);
          break;
        }
        if (this.handingOff()) this.stopBackoffs();
        else if (!this.failure && !this.options.writer?.error) this.startReady();
        if (this.running.size === 0) break;
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), ...this.running.values()]);
      }
    } finally {
      for (const waker of wakers) waker?.removeEventListener('abort', onAbort);
      this.finished = true;
    }
    return this.finish();
  }

  private handingOff(): boolean {
    return this.options.handoffs?.some((handoff) => handoff.stopping.aborted) ?? false;
  }

  /**
   * A shutdown does not wait out retry back-offs: their nodes stop at once, recorded `running` with the attempt that
   * is due (committed before the back-off began), so the run's next owner waits only what is left of it.
   */
  private stopBackoffs(): void {
    const reason = this.options.handoffs!.find((handoff) => handoff.stopping.aborted)!.stopping.reason;
    for (const [id, controller] of this.controllers) {
      if (this.options.state.nodeStates[id]?.nextAttemptAt !== undefined) controller.abort(reason);
    }
  }

  private startReady(): void {
    const { flow } = this.options;
    for (const node of flow.nodes) {
      if (this.running.size >= flow.concurrency) return;
      if (this.available.has(node.id) || this.running.has(node.id) || this.stopped.has(node.id)) continue;
      if (!node.dependsOn.every((dep) => this.available.has(dep))) continue;
      const controller = new AbortController();
      this.controllers.set(node.id, controller);
      this.running.set(node.id, this.runNode(node, controller.signal));
    }
  }

  private async runNode(node: Node, signal: AbortSignal): Promise<void> {
    const { state, events, runId, flow, nodeDefaults, writer } = this.options;
    const clock = this.options.clock ?? systemClock;
    const previous = state.nodeStates[node.id];
    const first = (previous?.attempt ?? 0) + 1;
    let attempt = first;
    const interrupted = this.interruptedBackoff(previous, clock);
    let input = this.inputFor(node);
    try {
      const resumed = migratedState(node, previous?.internalState, previous?.stateVersion);
      const ctx = this.contextFor(node, attempt, signal, previous !== undefined, resumed);
      const skipReason = await this.skipReason(node, input, ctx);
      if (this.finished) return;
      if (skipReason !== undefined) {
        state.nodeStates[node.id] = { ...base(node, previous?.attempt ?? 0), status: 'skip', completedAt: new Date() };
        events.emit('node_skipped', runId, { reason: skipReason }, this.pathOf(node));
      } else {
        if (node.inputSchema) input = await this.checkedInput(node, node.inputSchema, input);
        const { retry, timeoutMs } = executionOf(node, flow.nodeDefaults, nodeDefaults);
        const output = await runAttempts({
          nodeId: node.id,
          nodePath: this.pathOf(node),
          policy: retry,
          timeoutMs,
          clock,
          signal,
          attempt,
          used: interrupted.used,
          waitMs: interrupted.waitMs,
          onAttempt: async (n) => {
            attempt = n;
            this.markRunning(node, input, state.nodeStates[node.id] ?? previous, n, previous !== undefined || n > first);
            // A retry's start is committed, so a crash during it cannot make a resume run the same attempt number again.
            if (n > first || interrupted.used !== undefined) await this.commitNodeState(node);
          },
          run: (n, attemptSignal) => {
            const isResumed = previous !== undefined || n > first;
            const attemptRun = () => {
              // A retry continues from what the failed attempt saved (already in the node's current stateVersion).
              const resumeState = n === first ? resumed : state.nodeStates[node.id]!.internalState;
              const output = node.execute(input, this.contextFor(node, n, attemptSignal, isResumed, resumeState));
              return node.outputSchema ? this.checkedOutput(node, node.outputSchema, output) : output;
            };
            const { telemetry } = this.options;
            if (!telemetry) return attemptRun();
            const traced = { nodeId: node.id, nodePath: this.pathOf(node), nodeType: node.nodeType, attempt: n, isResumed };
            return telemetry.attempt(traced, attemptSignal, attemptRun);
          },
          beforeBackoff: (retrying, used) => this.recordRetry(node, retrying, used),
          emit: (type, data) => events.emit(type, runId, data, this.pathOf(node)),
          stopped: () => writer?.error,
        });
        if (this.finished) return;
        state.nodeStates[node.id] = { ...settled(state.nodeStates[node.id]!), status: 'success', output, completedAt: new Date() };
        events.emit('node_completed', runId, { output, attempt }, this.pathOf(node));
      }
      await this.commitCompletion(node);
      this.available.add(node.id);
    } catch (thrown) {
      const error = thrown instanceof AttemptsFailed ? thrown.error : thrown;
      if (thrown instanceof AttemptsFailed) attempt = Math.max(thrown.attempt, previous?.attempt ?? 0);
      if (!this.finished) this.recordStop(node, attempt, first - (interrupted.used ?? 0), error);
    } finally {
      this.running.delete(node.id);
      this.controllers.delete(node.id);
    }
  }

  /**
   * A node checkpointed while it waited for its next attempt (the process died in the back-off): the series
   * goes on with the attempts it had left, after what is left of the wait.
   */
  private interruptedBackoff(previous: NodeCheckpointState | undefined, clock: Clock): { used?: number; waitMs?: number } {
    if (previous?.status !== 'running' || previous.nextAttemptAt === undefined) return {};
    return { used: previous.attemptsUsed ?? 1, waitMs: Math.max(0, previous.nextAttemptAt.getTime() - clock.now()) };
  }

  /** Commits the failed attempt and when the next one is due before the back-off starts, so a crash cannot lose it. */
  private async recordRetry(node: Node, retrying: NodeRetrying, used: number): Promise<void> {
    const { state } = this.options;
    const current = state.nodeStates[node.id]!;
    state.nodeStates[node.id] = { ...current, lastError: retrying.error, nextAttemptAt: new Date(retrying.dueAt), attemptsUsed: used };
    await this.commitNodeState(node);
  }

  /** Commits now, whatever the durability mode (retries are rare and their records must survive a crash). */
  private async commitNodeState(node: Node): Promise<void> {
    const { writer, policy } = this.options;
    if (writer && !policy.exclude.has(node.id)) await writer.request();
    if (writer?.error) throw writer.error;
  }

  private async checkedInput(node: Node, schema: z.ZodType, input: unknown): Promise<unknown> {
    const checked = await checkSchema(schema, input);
    if (checked.ok) return checked.data;
    const nodePath = this.pathOf(node);
    throw Object.assign(
      new InvalidNodeInputError(`Node "${nodePath}" refused its input (its inputSchema): ${checked.summary}. Fix the node that feeds it (or the schema), then resume.`),
      { nodePath, issues: checked.issues },
    );
  }

  private async checkedOutput(node: Node, schema: z.ZodType, output: unknown): Promise<unknown> {
    const checked = await checkSchema(schema, await output);
    if (checked.ok) return checked.data;
    const nodePath = this.pathOf(node);
    throw Object.assign(new InvalidOutputError(`Node "${nodePath}" returned an output its outputSchema refuses: ${checked.summary}`), {
      nodePath,
      issues: checked.issues,
    });
  }

  private inputFor(node: Node): unknown {
    const { state, input } = this.options;
    if (node.dependsOn.length === 0) return input;
    if (node.dependsOn.length === 1) return state.nodeStates[node.dependsOn[0]!]?.output;
    return Object.fromEntries(node.dependsOn.map((dep) => [dep, state.nodeStates[dep]?.output]));
  }

  private async skipReason(node: Node, input: unknown, ctx: NodeContext): Promise<string | undefined> {
    const { state, flow } = this.options;
    if (node.branch !== undefined) {
      const source = flow.branchSource(node)!;
      if (state.nodeStates[source.id]?.output !== node.branch) return `branch "${node.branch}" was not chosen`;
    }
    if (node.dependsOn.length > 0 && node.dependsOn.every((dep) => state.nodeStates[dep]?.status === 'skip')) {
      return 'all dependencies were skipped';
    }
    return (await node.when(input, ctx)) ? undefined : 'its condition is false';
  }

  private markRunning(node: Node, input: unknown, previous: NodeCheckpointState | undefined, attempt: number, isResumed: boolean): void {
    const { state, events, runId } = this.options;
    state.clearPendingUnder(node.id);
    // Assigned, not spread conditionally: V8 builds those spreads slowly, and this runs for every node.
    const running: NodeCheckpointState = { ...base(node, attempt), status: 'running', input, startedAt: new Date() };
    if (previous?.internalState !== undefined) {
      running.internalState = previous.internalState;
      running.stateVersion = previous.stateVersion;
    }
    if (previous?.lastError !== undefined) running.lastError = previous.lastError;
    state.nodeStates[node.id] = running;
    events.emit('node_started', runId, { attempt, isResumed }, this.pathOf(node));
  }

  private contextFor(node: Node, attempt: number, signal: AbortSignal, isResumed: boolean, resumeState: unknown): NodeContext {
    const { runId, flow, workflowId, broker, events, clock } = this.options;
    const nodePath = this.pathOf(node);
    const idempotencyKey = `${runId}:${nodePath}`;
    const ctx: { -readonly [K in keyof NodeContext]: NodeContext[K] } = {
      runId,
      flowId: flow.id,
      workflowId,
      nodeId: node.id,
      nodePath,
      attempt,
      signal,
      idempotencyKey,
      isResumed,
      resumeState,
      stepKey: (step) => `${idempotencyKey}:${step}`,
      // An attempt abandoned at its timeout may still try to save: its state must not overwrite a later attempt's.
      saveProgress: (progress) => (abandoned(signal) ? Promise.resolve() : this.saveProgress(node, progress)),
      emit: (type, data) => events.emit(type, runId, data, nodePath),
      requestInput: (request) => broker.request(request, nodePath, signal),
    };
    if (clock) ctx.clock = clock;
    return ctx;
  }

  private async saveProgress(node: Node, progress: unknown): Promise<void> {
    const { state, writer, policy } = this.options;
    if (this.finished) return;
    // The run is ending (lease lost, write failed in fail mode, state that cannot be stored): stop the node.
    if (writer?.error) throw writer.error;
    const current = state.nodeStates[node.id];
    if (current?.status !== 'running') return;
    state.nodeStates[node.id] = { ...current, internalState: progress, stateVersion: node.stateVersion };
    if (writer && policy.midNode && !policy.exclude.has(node.id)) {
      const committed = writer.request();
      if (policy.sync) await committed;
    }
    if (writer?.error) throw writer.error;
  }

  private async commitCompletion(node: Node): Promise<void> {
    const { writer, policy } = this.options;
    if (!writer || !policy.afterNode || policy.exclude.has(node.id)) return;
    const committed = writer.request();
    if (policy.sync) await committed;
  }

  /** `seriesStart`: the first attempt of the current retry series (the error message counts from it). */
  private recordStop(node: Node, attempt: number, seriesStart: number, error: unknown): void {
    const { state, events, runId, signal } = this.options;
    this.stopped.add(node.id);
    // Stopped in its back-off by a shutdown: the committed retry state (running, next attempt due) stays as it is.
    if (this.handingOff() && ShuttingDownError.isInstance(error)) {
      this.interrupted = true;
      return;
    }
    const current = settled(state.nodeStates[node.id] ?? base(node, attempt));
    if (PendingInputSignal.isInstance(error)) {
      state.nodeStates[node.id] = { ...current, status: 'pending_input' };
      this.waitingOn ??= error;
      return;
    }
    if (signal?.aborted) {
      state.nodeStates[node.id] = { ...current, status: 'canceled', completedAt: new Date() };
      return;
    }
    const nodeError = toNodeError(error);
    state.nodeStates[node.id] = { ...current, status: 'failure', error: nodeError, lastError: nodeError, completedAt: new Date() };
    events.emit('node_failed', runId, { error: nodeError, attempt }, this.pathOf(node));
    if (this.failure) return;
    const attempts = attempt - seriesStart + 1;
    const failure = new NodeFailedError(
      `Node "${this.pathOf(node)}" failed${attempts > 1 ? ` after ${attempts} attempts` : ''}: ${nodeError.message}. Fix the cause and resume the run (runId ${runId}); completed nodes will not run again.`,
      { cause: error },
    );
    failure.nodeId = node.id;
    failure.attempt = attempt;
    this.failure = failure;
  }

  private pathOf(node: Node): string {
    return (this.options.pathPrefix ?? '') + node.id;
  }

  private cancel(): void {
    const { state } = this.options;
    this.canceled = true;
    for (const id of this.running.keys()) {
      state.nodeStates[id] = { ...settled(state.nodeStates[id]!), status: 'canceled', completedAt: new Date() };
      this.controllers.get(id)!.abort(this.options.signal!.reason);
    }
  }

  /** Aborts the running nodes for a shutdown; they keep their `running` record, which a resume executes again. */
  private interrupt(reason: unknown): void {
    this.interrupted = true;
    for (const controller of this.controllers.values()) controller.abort(reason);
  }

  /** The run's output, checked against the workflow's `outputSchema`: a refusal fails the run (recorded `failed`). */
  private async checkedRunOutput(): Promise<{ value: unknown } | undefined> {
    const { state, flow, outputSchema, runId } = this.options;
    const value = flow.outputOf(state.nodeStates);
    if (!outputSchema) return { value };
    const checked = await checkSchema(outputSchema, value);
    if (checked.ok) return { value: checked.data };
    this.failure = Object.assign(
      new InvalidOutputError(
        `Run ${runId} produced an output the workflow's outputSchema refuses: ${checked.summary}. Fix the flow, then start a new run or fork this one.`,
      ),
      { issues: checked.issues },
    );
    return undefined;
  }

  private async finish(): Promise<FlowRunOutcome> {
    const { state, writer, policy, runId } = this.options;
    // A write still in flight may yet find state that cannot be stored, which decides the outcome.
    await writer?.flush();
    let status: RunStatus = this.canceled
      ? 'canceled'
      : this.failure || writer?.error
        ? 'failure'
        : this.waitingOn || state.pending.size > 0
          ? 'pending_input'
          : this.interrupted || (this.handingOff() && state.pendingNodeIds().length > 0)
            ? 'paused'
            : 'success';
    const output = status === 'success' ? await this.checkedRunOutput() : undefined;
    if (status === 'success' && !output) status = 'failure';
    state.status = CHECKPOINT_STATUS[status];
    if (writer && (status !== 'failure' || policy.onFailure)) void writer.request();
    await writer?.flush();
    if (writer?.error) return { status: 'failure', output: undefined, error: writer.error };
    if (status === 'success') return { status, output: output!.value };
    if (status === 'pending_input') return { status, output: undefined, ...(this.waitingOn ? { waitingOn: this.waitingOn } : {}) };
    const error =
      this.failure ??
      (this.canceled ? new RunCanceledError(`Run ${runId} was canceled; resume it to continue where it stopped.`) : undefined);
    return { status, output: undefined, ...(error ? { error } : {}) };
  }
}

/** A node state without the pending retry it may carry: the node has stopped, a resume starts a new series. */
function settled(current: NodeCheckpointState): NodeCheckpointState {
  // Rest destructuring is slow in V8 and most nodes never retried: only copy when there is something to drop.
  if (!Object.hasOwn(current, 'nextAttemptAt') && !Object.hasOwn(current, 'attemptsUsed')) return current;
  const { nextAttemptAt: _due, attemptsUsed: _used, ...rest } = current;
  return rest;
}

function base(node: Node, attempt: number): Pick<NodeCheckpointState, 'nodeId' | 'nodeType' | 'attempt'> {
  return { nodeId: node.id, nodeType: node.nodeType, attempt };
}
