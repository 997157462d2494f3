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
    if (channel) {
      const answer = await channel.request(pending, { runId, schema: request.schema, signal });
      const parsed = answer.answered ? request.schema.safeParse(answer.value) : undefined;
      if (parsed?.success) {
        events.emit('approval_received', runId, { nodePath: request.nodePath, value: parsed.data }, nodeId);
        return parsed.data as z.output<S>;
      }
    }
    state.pending.set(pending.nodePath, pending);
    throw new PendingInputSignal(pending);
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
