import type { z } from 'zod';
import { InvalidArgumentError, IterationFailedError } from '../errors.js';
import { executeChild, type ChildProgress } from '../engine/child-context.js';
import { Flow } from '../engine/flow.js';
import { Node, type Awaitable, type NodeOptions, type Question, questionsBelow } from '../engine/node.js';
import type { AnswerMap, AnswersOf, DepIds, InputOf, NodeInput, NodeRef, NodeTypes, OpenAnswers, OutputOf, PrefixAnswers } from '../engine/node-types.js';
import type { NodeContext } from '../engine/node-context.js';
import { toNodeError } from '../engine/node-error.js';
import { pathBelongsTo } from '../engine/node-path.js';
import { PendingInputSignal } from '../engine/pending-input-signal.js';
import { parseExecutionOption, RetryOptions, type RetryPolicy, TimeoutMs } from '../engine/retry-policy.js';
import type { NodeError } from '../models/checkpoint.js';
import { Subflow } from './subflow.js';

export interface MapOptions<I, T, Id extends string = string, D extends readonly NodeRef[] = readonly NodeRef[]> extends NodeOptions<I, Id, D> {
  /** Runs once per item; a `Flow` runs as a `Subflow` (paths `map[i]/flowId/nodeId`). */
  inner: Node<T> | Flow;
  /** The list to map over; default: the input itself (which must then be an array). Must give the same list on every attempt. */
  items?: (input: I, ctx: NodeContext) => Awaitable<readonly T[]>;
  /** Iterations running at once (default 4). */
  concurrency?: number;
  /**
   * `'fail-fast'` (default): the first failure stops new iterations and aborts running ones;
   * `'collect'`: every iteration runs, then the map fails listing all failures. Either way the
   * finished ones are kept and a resume runs only the failed and unfinished ones.
   */
  onError?: 'fail-fast' | 'collect';
  /** Retries per item (only the failing item runs again); default: the inner node's own `retry`. */
  itemRetry?: RetryOptions;
  /** Time limit per item attempt; default: the inner node's own `timeoutMs`. */
  itemTimeoutMs?: number;
}

/** One iteration as a map records it; `progress` is what its node saved (an agent's loop, a subflow's nodes). */
export interface IterationRecord {
  status: 'success' | 'failure' | 'running' | 'pending_input';
  attempt: number;
  output?: unknown;
  error?: NodeError;
  progress?: ChildProgress;
}

/** What a map saves: one record per item (null: never started), in input order. */
export interface MapState {
  iterations: ReadonlyArray<IterationRecord | null>;
}

/** What `inner` makes of one item: its input, output and answers below the map's iteration (`[i]/...`). */
type ItemOf<Inner> = Inner extends Flow<infer T, any, any> ? T : InputOf<Inner>;
type ItemOutputOf<Inner> = Inner extends Flow<any, infer O, any> ? O : OutputOf<Inner>;
type ItemAnswersOf<Inner> = Inner extends Flow<any, any, infer A, infer FlowId> ? PrefixAnswers<`${FlowId}/`, A> : AnswersOf<Inner>;

/**
 * Runs a node (or flow) over a list with bounded concurrency. Every finished iteration is a mid-node
 * checkpoint (group-committed when several finish together); a resume runs only unfinished and failed
 * iterations. Output: the outputs in input order. Iterations waiting for human input (`map[i]/...`)
 * wait together: the map pauses once all others are done.
 */
export interface MapNode<I = any, T = any, O = any, Id extends string = string, Deps extends string = string, A extends AnswerMap = OpenAnswers>
  extends Node<I, O[], Id, Deps> {
  readonly nodeType: 'map';
  readonly inner: Node<T, O>;
  readonly concurrency: number;
  readonly onError: 'fail-fast' | 'collect';
  readonly itemRetry: RetryPolicy | undefined;
  readonly itemTimeoutMs: number | undefined;
  readonly '~types'?: NodeTypes<I, O[], PrefixAnswers<`${Id}[${number}]/`, A>>;
  execute(input: I, ctx: NodeContext): Promise<O[]>;
}

/** `new MapNode({ id, inner, items?, dependsOn? })`: typed by `inner` (its items, outputs and questions) and `dependsOn`. */
export interface MapNodeConstructor {
  new <const Id extends string, Inner extends Node | Flow, I, const D extends readonly NodeRef[] = []>(
    options: MapOptions<NodeInput<D, I>, ItemOf<Inner>, Id, D> & { inner: Inner },
  ): MapNode<NodeInput<D, I>, ItemOf<Inner>, ItemOutputOf<Inner>, Id, DepIds<D>, ItemAnswersOf<Inner>>;
  new <I = any, T = any, O = any>(options: MapOptions<NoInfer<I>, NoInfer<T>>): MapNode<I, T, O>;
  readonly prototype: MapNode;
}

export const MapNode = class MapNode extends Node {
  readonly nodeType = 'map';
  readonly inner: Node;
  readonly concurrency: number;
  readonly onError: 'fail-fast' | 'collect';
  readonly itemRetry: RetryPolicy | undefined;
  readonly itemTimeoutMs: number | undefined;
  private readonly items: MapOptions<unknown, unknown>['items'];

  constructor(options: MapOptions<unknown, unknown>) {
    super(options);
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError(`Map "${options.id}": concurrency must be a positive integer, got ${concurrency}.`);
    }
    this.inner = options.inner instanceof Flow ? new Subflow({ flow: options.inner }) : options.inner;
    this.concurrency = concurrency;
    this.onError = options.onError ?? 'fail-fast';
    this.items = options.items;
    const owner = `Map "${options.id}"`;
    this.itemRetry = options.itemRetry === undefined ? undefined : parseExecutionOption(RetryOptions, options.itemRetry, owner, 'itemRetry');
    this.itemTimeoutMs =
      options.itemTimeoutMs === undefined ? undefined : parseExecutionOption(TimeoutMs, options.itemTimeoutMs, owner, 'itemTimeoutMs');
  }

  async execute(input: unknown, ctx: NodeContext): Promise<unknown[]> {
    const items = this.items ? await this.items(input, ctx) : input;
    if (!Array.isArray(items)) {
      throw new InvalidArgumentError(`Map "${ctx.nodePath}" needs an array: pass one as its input or give it an items(input) function.`);
    }
    const saved = (ctx.resumeState as MapState | undefined)?.iterations;
    if (saved && saved.length !== items.length) {
      throw new InvalidArgumentError(
        `Map "${ctx.nodePath}" had ${saved.length} items and now has ${items.length}; items must be the same on every attempt. Start a new run.`,
      );
    }
    return new MapRun(this, ctx, items, saved ? [...saved] : items.map(() => null)).execute();
  }

  /** `[i]/<inner path>` addresses input awaited inside iteration i. */
  override inputSchemaFor(subPath: string): z.ZodType | undefined {
    const rest = /^\[\d+\]\/(.*)$/.exec(subPath)?.[1];
    if (rest === undefined || !pathBelongsTo(rest, this.inner.id)) return undefined;
    return this.inner.inputSchemaFor(rest.slice(this.inner.id.length));
  }

  override questions(): Question[] {
    return questionsBelow(`[*]/${this.inner.id}`, this.inner.questions());
  }
} as MapNodeConstructor;

/** One execution of a map over its records. */
class MapRun {
  private readonly abort = new AbortController();
  private readonly failures: IterationFailedError['failures'] = [];
  private waitingOn: PendingInputSignal | undefined;

  constructor(
    private readonly map: MapNode,
    private readonly ctx: NodeContext,
    private readonly items: readonly unknown[],
    private readonly records: Array<IterationRecord | null>,
  ) {}

  async execute(): Promise<unknown[]> {
    const { ctx, map, records } = this;
    const onAbort = () => this.abort.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const todo = records.flatMap((record, i) => (record?.status === 'success' ? [] : [i]));
    let next = 0;
    const worker = async () => {
      while (next < todo.length && !this.abort.signal.aborted) await this.iterate(todo[next++]!);
    };
    try {
      await Promise.all(Array.from({ length: Math.min(map.concurrency, todo.length) }, worker));
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (this.failures.length > 0 || this.waitingOn) await this.save();
    if (this.failures.length > 0) {
      const list = this.failures.map((f) => `[${f.index}] ${f.error.message}`).join('; ');
      const error = new IterationFailedError(
        `Map "${ctx.nodePath}": ${this.failures.length} of ${records.length} iterations failed (${list}). Fix the cause and resume: only failed and unfinished iterations run again.`,
      );
      error.failures = this.failures;
      throw error;
    }
    if (this.waitingOn) throw this.waitingOn;
    return records.map((record) => record!.output);
  }

  private async iterate(index: number): Promise<void> {
    const { ctx, map, records } = this;
    const previous = records[index];
    const attempt = (previous?.attempt ?? 0) + 1;
    const progress = previous?.progress;
    this.set(index, { status: 'running', attempt, ...(progress ? { progress } : {}) });
    try {
      const output = await executeChild(
        ctx,
        {
          node: map.inner,
          nodePath: `${ctx.nodePath}[${index}]/${map.inner.id}`,
          attempt,
          isResumed: previous !== null,
          previous: progress,
          signal: this.abort.signal,
          retry: map.itemRetry,
          timeoutMs: map.itemTimeoutMs,
          onAttempt: (n) => this.set(index, { ...records[index]!, attempt: n }),
          save: (saved) => {
            this.set(index, { ...records[index]!, progress: saved });
            return this.save();
          },
        },
        this.items[index],
      );
      this.set(index, { status: 'success', attempt: records[index]!.attempt, output });
      await this.save();
    } catch (error) {
      this.recordStop(index, error);
    }
  }

  private recordStop(index: number, error: unknown): void {
    const { ctx, map, records } = this;
    const current = records[index]!;
    if (PendingInputSignal.isInstance(error)) {
      this.set(index, { ...current, status: 'pending_input' });
      this.waitingOn ??= error;
      return;
    }
    // Aborted because the run was canceled or a sibling failed fast: it stays `running` and runs again.
    if (this.abort.signal.aborted) return;
    const nodeError = toNodeError(error);
    this.set(index, { ...current, status: 'failure', error: nodeError });
    this.failures.push({ index, nodePath: `${ctx.nodePath}[${index}]/${map.inner.id}`, error: nodeError });
    if (map.onError === 'fail-fast') this.abort.abort(error);
  }

  /** Records are replaced, never changed, and frozen: a save re-encodes only the iterations that moved. */
  private set(index: number, record: IterationRecord): void {
    this.records[index] = Object.freeze(record);
  }

  private save(): Promise<void> {
    return this.ctx.saveProgress(Object.freeze({ iterations: Object.freeze([...this.records]) }) satisfies MapState);
  }
}
