import { z } from 'zod';
import { ShuttingDownError } from '../errors.js';
import type { PendingInputContext } from '../models/checkpoint.js';
import { uuidv7 } from '../util/uuidv7.js';
import { assertZodSchema } from '../util/zod-schema.js';
import type { EventBus } from './event-bus.js';
import type { HumanInputChannel, InputAnswer, InputRequest } from './node-context.js';
import { PendingInputSignal } from './pending-input-signal.js';
import type { RunState } from './run-state.js';

export interface InputBrokerOptions {
  runId: string;
  state: RunState;
  events: EventBus;
  /** Answers given to `resume`, already validated (and bound), by nodePath; each is delivered once. */
  answers?: ReadonlyMap<string, unknown>;
  /** Requests recorded by the checkpoint resumed from: a re-asked prompt is the same question (same requestId and request time). */
  previous?: readonly PendingInputContext[];
  channel?: HumanInputChannel;
  /** Commits the run's state; resolves with the committed checkpoint's id, or null if none was (absent when checkpointing is off). */
  commit?: () => Promise<string | null>;
  /** Why the run must stop (a lost lease, a failed write in `fail` mode), once it must. */
  stopped?: () => Error | undefined;
}

/**
 * Serves `ctx.requestInput`: a resume answer, else a live channel's answer, else a pause. Every question
 * gets a requestId; `approval_requested` is emitted only once a checkpoint listing the question is
 * committed, so whoever sees the event and answers at once finds the question stored.
 */
export class InputBroker {
  private readonly answers: Map<string, unknown>;
  /** Questions asked and not answered yet, by nodePath: asking one again is the same question. */
  private readonly open: Map<string, PendingInputContext>;

  constructor(private readonly options: InputBrokerOptions) {
    this.answers = new Map(options.answers);
    this.open = new Map((options.previous ?? []).map((p) => [p.nodePath, p]));
  }

  async request<S extends z.ZodType>(request: InputRequest<S>, nodeId: string, signal: AbortSignal): Promise<z.output<S>> {
    const { runId, events, state, channel } = this.options;
    const { nodePath } = request;
    assertZodSchema(request.schema, `ctx.requestInput schema at "${nodePath}"`);
    if (this.answers.has(nodePath)) {
      const value = this.answers.get(nodePath);
      this.answers.delete(nodePath);
      this.received(this.open.get(nodePath), nodePath, value, nodeId);
      return value as z.output<S>;
    }
    const earlier = this.open.get(nodePath);
    const pending = this.describe(request, earlier);
    const options = { runId, schema: request.schema, signal };
    // Answered while the run was paused: announcing the question again would ask a human who already answered.
    if (earlier && channel?.answered) {
      const given = await this.live(pending, () => channel.answered!(pending, options), options);
      if (given) return this.accept(pending, given.data as z.output<S>, nodeId);
    }
    this.open.set(nodePath, pending);
    state.pending.set(nodePath, pending);
    const checkpointId = await this.commit();
    events.emit('approval_requested', runId, { ...pending, isResumed: earlier !== undefined, ...(checkpointId ? { checkpointId } : {}) }, nodeId);
    if (channel) {
      const given = await this.live(pending, () => channel.request(pending, options), options);
      if (given) return this.accept(pending, given.data as z.output<S>, nodeId);
    }
    throw new PendingInputSignal(pending);
  }

  /** The head stops listing the answered question before the node acts on the answer. */
  private async accept<T>(pending: PendingInputContext, value: T, nodeId: string): Promise<T> {
    this.options.state.pending.delete(pending.nodePath);
    await this.commit();
    this.received(pending, pending.nodePath, value, nodeId);
    return value;
  }

  /** Once answered, a question is closed: a later request at the same nodePath is a new question. */
  private received(question: PendingInputContext | undefined, nodePath: string, value: unknown, nodeId: string): void {
    this.open.delete(nodePath);
    const requestId = question?.requestId;
    this.options.events.emit('approval_received', this.options.runId, { nodePath, ...(requestId ? { requestId } : {}), value }, nodeId);
  }

  /** Commits the state; throws when the run must stop (its lease is lost, or its state cannot be stored). */
  private async commit(): Promise<string | null> {
    const { commit, stopped } = this.options;
    if (!commit) return null;
    const checkpointId = await commit();
    const error = stopped?.();
    if (error) throw error;
    return checkpointId;
  }

  /**
   * A live channel's answer, if it satisfies the schema. The request is committed as pending before a wait,
   * so a process that dies while a human thinks leaves a checkpoint naming the prompt: any worker can
   * resume and re-ask it with its requestId. A channel that fails (the run is canceled) stops listing it.
   */
  private async live(
    pending: PendingInputContext,
    ask: () => Promise<InputAnswer>,
    { schema, signal }: { schema: z.ZodType; signal: AbortSignal },
  ): Promise<z.ZodSafeParseSuccess<unknown> | undefined> {
    let answer: InputAnswer;
    try {
      answer = await ask();
    } catch (error) {
      // A shutdown hands the question over with the run: the checkpoint keeps listing it, with its requestId.
      if (!ShuttingDownError.isInstance(signal.reason)) this.options.state.pending.delete(pending.nodePath);
      throw error;
    }
    const parsed = answer.answered ? schema.safeParse(answer.value) : undefined;
    return parsed?.success ? parsed : undefined;
  }

  private describe(request: InputRequest, earlier: PendingInputContext | undefined): PendingInputContext {
    const requestedAt = earlier?.requestedAt ?? new Date();
    const expiresAt =
      earlier?.expiresAt ?? (request.expiresInMs === undefined ? undefined : new Date(requestedAt.getTime() + request.expiresInMs));
    return {
      nodePath: request.nodePath,
      // A checkpoint written before requestIds existed gets one now; the question keeps it from here on.
      requestId: earlier?.requestId ?? uuidv7(),
      prompt: request.prompt,
      schema: z.toJSONSchema(request.schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>,
      requestedAt,
      ...(expiresAt === undefined ? {} : { expiresAt }),
      metadata: request.metadata ?? {},
    };
  }
}
