import type { z } from 'zod';
import { InvalidArgumentError, StepLimitError } from '../errors.js';
import { executeChild, type ChildProgress } from '../engine/child-context.js';
import { Node, type Awaitable, type NodeOptions, type Question, questionsBelow } from '../engine/node.js';
import type { NodeContext } from '../engine/node-context.js';
import { assertSafeId } from '../store/safe-id.js';
import type { AnswerMap, DepIds, MergeAnswers, NodeInput, NodeRef, NodeTypes, OpenAnswers, PrefixAnswers, RenamedAnswers, Skippable } from '../engine/node-types.js';
import type { LLM } from '../llm/types.js';
import type { SkipOptions } from './function-node.js';
import { asText, unusableReply } from './llm-reply.js';

/** The pseudo-state that ends the graph. */
export const END = '__end__';

export interface GraphStep {
  state: string;
  output: unknown;
}

/** What inputs, transitions and context updates see. */
export interface GraphView {
  /** The orchestrator's input. */
  input: unknown;
  context: Readonly<Record<string, unknown>>;
  history: readonly GraphStep[];
  /** The state that just ran (or is about to). */
  state: string;
  /** The latest state's output (undefined before the first). */
  last: unknown;
}

export interface GraphStateDefinition<N extends Node = Node> {
  /** What runs in this state: an agent or any node. Its path is `graph/<state>`. */
  node: N;
  /** States allowed next (`END` to stop). One: taken; several: `choose` or the router LLM picks; none: the graph ends. */
  next?: readonly string[];
  /** Picks the next state (or `END`) after this one ran; must be one of `next` when that is given. */
  choose?: (view: GraphView) => Awaitable<string>;
  /** The node's input; default: the previous state's output, or the graph's input for the first state. */
  input?: (view: GraphView) => unknown;
}

export interface GraphOrchestratorOptions<
  I,
  Id extends string = string,
  D extends readonly NodeRef[] = readonly NodeRef[],
  S extends Readonly<Record<string, GraphStateDefinition>> = Readonly<Record<string, GraphStateDefinition>>,
> extends NodeOptions<I, Id, D> {
  states: S;
  start: string;
  /** Picks among several allowed next states when a state has no `choose`. */
  router?: LLM;
  /** States run before the graph gives up with `StepLimitError` (default 20). */
  maxSteps?: number;
  /** The shared context before the first state (default `{}`). */
  context?: (input: I) => Record<string, unknown>;
  /** Folds a state's output into the shared context; default `{ ...context, [state]: output }`. */
  update?: (context: Readonly<Record<string, unknown>>, step: GraphStep) => Record<string, unknown>;
}

/**
 * What a graph orchestrator saves: the current state (`END` when done), whether it still has to run
 * (`run`) or only to pick its successor (`route`), the shared context, the history, and the running
 * state's progress. Checkpointed after every state and every transition.
 */
export interface GraphOrchestratorState {
  current: string;
  phase: 'run' | 'route';
  context: Readonly<Record<string, unknown>>;
  history: readonly GraphStep[];
  progress?: ChildProgress;
}

export interface GraphOrchestratorOutput {
  /** The last state's output. */
  output: unknown;
  context: Record<string, unknown>;
  history: GraphStep[];
}

/** The answers of a graph's states, each at its state's name. */
type StatesAnswers<S> = MergeAnswers<{ [K in keyof S & string]: S[K] extends GraphStateDefinition<infer N> ? RenamedAnswers<N, K> : OpenAnswers }[keyof S & string]>;

/**
 * Named states, each running a node; transitions chosen by a function or by an LLM among the allowed
 * next states. A resume continues at the state (or transition) where the run stopped.
 */
export interface GraphOrchestrator<I = any, Id extends string = string, Deps extends string = string, A extends AnswerMap = OpenAnswers>
  extends Node<I, GraphOrchestratorOutput, Id, Deps> {
  readonly nodeType: 'graph_orchestrator';
  readonly states: Readonly<Record<string, GraphStateDefinition>>;
  readonly start: string;
  readonly maxSteps: number;
  /** Its questions are its states' nodes', at `<id>/<state>…`. */
  readonly '~types'?: NodeTypes<I, GraphOrchestratorOutput, PrefixAnswers<`${Id}/`, A>>;
  execute(input: I, ctx: NodeContext): Promise<GraphOrchestratorOutput>;
}

/** `new GraphOrchestrator({ id, start, states, dependsOn? })`; like `FunctionNode`, its input is inferred from `dependsOn`. */
export interface GraphOrchestratorConstructor {
  new <const Id extends string, S extends Readonly<Record<string, GraphStateDefinition>>, I, const D extends readonly NodeRef[] = []>(
    options: GraphOrchestratorOptions<NodeInput<D, I>, Id, D, S> & SkipOptions<NodeInput<D, I>>,
  ): GraphOrchestrator<NodeInput<D, I>, Id, DepIds<D>, StatesAnswers<S>> & Skippable;
  new <const Id extends string, S extends Readonly<Record<string, GraphStateDefinition>>, I, const D extends readonly NodeRef[] = []>(
    options: GraphOrchestratorOptions<NodeInput<D, I>, Id, D, S>,
  ): GraphOrchestrator<NodeInput<D, I>, Id, DepIds<D>, StatesAnswers<S>>;
  new <I = any>(options: GraphOrchestratorOptions<NoInfer<I>>): GraphOrchestrator<I>;
  readonly prototype: GraphOrchestrator;
}

export const GraphOrchestrator = class GraphOrchestrator extends Node {
  readonly nodeType = 'graph_orchestrator';
  readonly states: Readonly<Record<string, GraphStateDefinition>>;
  readonly start: string;
  readonly maxSteps: number;
  private readonly options: GraphOrchestratorOptions<unknown>;

  constructor(options: GraphOrchestratorOptions<unknown>) {
    super(options);
    const names = Object.keys(options.states);
    for (const name of names) assertSafeId(name, `GraphOrchestrator "${options.id}" state name`);
    if (names.includes(END)) throw new InvalidArgumentError(`GraphOrchestrator "${options.id}": "${END}" is reserved for END; rename that state.`);
    const known = new Set([...names, END]);
    const check = (name: string, where: string) => {
      if (!known.has(name)) throw new InvalidArgumentError(`GraphOrchestrator "${options.id}": ${where} "${name}" is not a state; use one of ${names.join(', ')} or END.`);
    };
    check(options.start, 'start');
    for (const [name, def] of Object.entries(options.states)) {
      for (const next of def.next ?? []) check(next, `state "${name}" lists next state`);
      if ((def.next?.length ?? 0) > 1 && !def.choose && !options.router) {
        throw new InvalidArgumentError(`GraphOrchestrator "${options.id}": state "${name}" has several next states; give it choose() or the orchestrator a router LLM.`);
      }
    }
    this.states = options.states;
    this.start = options.start;
    this.maxSteps = options.maxSteps ?? 20;
    this.options = options;
  }

  async execute(input: unknown, ctx: NodeContext): Promise<GraphOrchestratorOutput> {
    let state = (ctx.resumeState as GraphOrchestratorState | undefined) ?? {
      current: this.start,
      phase: 'run' as const,
      context: Object.freeze(this.options.context?.(input) ?? {}),
      history: Object.freeze([]),
    };
    const save = (next: GraphOrchestratorState) => ctx.saveProgress((state = Object.freeze(next)));
    const resumedStep = ctx.isResumed ? state.history.length : -1;
    const view = (): GraphView => ({ input, context: state.context, history: state.history, state: state.current, last: state.history[state.history.length - 1]?.output });
    while (state.current !== END) {
      const def = this.states[state.current]!;
      if (state.phase === 'route') {
        await save({ current: await this.route(def, view(), ctx), phase: 'run', context: state.context, history: state.history });
        continue;
      }
      if (state.history.length >= this.maxSteps) {
        throw new StepLimitError(`GraphOrchestrator "${ctx.nodePath}" ran ${this.maxSteps} states without reaching END; raise maxSteps or fix the transitions.`);
      }
      const step = state.history.length;
      const v = view();
      const output = await executeChild(
        ctx,
        {
          node: def.node,
          nodePath: `${ctx.nodePath}/${state.current}`,
          idempotencyKey: ctx.stepKey(`step${step}:${state.current}`),
          attempt: ctx.attempt,
          isResumed: step === resumedStep,
          previous: state.progress,
          save: (progress) => save({ ...state, progress }),
        },
        def.input ? def.input(v) : step === 0 ? input : v.last,
      );
      const record = Object.freeze({ state: state.current, output });
      const update = this.options.update ?? ((context, s) => ({ ...context, [s.state]: s.output }));
      await save({
        current: state.current,
        phase: 'route',
        context: Object.freeze(update(state.context, record)),
        history: Object.freeze([...state.history, record]),
      });
    }
    return { output: state.history[state.history.length - 1]?.output, context: { ...state.context }, history: [...state.history] };
  }

  /** `/<state>…` addresses input awaited inside that state's node. */
  override inputSchemaFor(subPath: string): z.ZodType | undefined {
    const match = /^\/([^/[]+)(.*)$/.exec(subPath);
    const def = match && Object.hasOwn(this.states, match[1]!) ? this.states[match[1]!] : undefined;
    return def?.node.inputSchemaFor(match![2]!);
  }

  override questions(): Question[] {
    return Object.entries(this.states).flatMap(([state, def]) => questionsBelow(`/${state}`, def.node.questions()));
  }

  private async route(def: GraphStateDefinition, view: GraphView, ctx: NodeContext): Promise<string> {
    const allowed = def.next ?? [];
    if (def.choose) {
      const next = await def.choose(view);
      if (!(allowed.length === 0 ? Object.hasOwn(this.states, next) || next === END : allowed.includes(next))) {
        throw new InvalidArgumentError(`GraphOrchestrator "${ctx.nodePath}": choose() of state "${view.state}" returned "${next}", which is not an allowed next state.`);
      }
      return next;
    }
    if (allowed.length === 0) return END;
    if (allowed.length === 1) return allowed[0]!;
    return this.askRouter(this.options.router!, allowed, view, ctx);
  }

  private async askRouter(router: LLM, allowed: readonly string[], view: GraphView, ctx: NodeContext): Promise<string> {
    const response = await router.chat(
      {
        messages: [
          { role: 'system', content: `You route a workflow between states. Reply with exactly one of: ${allowed.join(', ')}.` },
          { role: 'user', content: `State "${view.state}" produced:\n${asText(view.last)}\n\nShared context:\n${asText(view.context)}\n\nWhich state comes next?` },
        ],
      },
      { signal: ctx.signal, idempotencyKey: ctx.stepKey(`route${view.history.length}`) },
    );
    const reply = response.message.content.trim().replace(/^["'`]+|["'`.]+$/g, '');
    const named = allowed.includes(reply) ? [reply] : allowed.filter((name) => new RegExp(`\\b${escapeRegExp(name)}\\b`).test(reply));
    if (named.length !== 1) {
      throw unusableReply(`GraphOrchestrator "${ctx.nodePath}": the router answered "${reply.slice(0, 200)}"; it must name exactly one of ${allowed.join(', ')}.`);
    }
    return named[0]!;
  }
} as GraphOrchestratorConstructor;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
