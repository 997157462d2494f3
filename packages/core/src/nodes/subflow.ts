import type { z } from 'zod';
import type { Flow } from '../engine/flow.js';
import { FlowRun, type Committer } from '../engine/flow-run.js';
import { Node, type NodeOptions, type Question, questionsBelow } from '../engine/node.js';
import type { AnswerMap, DepIds, NodeRef, NodeTypes, OpenAnswers, PrefixAnswers } from '../engine/node-types.js';
import type { NodeContext } from '../engine/node-context.js';
import { RunState } from '../engine/run-state.js';
import type { NodeCheckpointState } from '../models/checkpoint.js';

export interface SubflowOptions<I, Id extends string = string, D extends readonly NodeRef[] = readonly NodeRef[]>
  extends Omit<NodeOptions<I, Id, D>, 'id'> {
  /** Defaults to the flow's id. */
  id?: Id;
  flow: Flow;
}


/** What a subflow saves: its nodes' states, exactly like a top-level run records them. */
export interface SubflowState {
  nodeStates: Record<string, NodeCheckpointState>;
}

/**
 * A flow used as a node (a `Map` wraps a `Flow` inner in one). Its nodes run with paths below this
 * node's (`outer/inner-node`), and every completion inside is a mid-node checkpoint of the outer run,
 * so a resume skips the inner nodes that finished. Its input and output are the flow's.
 */
export interface Subflow<I = any, O = any, Id extends string = string, Deps extends string = string, A extends AnswerMap = OpenAnswers>
  extends Node<I, O, Id, Deps> {
  readonly nodeType: 'subflow';
  readonly flow: Flow;
  readonly '~types'?: NodeTypes<I, O, PrefixAnswers<`${Id}/`, A>>;
  execute(input: I, ctx: NodeContext): Promise<O>;
}

/** `new Subflow({ flow, id?, dependsOn? })`: typed by its flow. */
export interface SubflowConstructor {
  new <I, O, A extends AnswerMap, const FlowId extends string, const D extends readonly NodeRef[] = [], const Id extends string = FlowId>(
    options: SubflowOptions<I, Id, D> & { flow: Flow<I, O, A, FlowId> },
  ): Subflow<I, O, Id, DepIds<D>, A>;
  new <I = any, O = any>(options: SubflowOptions<NoInfer<I>>): Subflow<I, O>;
  readonly prototype: Subflow;
}

export const Subflow = class Subflow extends Node {
  readonly nodeType = 'subflow';
  readonly flow: Flow;

  constructor(options: SubflowOptions<unknown>) {
    super({ ...options, id: options.id ?? options.flow.id });
    this.flow = options.flow;
  }

  async execute(input: unknown, ctx: NodeContext): Promise<unknown> {
    const saved = ctx.resumeState as SubflowState | undefined;
    const state = new RunState(
      this.flow.nodes.map((node) => node.id),
      saved?.nodeStates,
    );
    const outcome = await new FlowRun({
      flow: this.flow,
      workflowId: ctx.workflowId,
      runId: ctx.runId,
      input,
      state,
      broker: { request: (request) => ctx.requestInput(request) },
      // Inner lifecycle events would read as the outer node's own; custom ones (stream_chunk...) pass through.
      events: { emit: (type, _runId, data) => (type.startsWith('node_') ? undefined : ctx.emit(type, data)) },
      writer: new ProgressCommitter(() => ctx.saveProgress({ nodeStates: { ...state.nodeStates } } satisfies SubflowState)),
      policy: { afterNode: true, onFailure: true, midNode: true, exclude: new Set(), sync: true },
      signal: ctx.signal,
      pathPrefix: `${ctx.nodePath}/`,
      ...(ctx.clock ? { clock: ctx.clock } : {}),
    }).execute();
    if (outcome.status === 'success') return outcome.output;
    throw outcome.waitingOn ?? outcome.error;
  }

  override inputSchemaFor(subPath: string): z.ZodType | undefined {
    return subPath.startsWith('/') ? this.flow.inputSchemaFor(subPath.slice(1)) : undefined;
  }

  override questions(): Question[] {
    return questionsBelow('/', this.flow.questions());
  }
} as SubflowConstructor;

/** Commits a nested run by saving it into the outer node's progress. */
class ProgressCommitter implements Committer {
  error: Error | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly save: () => Promise<void>) {}

  request(): Promise<void> {
    if (this.error) return Promise.resolve();
    const saving: Promise<void> = this.save()
      .catch((error: unknown) => {
        this.error ??= error instanceof Error ? error : new Error(String(error));
      })
      .finally(() => this.inFlight.delete(saving));
    this.inFlight.add(saving);
    return saving;
  }

  async flush(): Promise<void> {
    await Promise.all(this.inFlight);
  }
}
