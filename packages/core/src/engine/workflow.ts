import { z } from 'zod';
import {
  CheckpointConflictError,
  CorruptCheckpointError,
  InputAlreadyAnsweredError,
  InvalidArgumentError,
  InvalidOutputError,
  InvalidRunInputError,
  NotFoundError,
  ShuttingDownError,
  RemovedByRetentionError,
} from '../errors.js';
import { CheckpointConfig, type CheckpointConfigInput } from '../models/checkpoint-config.js';
import type { FlowCheckpoint, NodeCheckpointState, PendingInputContext, TraceContext } from '../models/checkpoint.js';
import { CheckpointStore, type CheckpointSummary } from '../store/checkpoint-store.js';
import { removedRunMessage } from '../store/retention-tombstone.js';
import { assertSafeId } from '../store/safe-id.js';
import { type RunStart, type RunTrace, WorkflowTelemetry } from '../telemetry/run-telemetry.js';
import type { TelemetryOptions } from '../telemetry/telemetry-types.js';
import { consoleLogger, type Logger } from '../util/logger.js';
import { uuidv7 } from '../util/uuidv7.js';
import { CheckpointWriter } from './checkpoint-writer.js';
import { type Clock, systemClock } from './clock.js';
import { EventBus, type AnyWorkflowEvent, type WorkflowEvent, type WorkflowEventMap, type WorkflowEventOf } from './event-bus.js';
import { ExcludedNodes } from './excluded-nodes.js';
import type { Flow } from './flow.js';
import { FlowRun } from './flow-run.js';
import { Handoff } from './handoff.js';
import { InputBroker } from './input-broker.js';
import type { AnswerMap, AnswerTo, OpenAnswers } from './node-types.js';
import { invalidResumeInput, mergeAnswers } from './resume-answers.js';
import { assertZodSchema, checkSchema } from '../util/zod-schema.js';
import { pathBelongsTo } from './node-path.js';
import { toNodeError } from './node-error.js';
import type { HumanInputChannel } from './node-context.js';
import { NodeDefaults, parseExecutionOption, type ResolvedNodeDefaults } from './retry-policy.js';
import { acquireRunLease, type LeaseWait, type RunLease } from './run-lease.js';
import type { RunResult, RunWarning } from './run-result.js';
import { RunState } from './run-state.js';
import { RunWarnings } from './run-warnings.js';

export interface WorkflowOptions<I = any, O = unknown, A extends AnswerMap = OpenAnswers, In = I> {
  /** Defaults to the flow's id. */
  id?: string;
  /** Its types make the workflow's: `run(input)` takes the flow's input, `RunResult.output` is the flow's output. */
  flow: Flow<I, O, A>;
  /**
   * Checks `run(input)` before anything starts or is stored: a mismatch rejects with `InvalidRunInputError` (the
   * runtime bridge answers 422). zod's output (defaults and transforms applied) is what the run starts with.
   */
  inputSchema?: z.ZodType<I, In>;
  /**
   * Checks the run's output when its last node is done: a mismatch fails the run with `InvalidOutputError`
   * (recorded `failed`; fix the flow and fork or start again). zod's output becomes the run's output.
   */
  outputSchema?: z.ZodType<O>;
  /** Off unless `enabled: true` (with a `backend`). */
  checkpoint?: CheckpointConfigInput;
  /** `retry` and `timeoutMs` for every node that sets none and whose flow sets none (default: 1 attempt, no limit). */
  nodeDefaults?: NodeDefaults;
  /** What retries wait on (time, back-off sleeps, jitter); inject one to make tests deterministic. Default: the system clock. */
  clock?: Clock;
  /**
   * OpenTelemetry spans and metrics (see the README, "Tracing and metrics"): needs `@opentelemetry/api`, loaded on the
   * first run. `{}` uses the global tracer and meter. Without this option nothing is traced or loaded.
   */
  telemetry?: TelemetryOptions;
}

export interface RunOptions {
  /** Defaults to a new UUIDv7. */
  runId?: string;
  /** Cancels the run: running nodes are aborted and recorded `canceled`; the result is `canceled`. */
  signal?: AbortSignal;
  tenantId?: string;
  metadata?: Record<string, unknown>;
  traceContext?: TraceContext;
  /** A live source of human answers; without one, `HumanInput` pauses the run at once. */
  inputChannel?: HumanInputChannel;
  /**
   * Commits an `active` checkpoint before the first node starts, so the run is visible to other
   * processes (and resumable by a reaper if this worker dies in its first node). Off by default.
   */
  checkpointOnStart?: boolean;
  /**
   * Hands the run over when this `Handoff` begins, as `workflow.shutdown()` does for every run: e.g. a server's, so
   * closing the server hands over its runs while the workflow stays usable.
   */
  handoff?: Handoff;
}

export interface ShutdownOptions {
  /** How long running nodes may take to finish before their `ctx.signal` aborts. Default 10 000 ms. */
  graceMs?: number;
}

export interface ResumeOptions<A extends AnswerMap = OpenAnswers> {
  /** Continue this run from its head. */
  runId?: string;
  /** Continue from this checkpoint: the same run if it is the head, otherwise a fork (a new run). */
  checkpointId?: string;
  /**
   * Answers to pending inputs, by nodePath; validated before anything changes. The compiler checks the paths and
   * values of the workflow's `HumanInput`s (in subflows and maps too); a custom node's questions take any path.
   */
  input?: { [P in keyof A]?: A[P] };
  /**
   * Answers made with `humanInput.answer(value)` (typed by its schema, optionally bound to a `requestId`), checked
   * like `input`. A path may be answered once, here or in `input`.
   */
  answers?: ReadonlyArray<AnswerTo<A>>;
  /**
   * Binds answers to the questions they answer: nodePath -> the `requestId` of the question (from
   * `approval_requested`, `pendingInputs` or `getPendingInputs`). For each path named here the resume is
   * refused with `InputAlreadyAnsweredError` (nothing changed) unless the checkpoint resumed from still
   * waits at that path for exactly that request. An answer without a requestId answers whatever question
   * is pending at its path now.
   */
  requestIds?: Record<string, string>;
  /** When the checkpoint is corrupt, continue from the newest intact one before it. */
  fallbackToIntact?: boolean;
  /**
   * When another worker holds the run (e.g. one that died, whose lease has not expired yet), wait for its lease
   * to lapse instead of rejecting at once with `RunLockedError`: `true` waits at most one `leaseTtlMs` plus a
   * second, `{ timeoutMs }` at most that long; then `RunLockedError`. `signal` aborts the wait. Applies to a
   * resume of a run's head (by `runId`, or a `checkpointId` that is the head).
   */
  waitForLease?: boolean | { timeoutMs?: number };
  signal?: AbortSignal;
  tenantId?: string;
  inputChannel?: HumanInputChannel;
  /** The runId a fork (time travel) gets, e.g. so a server can answer with it before the fork runs. Default: a new UUIDv7. */
  forkRunId?: string;
  /**
   * Commits an `active` checkpoint before the first node runs again. For a fork this is the new run's
   * first checkpoint, so the fork is visible to every process (and resumable by a reaper) at once rather
   * than after its first node. Off by default.
   */
  checkpointOnStart?: boolean;
  /** See `RunOptions.handoff`. */
  handoff?: Handoff;
}

/** A pending input together with the run and checkpoint that wait for it. */
export interface PendingInput extends PendingInputContext {
  runId: string;
  checkpointId: string;
}

/** Where a run (re)starts: the state to start from and where its checkpoints attach. */
interface RunPlan {
  runId: string;
  input: unknown;
  nodeStates: Record<string, NodeCheckpointState>;
  pendingInputs: PendingInputContext[];
  answers: Map<string, unknown>;
  expectedHead: string | null;
  parentCheckpointId: string | null;
  nextSeq: number;
  tenantId?: string;
  metadata: Record<string, unknown>;
  traceContext?: TraceContext;
  warnings: RunWarning[];
}

/**
 * A flow plus its checkpoint configuration: runs, resumes (also time travel) and inspects runs.
 * With checkpointing off nothing touches storage and a run behaves exactly like a plain run.
 */
/**
 * `I`, `O`, `A`: the flow's input, output and answers. `In`: what `run` takes, the `inputSchema`'s input when there
 * is one (fields with a default may be left out), else `I`.
 */
export class Workflow<I = any, O = unknown, A extends AnswerMap = OpenAnswers, In = I> {
  readonly id: string;
  readonly flow: Flow;
  readonly config: CheckpointConfig;
  /** Null when checkpointing is off. */
  readonly store: CheckpointStore | null;
  readonly nodeDefaults: ResolvedNodeDefaults;
  readonly inputSchema: z.ZodType<I, In> | undefined;
  readonly outputSchema: z.ZodType<O> | undefined;
  private readonly clock: Clock;
  private readonly events = new EventBus();
  /** Begun by `shutdown()`; every run of this workflow follows it. */
  private readonly handoff = new Handoff();
  /** `run` and `resume` calls that have not settled: `shutdown()` waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private shuttingDown: Promise<void> | undefined;
  /** When this instance last looked for the flow's runs past `retentionDays` (epoch ms). */
  private agedOutCheckedAt = Number.NEGATIVE_INFINITY;
  private readonly logger: Logger;
  private readonly telemetry: WorkflowTelemetry | undefined;

  constructor(options: WorkflowOptions<I, O, A, In>) {
    this.id = options.id ?? options.flow.id;
    assertSafeId(this.id, 'Workflow id');
    if (options.inputSchema !== undefined) assertZodSchema(options.inputSchema, `Workflow "${this.id}" inputSchema`);
    if (options.outputSchema !== undefined) assertZodSchema(options.outputSchema, `Workflow "${this.id}" outputSchema`);
    this.inputSchema = options.inputSchema;
    this.outputSchema = options.outputSchema;
    this.flow = options.flow;
    this.nodeDefaults = parseExecutionOption(NodeDefaults, options.nodeDefaults ?? {}, `Workflow "${this.id}"`, 'nodeDefaults');
    this.clock = options.clock ?? systemClock;
    const parsed = CheckpointConfig.safeParse(options.checkpoint ?? {});
    if (!parsed.success) {
      throw new InvalidArgumentError(`Workflow "${this.id}": invalid checkpoint config: ${z.prettifyError(parsed.error)}`);
    }
    this.config = parsed.data;
    this.logger = this.config.logger ?? consoleLogger;
    const { enabled, backend, redact, encryption } = this.config;
    if (enabled && !backend) {
      throw new InvalidArgumentError(`Workflow "${this.id}": checkpoint.enabled is true but no backend is set; pass checkpoint.backend.`);
    }
    this.store =
      enabled && backend ? new CheckpointStore(backend, { ...(redact ? { redact } : {}), ...(encryption ? { encryption } : {}) }) : null;
    this.telemetry = options.telemetry
      ? new WorkflowTelemetry(options.telemetry, { workflowId: this.id, flowId: this.flow.id, ...(this.store ? { backend: this.store.adapter.name } : {}) })
      : undefined;
  }

  /**
   * Listens to one event type (its `data` typed by `WorkflowEventMap`), to `'*'` (every event, a union to narrow on
   * `type`), or to a custom type a node emits with `ctx.emit`. Returns a function that removes the listener.
   */
  on<K extends keyof WorkflowEventMap>(type: K, listener: (event: WorkflowEventOf<K, I, O>) => void): () => void;
  on(type: '*', listener: (event: AnyWorkflowEvent<I, O>) => void): () => void;
  on(type: string & {}, listener: (event: WorkflowEvent) => void): () => void;
  on(type: string, listener: (event: never) => void): () => void {
    return this.events.on(type, listener as (event: WorkflowEvent) => void);
  }

  off<K extends keyof WorkflowEventMap>(type: K, listener: (event: WorkflowEventOf<K, I, O>) => void): void;
  off(type: '*', listener: (event: AnyWorkflowEvent<I, O>) => void): void;
  off(type: string & {}, listener: (event: WorkflowEvent) => void): void;
  off(type: string, listener: (event: never) => void): void {
    this.events.off(type, listener as (event: WorkflowEvent) => void);
  }

  run(input: In, options: RunOptions = {}): Promise<RunResult<O>> {
    return this.track(() => this.startRun(input, options));
  }

  /**
   * Continues a run: by `runId` from its head, by `checkpointId` from that checkpoint (a fork with a
   * new runId unless it is the head), or the flow's latest run when both are omitted.
   */
  resume(options: ResumeOptions<A> = {}): Promise<RunResult<O>> {
    return this.track(() => this.resumeRun(options as ResumeOptions));
  }

  /**
   * Hands every run of this workflow in this process over to other processes (graceful shutdown): `run()` and
   * `resume()` reject with `ShuttingDownError` from now on; no new node starts; running nodes get `graceMs` to
   * finish (recorded `success`, never run again), then their `ctx.signal` aborts (they run again on resume). Each
   * run commits a `paused` checkpoint (`pending_input` if it waits for a human), releases its lease and resolves
   * with status `paused`. Resolves once every run has done so. Calling it again returns the same promise.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    const graceMs = options.graceMs ?? 10_000;
    if (!Number.isFinite(graceMs) || graceMs < 0) {
      return Promise.reject(new InvalidArgumentError(`Workflow "${this.id}": shutdown graceMs must be a number >= 0 (got ${graceMs}).`));
    }
    this.shuttingDown ??= this.handOver(graceMs);
    return this.shuttingDown;
  }

  private async handOver(graceMs: number): Promise<void> {
    this.handoff.begin(graceMs);
    await Promise.allSettled([...this.inFlight]);
    // Every run has stopped: nothing is left for the grace timer to interrupt.
    this.handoff.interrupt();
  }

  private track(work: () => Promise<RunResult<O>>): Promise<RunResult<O>> {
    if (this.shuttingDown) {
      return Promise.reject(
        new ShuttingDownError(`Workflow "${this.id}" is shutting down and takes no new work: start or resume the run on another instance.`),
      );
    }
    const pending = work();
    this.inFlight.add(pending);
    const settle = () => void this.inFlight.delete(pending);
    pending.then(settle, settle);
    return pending;
  }

  private async startRun(given: In, options: RunOptions): Promise<RunResult<O>> {
    await this.telemetry?.ready();
    const runId = options.runId ?? uuidv7();
    assertSafeId(runId, 'runId');
    const input = await this.checkedInput(given);
    const plan: RunPlan = {
      runId,
      input,
      nodeStates: {},
      pendingInputs: [],
      answers: new Map(),
      expectedHead: null,
      parentCheckpointId: null,
      nextSeq: 0,
      ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
      metadata: options.metadata ?? {},
      ...(options.traceContext === undefined ? {} : { traceContext: options.traceContext }),
      warnings: [],
    };
    if (!this.store) {
      this.events.emit('run_started', runId, { input, resumed: false });
      return this.execute(plan, options, null);
    }
    const store = this.store;
    return this.holding(await acquireRunLease(store, runId, this.config.leaseTtlMs), async (lease) => {
      if ((await store.getHead(runId)) !== null) {
        throw new InvalidArgumentError(`Run ${runId} already exists: continue it with workflow.resume({ runId: '${runId}' }).`);
      }
      this.events.emit('run_started', runId, { input, resumed: false });
      return this.execute(plan, options, lease);
    });
  }

  /** The run input as the workflow's `inputSchema` makes it, or `InvalidRunInputError` before anything starts. */
  private async checkedInput(input: In): Promise<I> {
    if (!this.inputSchema) return input as unknown as I;
    const checked = await checkSchema(this.inputSchema, input);
    if (checked.ok) return checked.data as I;
    const error = new InvalidRunInputError(
      `Workflow "${this.id}" refused the run input; nothing was started. Pass an input its inputSchema accepts: ${checked.summary}`,
    );
    error.issues = checked.issues;
    throw error;
  }

  private async resumeRun(given: ResumeOptions): Promise<RunResult<O>> {
    await this.telemetry?.ready();
    const store = this.requireStore('resume');
    const options = withAnswers(given);
    if (options.checkpointId !== undefined) {
      assertSafeId(options.checkpointId, 'checkpointId');
      const target = await this.loadOrFallback(options.checkpointId, options, () =>
        store.getChain(options.checkpointId!, { ...tenantOption(options.tenantId), onCorrupt: ignoreCorrupt }),
      ).catch((error: unknown) => {
        throw this.explainMissing(error, options.checkpointId!);
      });
      assertBound(target.checkpoint, options.requestIds);
      const head = await store.getHead(target.checkpoint.runId);
      if (head !== options.checkpointId) return this.fork(target.checkpoint, target.warnings, options);
      return this.continueRun(target.checkpoint.runId, options, options.checkpointId);
    }
    const runId = options.runId ?? (await this.latestRunId(options.tenantId));
    assertSafeId(runId, 'runId');
    await this.refuseStaleAnswers(runId, options);
    return this.continueRun(runId, options);
  }

  /** A run's checkpoints (newest first by seq), or the flow's (newest first) without `runId`. */
  async listCheckpoints(options: { runId?: string; limit?: number; tenantId?: string } = {}): Promise<CheckpointSummary[]> {
    const store = this.requireStore('listCheckpoints');
    const query = { ...(options.limit === undefined ? {} : { limit: options.limit }), ...tenantOption(options.tenantId) };
    return options.runId === undefined ? store.listByFlow(this.flow.id, query) : store.listByRun(options.runId, query);
  }

  async getLatestCheckpoint(options: { runId?: string; tenantId?: string } = {}): Promise<FlowCheckpoint | null> {
    const store = this.requireStore('getLatestCheckpoint');
    return store.getLatest({
      ...(options.runId === undefined ? { flowId: this.flow.id } : { runId: options.runId }),
      ...tenantOption(options.tenantId),
    });
  }

  /** Inputs awaited by one run, or by every waiting run of this flow. */
  async getPendingInputs(options: { runId?: string; tenantId?: string } = {}): Promise<PendingInput[]> {
    const store = this.requireStore('getPendingInputs');
    const heads =
      options.runId === undefined
        ? await store.listPendingInput({ flowId: this.flow.id, ...tenantOption(options.tenantId) })
        : [await store.getLatest({ runId: options.runId, ...tenantOption(options.tenantId) })];
    return heads.flatMap((head) =>
      head?.status === 'pending_input' ? head.pendingInputs.map((p) => ({ ...p, runId: head.runId, checkpointId: head.id })) : [],
    );
  }

  /**
   * Checks bound answers against the run's head before taking its lease, so a stale answer is refused as
   * such (not as `RunLockedError` while a worker waits live) and never disturbs the run. The check is
   * repeated under the lease, against the checkpoint actually resumed from.
   */
  private async refuseStaleAnswers(runId: string, options: ResumeOptions): Promise<void> {
    if (Object.keys(options.requestIds ?? {}).length === 0) return;
    const head = await this.store!.getLatest({ runId, ...tenantOption(options.tenantId) }).catch((error: unknown) => {
      if (CorruptCheckpointError.isInstance(error)) return null;
      throw error;
    });
    if (head) assertBound(head, options.requestIds);
  }

  private async continueRun(runId: string, options: ResumeOptions, expectedHeadId?: string): Promise<RunResult<O>> {
    const store = this.store!;
    // A run that does not exist gets no lease: claiming it would leave a lease record behind in the storage.
    if ((await store.getHead(runId)) === null) throw await this.missingRun(runId, options.tenantId);
    return this.holding(await acquireRunLease(store, runId, this.config.leaseTtlMs, this.leaseWait(options)), async (lease) => {
      const headId = await store.getHead(runId);
      if (headId === null) throw await this.missingRun(runId, options.tenantId);
      if (expectedHeadId !== undefined && headId !== expectedHeadId) {
        throw new CheckpointConflictError(`Run ${runId} moved on while resuming from ${expectedHeadId}; resume again.`);
      }
      const { checkpoint, warnings } = await this.loadOrFallback(headId, options, () =>
        store.listByRun(runId, { ...tenantOption(options.tenantId), onCorrupt: ignoreCorrupt }),
      );
      const headSeq = checkpoint.id === headId ? checkpoint.seq : await this.seqAfterCorruptHead(headId, checkpoint);
      const plan = this.planFrom(checkpoint, options, warnings, { runId, expectedHead: headId, nextSeq: headSeq + 1 });
      return this.start(plan, checkpoint, options, lease);
    });
  }

  /**
   * Why a run has no checkpoint: retention removed it (`RemovedByRetentionError`), or it never existed. A caller
   * scoped to a tenant learns of the removal of its own tenant's runs only, like it sees only their checkpoints.
   */
  private async missingRun(runId: string, tenantId: string | undefined): Promise<NotFoundError> {
    const tombstone = await this.store!.removedByRetention(runId);
    const theirs = tombstone !== null && (tenantId === undefined || tombstone.tenantId === tenantId);
    return theirs ? new RemovedByRetentionError(removedRunMessage(tombstone)) : noCheckpoint(runId);
  }

  /** How long `resume` waits for another worker's lease to lapse (`waitForLease`), or undefined: not at all. */
  private leaseWait(options: ResumeOptions): LeaseWait | undefined {
    const { waitForLease, signal } = options;
    if (!waitForLease) return undefined;
    const timeoutMs = waitForLease === true ? undefined : waitForLease.timeoutMs;
    return { timeoutMs: timeoutMs ?? this.config.leaseTtlMs + LEASE_WAIT_MARGIN_MS, ...(signal ? { signal } : {}) };
  }

  private async fork(origin: FlowCheckpoint, warnings: RunWarning[], options: ResumeOptions): Promise<RunResult<O>> {
    const runId = options.forkRunId ?? uuidv7();
    assertSafeId(runId, 'forkRunId');
    if (options.forkRunId !== undefined && (await this.store!.getHead(runId)) !== null) {
      throw new InvalidArgumentError(`Run ${runId} already exists: a fork needs a new forkRunId.`);
    }
    const plan = this.planFrom(origin, options, warnings, { runId, expectedHead: null, nextSeq: 0 });
    if (origin.status === 'completed') return this.start(plan, origin, options, null);
    return this.holding(await acquireRunLease(this.store!, runId, this.config.leaseTtlMs), (lease) => this.start(plan, origin, options, lease));
  }

  /**
   * Runs `work` under the run's lease, then applies retention once the lease is released: the run is held no
   * longer than its execution, and retention's blob collection, which needs the run free, can reach it.
   */
  private async holding(lease: RunLease, work: (lease: RunLease) => Promise<RunResult<O>>): Promise<RunResult<O>> {
    let result: RunResult<O>;
    try {
      result = await work(lease);
    } finally {
      await releaseQuietly(lease);
    }
    const warnings = new RunWarnings(result.runId, this.logger);
    await this.applyRetention(result.runId, warnings);
    return warnings.items.length === 0 ? result : { ...result, warnings: [...result.warnings, ...warnings.items] };
  }

  private planFrom(
    checkpoint: FlowCheckpoint,
    options: ResumeOptions,
    warnings: RunWarning[],
    target: { runId: string; expectedHead: string | null; nextSeq: number },
  ): RunPlan {
    return {
      ...target,
      input: checkpoint.originalInput,
      nodeStates: checkpoint.nodeStates,
      pendingInputs: checkpoint.pendingInputs,
      answers: this.validateAnswers(checkpoint, options),
      parentCheckpointId: checkpoint.id,
      ...(checkpoint.tenantId === undefined ? {} : { tenantId: checkpoint.tenantId }),
      metadata: checkpoint.metadata,
      ...(checkpoint.traceContext === undefined ? {} : { traceContext: checkpoint.traceContext }),
      warnings,
    };
  }

  /**
   * Every answer bound to a question must answer the one still pending (else `InputAlreadyAnsweredError`),
   * name a pending input and satisfy its node's schema; otherwise nothing happens.
   */
  private validateAnswers(checkpoint: FlowCheckpoint, options: ResumeOptions): Map<string, unknown> {
    assertBound(checkpoint, options.requestIds);
    const input = options.input ?? {};
    const waiting = new Set(checkpoint.pendingInputs.map((p) => p.nodePath));
    const answers = new Map<string, unknown>();
    const issues: Array<{ nodePath: string; message: string }> = [];
    const answered = Object.keys(input).filter((nodePath) => !waiting.has(nodePath) && this.askedAndAnswered(checkpoint, nodePath));
    if (answered.length > 0) {
      throw new InputAlreadyAnsweredError(
        `Run ${checkpoint.runId}: the question at ${answered.map((p) => `"${p}"`).join(', ')} was answered already; nothing was changed. Read the run's pending inputs and answer the question shown now.`,
      );
    }
    for (const [nodePath, value] of Object.entries(input)) {
      const schema = waiting.has(nodePath) ? this.flow.inputSchemaFor(nodePath) : undefined;
      if (!schema) {
        const listed = [...waiting].join(', ') || 'none';
        issues.push({ nodePath, message: `no input is pending at "${nodePath}" (pending: ${listed})` });
        continue;
      }
      const parsed = schema.safeParse(value);
      if (parsed.success) answers.set(nodePath, parsed.data);
      else issues.push({ nodePath, message: z.prettifyError(parsed.error) });
    }
    if (issues.length > 0) throw invalidResumeInput(`run ${checkpoint.runId}`, issues);
    return answers;
  }

  /** An input path whose node completed: whatever it asked there was answered (its answer is in the node's output). */
  private askedAndAnswered(checkpoint: FlowCheckpoint, nodePath: string): boolean {
    const owner = this.flow.nodes.find((node) => pathBelongsTo(nodePath, node.id));
    return owner !== undefined && checkpoint.nodeStates[owner.id]?.status === 'success' && this.flow.inputSchemaFor(nodePath) !== undefined;
  }

  private async start(plan: RunPlan, from: FlowCheckpoint, options: ResumeOptions, lease: RunLease | null): Promise<RunResult<O>> {
    const forkedFrom = plan.runId === from.runId ? undefined : from.id;
    this.events.emit('checkpoint_resumed', plan.runId, { checkpointId: from.id, seq: from.seq, ...(forkedFrom ? { forkedFrom } : {}) });
    if (from.status === 'completed') return this.completed(plan, from);
    this.events.emit('run_started', plan.runId, { input: plan.input, resumed: true });
    return this.execute(plan, options, lease);
  }

  /** A completed run resumed: nothing runs; its output is the flow's, through the `outputSchema` as when it completed. */
  private async completed(plan: RunPlan, from: FlowCheckpoint): Promise<RunResult<O>> {
    const warnings = this.warningsOf(plan).items;
    const result = { runId: from.runId, checkpointId: from.id, pendingInputs: [], warnings };
    const raw = this.flow.outputOf(from.nodeStates);
    const checked = this.outputSchema ? await checkSchema(this.outputSchema, raw) : { ok: true as const, data: raw };
    if (!checked.ok) {
      const message = `Run ${from.runId}'s output does not pass the workflow's outputSchema (changed since it completed?): ${checked.summary}`;
      const error = Object.assign(new InvalidOutputError(message), { issues: checked.issues });
      this.events.emit('run_failed', from.runId, { error: toNodeError(error) });
      return { ...result, status: 'failure', output: undefined, error };
    }
    const output = checked.data as O;
    this.events.emit('run_completed', from.runId, { output });
    return { ...result, status: 'success', output };
  }

  private async execute(plan: RunPlan, options: RunOptions | ResumeOptions, lease: RunLease | null): Promise<RunResult<O>> {
    if (!this.telemetry) return this.executePlan(plan, options, lease);
    const trace = this.telemetry.startRun(runStart(plan), this.store !== null);
    try {
      return await trace.within(() => this.executePlan({ ...plan, traceContext: trace.traceContext }, options, lease, trace));
    } catch (error) {
      trace.fail(error);
      throw error;
    }
  }

  private async executePlan(plan: RunPlan, options: RunOptions | ResumeOptions, lease: RunLease | null, trace?: RunTrace): Promise<RunResult<O>> {
    const { runId } = plan;
    const warnings = this.warningsOf(plan);
    const state = new RunState(
      this.flow.nodes.map((node) => node.id),
      plan.nodeStates,
      // An answered question is no longer awaited, even before its node runs again.
      plan.pendingInputs.filter((p) => !plan.answers.has(p.nodePath)),
    );
    const exclude = new ExcludedNodes(this.flow, this.config.excludeNodes);
    const writer =
      this.store && lease
        ? new CheckpointWriter({
            store: this.store,
            state,
            identity: {
              flowId: this.flow.id,
              workflowId: this.id,
              runId,
              ...(plan.tenantId === undefined ? {} : { tenantId: plan.tenantId }),
              ...(plan.traceContext === undefined ? {} : { traceContext: plan.traceContext }),
              metadata: plan.metadata,
              originalInput: plan.input,
              originalConfig: this.describeConfig(),
            },
            expectedHead: plan.expectedHead,
            parentCheckpointId: plan.parentCheckpointId,
            nextSeq: plan.nextSeq,
            lease: () => lease.current,
            onCheckpointError: this.config.onCheckpointError,
            exclude,
            writeRetry: this.config.writeRetry,
            events: this.events,
            warnings,
            logger: this.logger,
            ...(trace ? { telemetry: trace } : {}),
          })
        : undefined;
    // Before any node runs, so a worker that dies in the first node still leaves a resumable run.
    if (writer && options.checkpointOnStart) await writer.request();
    const broker = new InputBroker({
      runId,
      state,
      events: this.events,
      answers: plan.answers,
      previous: plan.pendingInputs,
      ...(options.inputChannel ? { channel: options.inputChannel } : {}),
      ...(writer ? { commit: () => writer.request(), stopped: () => writer.error } : {}),
    });
    const outcome = await new FlowRun({
      flow: this.flow,
      workflowId: this.id,
      runId,
      input: plan.input,
      state,
      broker,
      events: this.events,
      ...(writer ? { writer } : {}),
      policy: {
        afterNode: this.config.checkpointAfterNode,
        onFailure: this.config.checkpointOnFailure,
        midNode: this.config.midNodeCheckpoints,
        exclude: exclude.ids,
        sync: this.config.durability === 'sync',
      },
      ...(options.signal ? { signal: options.signal } : {}),
      handoffs: options.handoff ? [this.handoff, options.handoff] : [this.handoff],
      nodeDefaults: this.nodeDefaults,
      clock: this.clock,
      ...(this.outputSchema ? { outputSchema: this.outputSchema } : {}),
      ...(trace ? { telemetry: trace } : {}),
    }).execute();
    const pendingInputs = state.pendingInputs();
    const checkpointId = writer?.lastCommittedId ?? plan.expectedHead;
    this.emitOutcome(runId, outcome, pendingInputs, checkpointId);
    if (writer?.error) this.logger.error(`Run ${runId} stopped: ${writer.error.message}`, { runId, code: writer.error.code });
    trace?.end({ status: outcome.status, ...(outcome.error ? { error: outcome.error } : {}), pendingAtEnd: pendingInputs.length });
    return {
      status: outcome.status,
      output: outcome.output as O | undefined,
      ...(outcome.error ? { error: outcome.error } : {}),
      runId,
      checkpointId,
      pendingInputs: outcome.status === 'pending_input' ? pendingInputs : [],
      warnings: warnings.items,
    };
  }

  /** The run's warnings so far (e.g. a fallback past a corrupt checkpoint), reported to the logger from here on. */
  private warningsOf(plan: RunPlan): RunWarnings {
    const warnings = new RunWarnings(plan.runId, this.logger);
    for (const warning of plan.warnings) warnings.push(warning);
    return warnings;
  }

  /** `run_paused` names the checkpoint that lists the questions, so an answer can be bound to what the client saw. */
  private emitOutcome(
    runId: string,
    outcome: { status: string; output: unknown; error?: Error },
    pendingInputs: PendingInputContext[],
    checkpointId: string | null,
  ): void {
    const error = outcome.error && toNodeError(outcome.error);
    if (outcome.status === 'success') this.events.emit('run_completed', runId, { output: outcome.output });
    else if (outcome.status === 'pending_input') this.events.emit('run_paused', runId, { pendingInputs, ...(checkpointId ? { checkpointId } : {}) });
    else if (outcome.status === 'paused') this.events.emit('run_paused', runId, { reason: 'shutdown', pendingInputs: [], ...(checkpointId ? { checkpointId } : {}) });
    else if (outcome.status === 'canceled') this.events.emit('run_canceled', runId, { error });
    else this.events.emit('run_failed', runId, { error });
  }

  /**
   * Trims the run that just ran to its newest `maxCheckpointsPerRun`, then removes this flow's finished runs older
   * than `retentionDays`, at most once per `AGED_OUT_CHECK_MS` per instance (ages count in days, and the check reads
   * the flow's old finished headers); other runs' histories are never trimmed here. Best effort: a failure to clean
   * up must not fail a run that already finished.
   */
  private async applyRetention(runId: string, warnings: RunWarnings): Promise<void> {
    const { maxCheckpointsPerRun, retentionDays } = this.retention();
    // A corrupt header of another run must not stop retention for the whole flow: it is kept and reported.
    const onCorrupt = (error: Error) => warnings.push({ code: 'CORRUPT_CHECKPOINT', message: `Retention kept a corrupt checkpoint: ${error.message}` });
    const checkAgedOut = retentionDays !== null && Date.now() - this.agedOutCheckedAt >= AGED_OUT_CHECK_MS;
    try {
      if (maxCheckpointsPerRun !== undefined) await this.store!.cleanup({ runId, maxCheckpointsPerRun, retentionDays: null, onCorrupt });
      if (checkAgedOut) {
        this.agedOutCheckedAt = Date.now();
        await this.store!.cleanup({ flowId: this.flow.id, retentionDays, onCorrupt });
      }
    } catch (error) {
      if (checkAgedOut) this.agedOutCheckedAt = Number.NEGATIVE_INFINITY; // the next run tries again
      warnings.push({ code: 'RETENTION_FAILED', message: `Old checkpoints were not cleaned up: ${errorMessage(error)}` });
    }
  }

  /** The retention settings in force, the deprecated `maxCheckpoints` read as `maxCheckpointsPerRun`. */
  private retention(): { maxCheckpointsPerRun: number | undefined; retentionDays: number | null } {
    const { maxCheckpointsPerRun, maxCheckpoints, retentionDays } = this.config;
    return { maxCheckpointsPerRun: maxCheckpointsPerRun ?? maxCheckpoints, retentionDays };
  }

  /** A missing checkpoint's error, saying that retention may have removed it when retention is configured. */
  private explainMissing(error: unknown, checkpointId: string): unknown {
    if (!NotFoundError.isInstance(error)) return error;
    const { maxCheckpointsPerRun, retentionDays } = this.retention();
    const settings = [
      ...(maxCheckpointsPerRun === undefined ? [] : [`maxCheckpointsPerRun: ${maxCheckpointsPerRun} keeps each run's newest ${maxCheckpointsPerRun}`]),
      ...(retentionDays === null ? [] : [`retentionDays: ${retentionDays} removes finished runs ${retentionDays} days after they end`]),
    ];
    if (settings.length === 0) return error;
    return new NotFoundError(
      `Checkpoint ${checkpointId} not found; it may have been removed by retention (${settings.join('; ')}). ` +
        `List what a run still has with workflow.listCheckpoints({ runId }) and resume from one of those, or start a new run with workflow.run().`,
      { cause: error },
    );
  }

  private async loadOrFallback(
    id: string,
    options: ResumeOptions,
    olderCandidates: () => Promise<CheckpointSummary[]>,
  ): Promise<{ checkpoint: FlowCheckpoint; warnings: RunWarning[] }> {
    const store = this.store!;
    const load = (checkpointId: string) => store.load(checkpointId, tenantOption(options.tenantId));
    try {
      return { checkpoint: await load(id), warnings: [] };
    } catch (error) {
      if (!options.fallbackToIntact || !CorruptCheckpointError.isInstance(error)) throw error;
      for (const candidate of await olderCandidates()) {
        if (candidate.id === id) continue;
        try {
          const checkpoint = await load(candidate.id);
          const message = `Checkpoint ${id} is corrupt (${error.message}); continued from ${checkpoint.id}, the newest intact one before it.`;
          return { checkpoint, warnings: [{ code: 'CHECKPOINT_FALLBACK', message }] };
        } catch (olderError) {
          if (!CorruptCheckpointError.isInstance(olderError)) throw olderError;
        }
      }
      throw error;
    }
  }

  /**
   * The seq the next checkpoint must exceed when resuming past a corrupt head: the head's stored seq (an indexed
   * field the backend keeps even when the body fails its digest) or, if that was tampered lower, the fallback's.
   */
  private async seqAfterCorruptHead(headId: string, fallback: FlowCheckpoint): Promise<number> {
    const raw = await this.store!.adapter.getHeader(headId);
    return Math.max(raw?.seq ?? 0, fallback.seq);
  }

  private async latestRunId(tenantId: string | undefined): Promise<string> {
    const [latest] = await this.store!.listByFlow(this.flow.id, { limit: 1, ...tenantOption(tenantId) });
    if (!latest) throw new NotFoundError(`Flow "${this.flow.id}" has no checkpoint to resume; start a run with workflow.run().`);
    return latest.runId;
  }

  private requireStore(method: string): CheckpointStore {
    if (this.store) return this.store;
    throw new InvalidArgumentError(
      `Workflow "${this.id}": ${method}() needs checkpointing; pass checkpoint: { enabled: true, backend } to the Workflow.`,
    );
  }

  /** The settings a checkpoint records (never the backend, keys or redaction patterns). */
  private describeConfig(): Record<string, unknown> {
    const { enabled, backend, redact, encryption, logger, ...settings } = this.config;
    return {
      workflowId: this.id,
      flowId: this.flow.id,
      concurrency: this.flow.concurrency,
      checkpoint: Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)),
    };
  }
}

// Room for the holder's clock and a renewal in flight when waiting for one lease ttl.
const LEASE_WAIT_MARGIN_MS = 1_000;

/** What a run attempt's trace needs of its plan. A fork starts with no question of its own: its origin keeps them. */
function runStart(plan: RunPlan): RunStart {
  const forked = plan.expectedHead === null && plan.parentCheckpointId !== null;
  return {
    runId: plan.runId,
    ...(plan.traceContext === undefined ? {} : { traceContext: plan.traceContext }),
    resumedFrom: plan.parentCheckpointId,
    forked,
    pendingAtStart: forked ? 0 : plan.pendingInputs.length,
    nodeStates: plan.nodeStates,
  };
}

function noCheckpoint(runId: string): NotFoundError {
  return new NotFoundError(`Run ${runId} has no checkpoint; start it with workflow.run().`);
}

/** How often a `Workflow` instance looks for its flow's runs past `retentionDays` after a run (they age in days). */
const AGED_OUT_CHECK_MS = 3_600_000;

/** Refuses answers bound to a question that `checkpoint` does not wait for (answered, or replaced by another). */
function assertBound(checkpoint: FlowCheckpoint, requestIds: Record<string, string> | undefined): void {
  for (const [nodePath, requestId] of Object.entries(requestIds ?? {})) {
    const pending = checkpoint.pendingInputs.find((p) => p.nodePath === nodePath);
    if (pending?.requestId === requestId) continue;
    const now = pending ? `the question pending there now is ${pending.requestId ?? 'one without a requestId'}` : 'nothing is pending there now';
    throw new InputAlreadyAnsweredError(
      `Run ${checkpoint.runId}: the question ${requestId} at "${nodePath}" is no longer open (${now}); nothing was changed. Read the run's pending inputs and answer the current question.`,
    );
  }
}

/** `options` with its typed `answers` merged into `input` and `requestIds`, the one form the engine reads. */
function withAnswers(options: ResumeOptions): ResumeOptions {
  if (options.answers === undefined) return options;
  const { answers, ...rest } = options;
  const label = options.runId !== undefined ? `run ${options.runId}` : `checkpoint ${options.checkpointId ?? "(the flow's latest run)"}`;
  return { ...rest, ...mergeAnswers(label, options.input, options.requestIds, answers) };
}

function tenantOption(tenantId: string | undefined): { tenantId?: string } {
  return tenantId === undefined ? {} : { tenantId };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An unreleased lease expires on its own, so a failed release must not turn a result into an error. */
async function releaseQuietly(lease: RunLease): Promise<void> {
  await lease.release().catch(() => undefined);
}

/** Fallback candidates skip headers that fail their integrity check: the loop looks for the newest intact one. */
const ignoreCorrupt = (): void => undefined;
