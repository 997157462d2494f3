import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { Node, type NodeOptions, type Question, questionsBelow } from '../engine/node.js';
import type { NodeContext } from '../engine/node-context.js';
import { pathBelongsTo } from '../engine/node-path.js';
import { NO_RETRY, parseExecutionOption, RetryOptions, type RetryPolicy, TimeoutMs } from '../engine/retry-policy.js';
import type { AnswerMap, DepIds, FlowAnswers, NodeInput, NodeRef, NodeTypes, OpenAnswers, PrefixAnswers, Skippable } from '../engine/node-types.js';
import type { LLM, ToolSpec } from '../llm/types.js';
import type { SkipOptions } from './function-node.js';
import { AgentRun } from './agent-run.js';

export interface AgentOptions<I, Id extends string = string, D extends readonly NodeRef[] = readonly NodeRef[], T extends Node = Node> extends NodeOptions<I, Id, D> {
  llm: LLM;
  /** Nodes the model may call: `tool({...})` functions, `HumanInput`, other agents, any node. Named by their id. */
  tools?: readonly T[];
  /** The system message. */
  system?: string;
  /** Turns the input into the first user message; default: a string as is, `{ task }` its task, anything else as JSON. */
  prompt?: (input: I) => string;
  /** LLM calls allowed before the agent gives up with `StepLimitError` (default 10). */
  maxLoops?: number;
  /**
   * What a tool that throws does: `'fail'` (default) fails the agent, and a resume calls that tool again;
   * `'report'` sends the error to the model as the tool's result and lets it carry on.
   */
  onToolError?: 'fail' | 'report';
  /**
   * Attempts of each LLM call when it throws (default: one). Every attempt sends the same `idempotencyKey`;
   * events name the call `<agent path>/llm`. The node's own `retry` re-runs the whole agent from its saved loop.
   */
  llmRetry?: RetryOptions;
  /** Each LLM call attempt's time limit: past it the call's signal aborts and the attempt fails with `NodeTimeoutError`. */
  llmTimeoutMs?: number;
}

/**
 * A tool-calling (ReAct) loop over an `LLM`. Its state (messages, loop index, finished tool calls, the
 * pending tool call) is saved after every LLM answer and every tool result, so a resume continues at the
 * next step: a finished loop is never asked again, and a finished tool call is never run again.
 * Output: the final answer's text.
 */
export interface Agent<I = any, Id extends string = string, Deps extends string = string, A extends AnswerMap = OpenAnswers>
  extends Node<I, string, Id, Deps> {
  readonly nodeType: 'agent';
  readonly llm: LLM;
  readonly tools: ReadonlyMap<string, Node>;
  readonly toolSpecs: readonly ToolSpec[];
  readonly system: string | undefined;
  readonly maxLoops: number;
  readonly onToolError: 'fail' | 'report';
  readonly llmRetry: RetryPolicy;
  readonly llmTimeoutMs: number | undefined;
  /** Its questions are its tools' (`HumanInput` tools ask at `<agent>/tool:<id>`). */
  readonly '~types'?: NodeTypes<I, string, PrefixAnswers<`${Id}/tool:`, A>>;
  execute(input: I, ctx: NodeContext): Promise<string>;
}

/** `new Agent({ id, llm, tools?, dependsOn?, prompt? })`; like `FunctionNode`, its input is inferred from `dependsOn`. */
export interface AgentConstructor {
  new <const Id extends string, T extends Node, I, const D extends readonly NodeRef[] = []>(
    options: AgentOptions<NodeInput<D, I>, Id, D, T> & SkipOptions<NodeInput<D, I>>,
  ): Agent<NodeInput<D, I>, Id, DepIds<D>, FlowAnswers<T>> & Skippable;
  new <const Id extends string, T extends Node, I, const D extends readonly NodeRef[] = []>(
    options: AgentOptions<NodeInput<D, I>, Id, D, T>,
  ): Agent<NodeInput<D, I>, Id, DepIds<D>, FlowAnswers<T>>;
  new <I = any>(options: AgentOptions<NoInfer<I>>): Agent<I>;
  readonly prototype: Agent;
}

export const Agent = class Agent extends Node {
  readonly nodeType = 'agent';
  readonly llm: LLM;
  readonly tools: ReadonlyMap<string, Node>;
  readonly toolSpecs: readonly ToolSpec[];
  readonly system: string | undefined;
  readonly maxLoops: number;
  readonly onToolError: 'fail' | 'report';
  readonly llmRetry: RetryPolicy;
  readonly llmTimeoutMs: number | undefined;
  private readonly prompt: (input: unknown) => string;

  constructor(options: AgentOptions<unknown>) {
    super({ argsSchema: AGENT_ARGS, ...options });
    const maxLoops = options.maxLoops ?? 10;
    if (!Number.isInteger(maxLoops) || maxLoops < 1) {
      throw new InvalidArgumentError(`Agent "${options.id}": maxLoops must be a positive integer, got ${maxLoops}.`);
    }
    this.llm = options.llm;
    this.system = options.system;
    this.maxLoops = maxLoops;
    this.onToolError = options.onToolError ?? 'fail';
    this.prompt = options.prompt ?? defaultPrompt;
    const owner = `Agent "${options.id}"`;
    this.llmRetry = options.llmRetry === undefined ? NO_RETRY : parseExecutionOption(RetryOptions, options.llmRetry, owner, 'llmRetry');
    this.llmTimeoutMs =
      options.llmTimeoutMs === undefined ? undefined : parseExecutionOption(TimeoutMs, options.llmTimeoutMs, owner, 'llmTimeoutMs');
    const tools = new Map<string, Node>();
    for (const node of options.tools ?? []) {
      if (tools.has(node.id)) throw new InvalidArgumentError(`Agent "${options.id}": two tools are named "${node.id}"; tool names must be unique.`);
      tools.set(node.id, node);
    }
    this.tools = tools;
    this.toolSpecs = [...tools.values()].map(toolSpec);
  }

  execute(input: unknown, ctx: NodeContext): Promise<string> {
    return new AgentRun(this, ctx, () => this.prompt(input)).execute();
  }

  /** `/tool:<name>…` addresses input awaited by a tool (or below it, for an agent used as a tool). */
  override inputSchemaFor(subPath: string): z.ZodType | undefined {
    const match = /^\/tool:(.*)$/.exec(subPath);
    if (!match) return undefined;
    const tool = [...this.tools.values()].find((t) => pathBelongsTo(match[1]!, t.id));
    return tool?.inputSchemaFor(match[1]!.slice(tool.id.length));
  }

  override questions(): Question[] {
    return [...this.tools.values()].flatMap((tool) => questionsBelow(`/tool:${tool.id}`, tool.questions()));
  }
} as AgentConstructor;

/** What the model passes when an agent is another agent's tool. */
const AGENT_ARGS = z.object({ task: z.string().describe('What to do, with everything needed to do it') });

function defaultPrompt(input: unknown): string {
  if (typeof input === 'string') return input;
  const task = (input as { task?: unknown } | null)?.task;
  return typeof task === 'string' ? task : JSON.stringify(input);
}

function toolSpec(node: Node): ToolSpec {
  return {
    name: node.id,
    description: node.description ?? `Runs "${node.id}".`,
    parameters: node.argsSchema
      ? (z.toJSONSchema(node.argsSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>)
      : { type: 'object', additionalProperties: true },
  };
}
