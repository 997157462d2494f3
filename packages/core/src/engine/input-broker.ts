import { z } from 'zod';
import type { PendingInputContext } from '../models/checkpoint.js';
import type { EventBus } from './event-bus.js';
import type { HumanInputChannel, InputRequest } from './node-context.js';
import { PendingInputSignal } from './pending-input-signal.js';
import type { RunState } from './run-state.js';

export interface InputBrokerOptions {
  runId: string;
  state: RunState;
  events: EventBus;
  /** Answers given to `resume`, already validated, by nodePath; each is delivered once. */
  answers?: ReadonlyMap<string, unknown>;
  /** Requests recorded by the checkpoint resumed from: a re-asked prompt keeps its request time. */
  previous?: readonly PendingInputContext[];
  channel?: HumanInputChannel;
  /** Commits a checkpoint (absent when checkpointing is off). */
  commit?: () => Promise<void>;
}

/** Serves `ctx.requestInput`: a resume answer, else a live channel's answer, else a pause. */
export class InputBroker {
  private readonly answers: Map<string, unknown>;
  private readonly previous: ReadonlyMap<string, PendingInputContext>;

  constructor(private readonly options: InputBrokerOptions) {
    this.answers = new Map(options.answers);
    this.previous = new Map((options.previous ?? []).map((p) => [p.nodePath, p]));
  }

  async request<S extends z.ZodType>(request: InputRequest<S>, nodeId: string, signal: AbortSignal): Promise<z.output<S>> {
    const { runId, events, state, channel } = this.options;
    if (this.answers.has(request.nodePath)) {
      const value = this.answers.get(request.nodePath);
      this.answers.delete(request.nodePath);
      events.emit('approval_received', runId, { nodePath: request.nodePath, value }, nodeId);
      return value as z.output<S>;
    }
    const earlier = this.previous.get(request.nodePath);
    const pending = this.describe(request, earlier);
    events.emit('approval_requested', runId, { ...pending, isResumed: earlier !== undefined }, nodeId);
    state.pending.set(pending.nodePath, pending);
    if (channel) {
      const parsed = await this.waitLive(channel, pending, request.schema, signal);
      if (parsed?.success) {
        events.emit('approval_received', runId, { nodePath: request.nodePath, value: parsed.data }, nodeId);
        return parsed.data as z.output<S>;
      }
    }
    throw new PendingInputSignal(pending);
  }

  /**
   * The request is committed as pending before the wait, so a process that dies while a human thinks
   * leaves a checkpoint naming the prompt: any worker can resume and re-ask it with its request time.
   */
  private async waitLive(
    channel: HumanInputChannel,
    pending: PendingInputContext,
    schema: z.ZodType,
    signal: AbortSignal,
  ): Promise<z.ZodSafeParseResult<unknown> | undefined> {
    const { state, runId, commit } = this.options;
    try {
      await commit?.();
      const answer = await channel.request(pending, { runId, schema, signal });
      const parsed = answer.answered ? schema.safeParse(answer.value) : undefined;
      if (parsed?.success) state.pending.delete(pending.nodePath);
      return parsed;
    } catch (error) {
      state.pending.delete(pending.nodePath);
      throw error;
    }
  }

  private describe(request: InputRequest, earlier: PendingInputContext | undefined): PendingInputContext {
    const requestedAt = earlier?.requestedAt ?? new Date();
    const expiresAt =
      earlier?.expiresAt ?? (request.expiresInMs === undefined ? undefined : new Date(requestedAt.getTime() + request.expiresInMs));
    return {
      nodePath: request.nodePath,
      prompt: request.prompt,
      schema: z.toJSONSchema(request.schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
      requestedAt,
      ...(expiresAt === undefined ? {} : { expiresAt }),
      metadata: request.metadata ?? {},
    };
  }
}
