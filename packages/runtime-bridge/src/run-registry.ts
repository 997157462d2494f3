import { CheckpointWriteError, Handoff, RunCanceledError, RunLockedError, type RunResult, type Workflow, type WorkflowEvent } from '@savepoint/core';
import type { ChangeFeed } from './change-feed.js';
import { HttpError } from './http-error.js';
import { InboxChannel, type InboxAdapter } from './inbox-channel.js';

/** What a launched execution gets: its cancel signal, its live input channel and the runtime's shutdown. */
export interface LaunchContext {
  signal: AbortSignal;
  inputChannel: InboxChannel;
  handoff: Handoff;
}

export type Execution = (context: LaunchContext) => Promise<RunResult>;

interface LocalRun {
  runId: string;
  workflow: Workflow;
  controller: AbortController;
  channel: InboxChannel;
  settled: Promise<void>;
}

export interface RunRegistryOptions {
  adapter: InboxAdapter;
  feed: ChangeFeed;
  workerId: string;
  hitlTimeoutMs: number;
  closeTimeoutMs: number;
  onError: (error: unknown, context: string) => void;
}

/**
 * Events after which a run has claimed its lease and stored where it starts: other processes can see it. A
 * `checkpoint_failed` before that refuses the launch: a run whose first checkpoint cannot be written would be
 * accepted and then be nowhere (404 forever), so the caller gets the error instead.
 */
const CLAIMED: ReadonlySet<string> = new Set(['checkpoint_created', 'checkpoint_resumed']);
/**
 * A fork is a new run: `checkpoint_resumed` names it before it has any checkpoint, so it has claimed its run
 * only once its first checkpoint is written.
 */
export const FIRST_CHECKPOINT: ReadonlySet<string> = new Set(['checkpoint_created']);

interface Claim {
  on: ReadonlySet<string>;
  claim: () => void;
  refuse: (error: unknown) => void;
}

/**
 * The runs executing in this process. Each execution holds its run's lease (through the Workflow) and
 * gets its own inbox channel; the registry lets HTTP requests wait until an execution has claimed its
 * run (so lock and validation errors reach the caller) while the run itself goes on in the background.
 */
export class RunRegistry {
  private readonly runs = new Map<string, LocalRun>();
  private readonly claims = new Map<string, Claim>();
  /** Begun by `close()`: every execution launched here follows it. */
  private readonly handoff = new Handoff();
  private closing = false;

  constructor(private readonly options: RunRegistryOptions) {}

  get size(): number {
    return this.runs.size;
  }

  has(runId: string): boolean {
    return this.runs.has(runId);
  }

  /** Fed every workflow event of this process. */
  observe(event: WorkflowEvent): void {
    const claim = this.claims.get(event.runId);
    if (claim?.on.has(event.type)) claim.claim();
    else if (claim && event.type === 'checkpoint_failed') {
      const { error, message } = event.data as { error?: unknown; message?: string };
      claim.refuse(error ?? new CheckpointWriteError(message ?? `The first checkpoint of run ${event.runId} could not be written.`));
    }
  }

  /**
   * Starts `execute` in the background. Resolves once it has claimed the run (one of the `claimOn` events:
   * by default its first checkpoint, or the checkpoint it resumes from), or when it finished before that;
   * rejects with what it threw before claiming (`RunLockedError`, `InvalidResumeInputError`, `NotFoundError`...).
   */
  launch(runId: string, workflow: Workflow, execute: Execution, claimOn: ReadonlySet<string> = CLAIMED): Promise<void> {
    if (this.closing) return Promise.reject(new HttpError(503, 'UNAVAILABLE', 'The runtime is shutting down; retry on another instance.'));
    if (this.runs.has(runId)) return Promise.reject(new RunLockedError(`Run ${runId} is already running in this process.`));
    const { adapter, feed, workerId, hitlTimeoutMs, onError } = this.options;
    const controller = new AbortController();
    const channel = new InboxChannel({
      adapter,
      feed,
      runId,
      store: workflow.store!,
      consumer: workerId,
      timeoutMs: hitlTimeoutMs,
      onCancel: () => controller.abort(new RunCanceledError(`Run ${runId} was canceled.`)),
      onError,
    });
    let claimed = false;
    let refused = false;
    let onClaim!: () => void;
    let onRefuse!: (error: unknown) => void;
    const claim = new Promise<void>((resolve, reject) => {
      onClaim = () => {
        claimed = true;
        this.claims.delete(runId);
        resolve();
      };
      onRefuse = (error) => {
        refused = true;
        this.claims.delete(runId);
        reject(error);
        controller.abort(new RunCanceledError(`Run ${runId} stopped: its first checkpoint could not be written.`));
      };
    });
    const entry: Claim = { on: claimOn, claim: onClaim, refuse: onRefuse };
    this.claims.set(runId, entry);
    const execution = execute({ signal: controller.signal, inputChannel: channel, handoff: this.handoff });
    const local: LocalRun = { runId, workflow, controller, channel, settled: Promise.resolve() };
    this.runs.set(runId, local);
    local.settled = execution
      .then(
        // A refused launch was answered with its error; what the aborted execution did after is no news.
        (result) => (refused ? undefined : this.afterRun(local, result)),
        (error: unknown) => {
          // Before the claim the caller receives the error; after it, nobody awaits the run but the log.
          if (claimed) onError(error, `run ${runId}`);
        },
      )
      .finally(() => {
        if (this.runs.get(runId) === local) this.runs.delete(runId);
        if (this.claims.get(runId) === entry) this.claims.delete(runId);
      });
    return Promise.race([claim, execution.then(() => undefined)]);
  }

  /** Cancels a run executing here; resolves when it has stopped (and committed its canceled checkpoint). */
  async cancel(runId: string): Promise<boolean> {
    const local = this.runs.get(runId);
    if (!local) return false;
    local.controller.abort(new RunCanceledError(`Run ${runId} was canceled.`));
    await local.settled;
    return true;
  }

  /**
   * Hands every run over: runs waiting live for an answer pause now (checkpointed `pending_input`); runs busy in
   * a node start no other node, and their running nodes get `closeTimeoutMs` to finish before they are aborted
   * (they run again on resume). Each run commits a `paused` checkpoint and releases its lease, so another process
   * continues it at once. Nothing is canceled: a shutdown is not a cancel.
   */
  async close(): Promise<void> {
    this.closing = true;
    const runs = [...this.runs.values()];
    for (const run of runs) run.channel.close();
    this.handoff.begin(this.options.closeTimeoutMs);
    await Promise.all(runs.map((run) => run.settled));
    // Every run has stopped: nothing is left for the grace timer to interrupt.
    this.handoff.interrupt();
  }

  /**
   * An execution that paused may have taken answers from the inbox that it did not use (they arrived
   * as it gave up waiting): resume at once with those meant for the questions it now waits for, bound to
   * them by requestId (the engine refuses them if the questions changed meanwhile). Others are dropped.
   */
  private async afterRun(local: LocalRun, result: RunResult): Promise<void> {
    // The run went on without some checkpoints: nobody awaits it, so the operator must hear of it.
    for (const warning of result.warnings) {
      if (warning.code === 'CHECKPOINT_WRITE_FAILED') this.options.onError(new CheckpointWriteError(warning.message), `run ${local.runId}`);
    }
    // Reapers of other processes resume a handed-over run as soon as they hear of it, not at their next pass.
    if (result.status === 'paused') await this.options.feed.notify({ runId: local.runId, kind: 'lease' });
    if (result.status !== 'pending_input' || this.closing) return;
    const waiting = new Map(result.pendingInputs.map((p) => [p.requestId, p.nodePath]));
    const answers = local.channel.leftovers().filter((answer) => waiting.get(answer.requestId) === answer.nodePath);
    if (answers.length === 0) return;
    this.runs.delete(local.runId);
    const { workflow, runId } = local;
    const input = Object.fromEntries(answers.map((answer) => [answer.nodePath, answer.value]));
    const requestIds = Object.fromEntries(answers.map((answer) => [answer.nodePath, answer.requestId]));
    await this.launch(runId, workflow, (context) => workflow.resume({ runId, input, requestIds, ...context })).catch(
      (error: unknown) => this.options.onError(error, `resuming run ${runId} with answers it received while pausing`),
    );
  }
}
