import { z } from 'zod';
import { StepLimitError } from '../errors.js';
import { withRetries } from '../engine/attempts.js';
import { executeChild, type ChildProgress } from '../engine/child-context.js';
import { systemClock } from '../engine/clock.js';
import type { NodeContext } from '../engine/node-context.js';
import { PendingInputSignal } from '../engine/pending-input-signal.js';
import type { AssistantMessage, ChatMessage, ChatResponse, ToolCall, ToolMessage } from '../llm/types.js';
import type { Agent } from './agent.js';
import { canonicalJson, cloneJson, deepFreeze } from './json-value.js';

/**
 * What an agent saves (stateVersion 1). Every message is frozen and the arrays only grow, so the store
 * re-encodes and rewrites only what a step added.
 */
export interface AgentState {
  messages: readonly ChatMessage[];
  /** LLM calls completed. */
  loop: number;
  /** Finished tool calls, by `${tool}:${canonical JSON of the arguments}`; `at` indexes the result in `messages`. */
  toolCalls: ReadonlyArray<{ key: string; at: number }>;
  /** The tool call to run next (null when none), with the progress its node saved. */
  pending: { id: string; name: string; progress?: ChildProgress } | null;
}

/** One execution of an `Agent`: the loop, its saves, and its resume from a saved `AgentState`. */
export class AgentRun {
  private state: AgentState;
  private readonly finished: Map<string, number>;

  constructor(
    private readonly agent: Agent,
    private readonly ctx: NodeContext,
    firstMessage: () => string,
  ) {
    const saved = ctx.resumeState as AgentState | undefined;
    // Restored state is frozen too, so the first save after a resume re-encodes only what changed.
    this.state = saved ? deepFreeze(saved) : deepFreeze({ messages: initialMessages(agent.system, firstMessage()), loop: 0, toolCalls: [], pending: null });
    this.finished = new Map(this.state.toolCalls.map((c) => [c.key, c.at]));
  }

  async execute(): Promise<string> {
    for (;;) {
      const { messages, loop } = this.state;
      const last = messages[messages.length - 1]!;
      if (last.role === 'assistant' && !last.toolCalls?.length) return last.content;
      const call = nextCall(messages);
      if (call) {
        await this.runTool(call);
        continue;
      }
      if (loop >= this.agent.maxLoops) {
        throw new StepLimitError(
          `Agent "${this.ctx.nodePath}" used all ${this.agent.maxLoops} loops without a final answer; raise maxLoops or narrow the task.`,
        );
      }
      await this.ask(loop + 1);
    }
  }

  private async ask(loop: number): Promise<void> {
    const response = await this.chat(loop);
    // A copy: the history is frozen, and the response's objects belong to the LLM implementation.
    const message: AssistantMessage = deepFreeze({
      role: 'assistant',
      content: response.message.content,
      ...(response.message.toolCalls?.length ? { toolCalls: cloneJson(response.message.toolCalls) } : {}),
    });
    const first = message.toolCalls?.[0];
    await this.save({
      ...this.state,
      messages: [...this.state.messages, message],
      loop,
      pending: first ? { id: first.id, name: first.name } : null,
    });
  }

  /** One LLM call, with the agent's `llmRetry` and `llmTimeoutMs`. */
  private async chat(loop: number): Promise<ChatResponse> {
    const { ctx, agent } = this;
    const request = { messages: this.state.messages, ...(agent.toolSpecs.length ? { tools: agent.toolSpecs } : {}) };
    return withRetries({
      nodeId: agent.id,
      nodePath: `${ctx.nodePath}/llm`,
      policy: agent.llmRetry,
      timeoutMs: agent.llmTimeoutMs,
      clock: ctx.clock ?? systemClock,
      signal: ctx.signal,
      attempt: 1,
      run: (_attempt, signal) =>
        agent.llm.chat(request, {
          signal,
          idempotencyKey: ctx.stepKey(`loop${loop}`),
          onToken: (delta) => ctx.emit('stream_chunk', { nodePath: ctx.nodePath, loop, delta }),
        }),
      emit: (type, data) => ctx.emit(type, data),
    });
  }

  private async runTool(call: ToolCall): Promise<void> {
    const key = `${call.name}:${canonicalJson(call.arguments)}`;
    const replayedAt = this.finished.get(key);
    // A finished call is replayed from the record: a tool runs once per run, however often it is resumed.
    const result =
      replayedAt === undefined ? await this.invoke(call) : { content: (this.state.messages[replayedAt] as ToolMessage).content, ok: true };
    const message: ToolMessage = Object.freeze({ role: 'tool', toolCallId: call.id, name: call.name, content: result.content });
    const messages = [...this.state.messages, message];
    const recorded = replayedAt === undefined && result.ok;
    const toolCalls = recorded ? [...this.state.toolCalls, Object.freeze({ key, at: messages.length - 1 })] : this.state.toolCalls;
    if (recorded) this.finished.set(key, messages.length - 1);
    const next = nextCall(messages);
    await this.save({ ...this.state, messages, toolCalls, pending: next ? { id: next.id, name: next.name } : null });
  }

  /** Runs the tool's node; `ok` is false when the result is an error the model should see. */
  private async invoke(call: ToolCall): Promise<{ content: string; ok: boolean }> {
    const { agent, ctx } = this;
    const node = agent.tools.get(call.name);
    if (!node) return { content: `Error: there is no tool named "${call.name}"; available: ${[...agent.tools.keys()].join(', ') || 'none'}.`, ok: false };
    let args: unknown = cloneJson(call.arguments);
    if (node.argsSchema) {
      const parsed = node.argsSchema.safeParse(args);
      if (!parsed.success) return { content: `Error: invalid arguments for "${call.name}": ${z.prettifyError(parsed.error)}`, ok: false };
      args = parsed.data;
    }
    const pending = this.state.pending?.id === call.id ? this.state.pending : undefined;
    try {
      const output = await executeChild(
        ctx,
        {
          node,
          nodePath: `${ctx.nodePath}/tool:${node.id}`,
          idempotencyKey: ctx.stepKey(`loop${this.state.loop}:${call.id}`),
          attempt: ctx.attempt,
          isResumed: ctx.isResumed && pending !== undefined,
          previous: pending?.progress,
          save: (progress) => this.save({ ...this.state, pending: { id: call.id, name: call.name, progress } }),
        },
        args,
      );
      return { content: typeof output === 'string' ? output : (JSON.stringify(output) ?? ''), ok: true };
    } catch (error) {
      if (PendingInputSignal.isInstance(error) || agent.onToolError === 'fail' || ctx.signal.aborted) throw error;
      return { content: `Error: ${error instanceof Error ? error.message : String(error)}`, ok: false };
    }
  }

  private save(next: AgentState): Promise<void> {
    this.state = Object.freeze({ ...next, messages: Object.freeze(next.messages), toolCalls: Object.freeze(next.toolCalls) });
    return this.ctx.saveProgress(this.state);
  }
}

function initialMessages(system: string | undefined, user: string): ChatMessage[] {
  return [...(system === undefined ? [] : [{ role: 'system' as const, content: system }]), { role: 'user', content: user }];
}

/** The first tool call of the last assistant message that has no result yet. */
function nextCall(messages: readonly ChatMessage[]): ToolCall | undefined {
  let i = messages.length - 1;
  const answered = new Set<string>();
  for (; i >= 0 && messages[i]!.role === 'tool'; i -= 1) answered.add((messages[i] as ToolMessage).toolCallId);
  const assistant = messages[i];
  if (assistant?.role !== 'assistant') return undefined;
  return assistant.toolCalls?.find((call) => !answered.has(call.id));
}
