import type { CheckpointStore, HumanInputChannel, InputAnswer, InputRecord, PendingInputContext, StorageAdapter } from '@savepoint/core';
import type { z } from 'zod';
import { openAnswer, type StoredAnswer } from './answer-inbox.js';
import type { ChangeFeed, Watch } from './change-feed.js';

/** nodePath of an inbox record that asks the run's owner to cancel it (posted when another process holds the run). */
export const CANCEL_PATH = '$cancel';

export type InboxAdapter = StorageAdapter & Required<Pick<StorageAdapter, 'putInput' | 'takeInputs' | 'getInput'>>;

export interface InboxChannelOptions {
  adapter: InboxAdapter;
  feed: ChangeFeed;
  runId: string;
  /** The run's workflow store: answers are sealed with it. */
  store: CheckpointStore;
  /** Recorded as `consumedBy` on the inputs this channel takes. */
  consumer: string;
  /** How long one request waits for an answer before the run pauses as `pending_input`. */
  timeoutMs: number;
  /** A cancel request arrived through the inbox. */
  onCancel: () => void;
  onError: (error: unknown, context: string) => void;
}

/**
 * The live `HumanInputChannel` of one run execution: waits on the backend's inbox (woken by change
 * notifications, polling otherwise) up to `timeoutMs`. Taking inputs consumes every unconsumed answer of
 * the run at once, so answers for questions other than the caller's are kept here, by requestId, for the
 * requests of the same execution (several HumanInputs may wait at once); an answer is only ever delivered to
 * the question it names. Whatever is left when the execution pauses is handed back through `leftovers()`
 * so the runtime can resume with the answers still meant for a pending question, and drop the others.
 */
export class InboxChannel implements HumanInputChannel {
  private readonly stash = new Map<string, StoredAnswer>();
  private readonly watches = new Set<Watch>();
  private closed = false;

  constructor(private readonly options: InboxChannelOptions) {}

  async request(pending: PendingInputContext, { schema, signal }: { runId: string; schema: z.ZodType; signal: AbortSignal }): Promise<InputAnswer> {
    const { feed, runId, timeoutMs } = this.options;
    const deadline = Date.now() + timeoutMs;
    const watch = feed.watch(runId, 'input');
    this.watches.add(watch);
    const onAbort = () => watch.wake();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        await this.take();
        const answer = this.claim(pending, schema);
        if (answer) return answer;
        const remaining = deadline - Date.now();
        if (remaining <= 0 || this.closed || signal.aborted) return { answered: false };
        await watch.changed(remaining);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.watches.delete(watch);
      watch.close();
    }
  }

  /** An answer posted while the run was paused: the resumed run takes it without asking again. */
  async answered(pending: PendingInputContext, { schema }: { schema: z.ZodType }): Promise<InputAnswer> {
    await this.take();
    return this.claim(pending, schema) ?? { answered: false };
  }

  /** Makes every waiting request give up now (the run pauses and releases its lease). */
  close(): void {
    this.closed = true;
    for (const watch of this.watches) watch.wake();
  }

  /** Answers taken from the inbox but not delivered. */
  leftovers(): StoredAnswer[] {
    return [...this.stash.values()];
  }

  private async take(): Promise<void> {
    const { adapter, runId, store, consumer, onCancel, onError } = this.options;
    let taken: InputRecord[];
    try {
      taken = await adapter.takeInputs(runId, consumer);
    } catch (error) {
      // A backend blip: nothing was consumed, so the next round simply tries again.
      onError(error, `taking inputs of run ${runId}`);
      return;
    }
    for (const record of taken) {
      if (record.nodePath === CANCEL_PATH) {
        onCancel();
        continue;
      }
      let answer: StoredAnswer | undefined;
      try {
        answer = openAnswer(store, record);
      } catch (error) {
        // A record that fails to open was tampered with: never delivered.
        onError(error, `opening an answer to run ${runId}`);
        continue;
      }
      if (answer) this.stash.set(answer.requestId, answer);
    }
    // Other requests of this run may be waiting for what was just taken.
    if (taken.length > 0) for (const watch of this.watches) watch.wake();
  }

  /** The answer to exactly this question (validated when posted; checked again against the schema the node asks with). */
  private claim(pending: PendingInputContext, schema: z.ZodType): InputAnswer | undefined {
    const answer = pending.requestId === undefined ? undefined : this.stash.get(pending.requestId);
    if (!answer || answer.nodePath !== pending.nodePath || !schema.safeParse(answer.value).success) return undefined;
    this.stash.delete(pending.requestId!);
    return { answered: true, value: answer.value };
  }
}
