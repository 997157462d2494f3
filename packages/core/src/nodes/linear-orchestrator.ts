import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { executeChild, type ChildProgress } from '../engine/child-context.js';
import { Node, type Awaitable, type NodeOptions, type Question, questionsBelow } from '../engine/node.js';
import type { NodeContext } from '../engine/node-context.js';
import { pathBelongsTo } from '../engine/node-path.js';
import type { AnswerMap, DepIds, FlowAnswers, NodeInput, NodeRef, NodeTypes, OpenAnswers, PrefixAnswers, Skippable } from '../engine/node-types.js';
import type { LLM } from '../llm/types.js';
import type { SkipOptions } from './function-node.js';
import { asText, jsonInReply, unusableReply } from './llm-reply.js';

export interface Task {
  description: string;
  /** Id of the agent (worker node) that executes it; default the first one. */
  agent?: string;
}

export type TaskPlanner<I> = (input: I, ctx: NodeContext) => Awaitable<ReadonlyArray<string | Task>>;

export interface LinearOrchestratorOptions<I, Id extends string = string, D extends readonly NodeRef[] = readonly NodeRef[], W extends Node = Node>
  extends NodeOptions<I, Id, D> {
  /** Plans the tasks: an LLM (asked for a JSON task list) or a function. */
  manager: LLM | TaskPlanner<I>;
  /** The workers (usually agents), by id; a task names one. */
  agents: readonly W[];
  /** A worker's input; default: the task's description followed by the previous task's result. */
  taskInput?: (task: Task, previous: unknown, index: number) => unknown;
  /** Most tasks a plan may have (default 20). */
  maxTasks?: number;
}

/** What a linear orchestrator saves: the plan, the results so far (the next task is `results.length`), and the running task's progress. */
export interface LinearOrchestratorState {
  tasks: readonly Task[];
  results: readonly unknown[];
  current?: ChildProgress;
}

export interface LinearOrchestratorOutput {
  tasks: Task[];
  results: unknown[];
  /** The last task's result. */
  output: unknown;
}

const Plan = z.object({ tasks: z.array(z.union([z.string(), z.object({ description: z.string(), agent: z.string().optional() })])) });

/**
 * A manager plans a task list; workers execute the tasks in order, each task's result feeding the next.
 * The plan and every task's result are checkpointed, so a resume neither re-plans nor re-runs a finished
 * task. Paths: the worker of task i runs at `orchestrator[i]/workerId`.
 */
export interface LinearOrchestrator<I = any, Id extends string = string, Deps extends string = string, A extends AnswerMap = OpenAnswers>
  extends Node<I, LinearOrchestratorOutput, Id, Deps> {
  readonly nodeType: 'linear_orchestrator';
  readonly agents: ReadonlyMap<string, Node>;
  readonly maxTasks: number;
  /** Its questions are its workers', in every task: `<id>[i]/<worker>/…`. */
  readonly '~types'?: NodeTypes<I, LinearOrchestratorOutput, PrefixAnswers<`${Id}[${number}]/`, A>>;
  execute(input: I, ctx: NodeContext): Promise<LinearOrchestratorOutput>;
}

/** `new LinearOrchestrator({ id, manager, agents, dependsOn? })`; like `FunctionNode`, its input is inferred from `dependsOn`. */
export interface LinearOrchestratorConstructor {
  new <const Id extends string, W extends Node, I, const D extends readonly NodeRef[] = []>(
    options: LinearOrchestratorOptions<NodeInput<D, I>, Id, D, W> & SkipOptions<NodeInput<D, I>>,
  ): LinearOrchestrator<NodeInput<D, I>, Id, DepIds<D>, FlowAnswers<W>> & Skippable;
  new <const Id extends string, W extends Node, I, const D extends readonly NodeRef[] = []>(
    options: LinearOrchestratorOptions<NodeInput<D, I>, Id, D, W>,
  ): LinearOrchestrator<NodeInput<D, I>, Id, DepIds<D>, FlowAnswers<W>>;
  new <I = any>(options: LinearOrchestratorOptions<NoInfer<I>>): LinearOrchestrator<I>;
  readonly prototype: LinearOrchestrator;
}

export const LinearOrchestrator = class LinearOrchestrator extends Node {
  readonly nodeType = 'linear_orchestrator';
  readonly agents: ReadonlyMap<string, Node>;
  readonly maxTasks: number;
  private readonly manager: LLM | TaskPlanner<unknown>;
  private readonly taskInput: NonNullable<LinearOrchestratorOptions<unknown>['taskInput']>;

  constructor(options: LinearOrchestratorOptions<unknown>) {
    super(options);
    if (options.agents.length === 0) throw new InvalidArgumentError(`LinearOrchestrator "${options.id}" has no agents; pass at least one.`);
    this.agents = new Map(options.agents.map((agent) => [agent.id, agent]));
    this.manager = options.manager;
    this.maxTasks = options.maxTasks ?? 20;
    this.taskInput = options.taskInput ?? defaultTaskInput;
  }

  async execute(input: unknown, ctx: NodeContext): Promise<LinearOrchestratorOutput> {
    let state = (ctx.resumeState as LinearOrchestratorState | undefined) ?? { tasks: await this.plan(input, ctx), results: [] };
    const save = (next: LinearOrchestratorState) => ctx.saveProgress((state = Object.freeze(next)));
    if (!ctx.resumeState) await save(state);
    const [firstAgent] = this.agents.values();
    const resumedAt = ctx.isResumed ? state.results.length : -1;
    for (let index = state.results.length; index < state.tasks.length; index += 1) {
      const task = state.tasks[index]!;
      const agent = this.agents.get(task.agent ?? firstAgent!.id)!;
      const result = await executeChild(
        ctx,
        {
          node: agent,
          nodePath: `${ctx.nodePath}[${index}]/${agent.id}`,
          attempt: ctx.attempt,
          isResumed: index === resumedAt,
          previous: state.current,
          save: (current) => save({ ...state, current }),
        },
        this.taskInput(task, state.results[index - 1], index),
      );
      await save({ tasks: state.tasks, results: Object.freeze([...state.results, result]) });
    }
    return { tasks: [...state.tasks], results: [...state.results], output: state.results[state.results.length - 1] };
  }

  /** `[i]/<workerId>…` addresses input awaited inside task i's worker. */
  override inputSchemaFor(subPath: string): z.ZodType | undefined {
    const rest = /^\[\d+\]\/(.*)$/.exec(subPath)?.[1];
    const agent = rest === undefined ? undefined : [...this.agents.values()].find((a) => pathBelongsTo(rest, a.id));
    return agent?.inputSchemaFor(rest!.slice(agent.id.length));
  }

  override questions(): Question[] {
    return [...this.agents.values()].flatMap((agent) => questionsBelow(`[*]/${agent.id}`, agent.questions()));
  }

  private async plan(input: unknown, ctx: NodeContext): Promise<Task[]> {
    const planned = typeof this.manager === 'function' ? await this.manager(input, ctx) : await this.askManager(this.manager, input, ctx);
    const tasks = planned.map((task) => Object.freeze(typeof task === 'string' ? { description: task } : { ...task }));
    const unknown = tasks.find((task) => task.agent !== undefined && !this.agents.has(task.agent));
    if (unknown) throw unusableReply(`LinearOrchestrator "${ctx.nodePath}": the plan names agent "${unknown.agent}", which is not one of ${[...this.agents.keys()].join(', ')}.`);
    if (tasks.length === 0 || tasks.length > this.maxTasks) {
      throw unusableReply(`LinearOrchestrator "${ctx.nodePath}": the plan has ${tasks.length} tasks; it needs 1 to ${this.maxTasks} (maxTasks).`);
    }
    return Object.freeze(tasks) as Task[];
  }

  private async askManager(llm: LLM, input: unknown, ctx: NodeContext): Promise<ReadonlyArray<string | Task>> {
    const agents = [...this.agents.values()].map((a) => `- ${a.id}: ${a.description ?? 'a worker'}`).join('\n');
    const response = await llm.chat(
      {
        messages: [
          {
            role: 'system',
            content: `You plan work for these agents:\n${agents}\nSplit the goal into at most ${this.maxTasks} tasks done in order, each by one agent. Reply with JSON only: {"tasks":[{"description":"...","agent":"<agent id>"}]}`,
          },
          { role: 'user', content: asText(input) },
        ],
      },
      { signal: ctx.signal, idempotencyKey: ctx.stepKey('plan') },
    );
    const parsed = Plan.safeParse(jsonInReply(response.message.content));
    if (!parsed.success) throw unusableReply(`LinearOrchestrator "${ctx.nodePath}": the manager's plan is not the JSON asked for (${response.message.content.slice(0, 200)}).`);
    return parsed.data.tasks.map((task) => (typeof task === 'string' ? task : { description: task.description, ...(task.agent ? { agent: task.agent } : {}) }));
  }
} as LinearOrchestratorConstructor;

function defaultTaskInput(task: Task, previous: unknown, index: number): string {
  return index === 0 || previous === undefined ? task.description : `${task.description}\n\nResult of the previous task:\n${asText(previous)}`;
}
