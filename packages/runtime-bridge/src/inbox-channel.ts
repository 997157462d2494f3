import type { HumanInputChannel, InputAnswer, InputRecord, PendingInputContext, StorageAdapter } from '@savepoint/core';
import type { z } from 'zod';
import type { ChangeFeed, Watch } from './change-feed.js';

/** nodePath of an inbox record that asks the run's owner to cancel it (posted when another process holds the run). */
export const CANCEL_PATH = '$cancel';

export type InboxAdapter = StorageAdapter & Required<Pick<StorageAdapter, 'putInput' | 'takeInputs' | 'getInput'>>;

export interface InboxChannelOptions {
  adapter: InboxAdapter;
  feed: ChangeFeed;
  runId: string;
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
 * the run at once, so answers for prompts other than the caller's are kept here for the requests of the
 * same execution (several HumanInputs may wait at once); whatever is left when the execution pauses is
 * handed back through `leftovers()` so the runtime can resume with it.
 */
export class InboxChannel implements HumanInputChannel {
  private readonly stash = new Map<string, unknown[]>();
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
        const answer = this.claim(pending.nodePath, schema);
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

  /** Makes every waiting request give up now (the run pauses and releases its lease). */
  close(): void {
    this.closed = true;
    for (const watch of this.watches) watch.wake();
  }

  /** Answers taken from the inbox but not delivered, by nodePath (the oldest answer for each). */
  leftovers(): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const [nodePath, values] of this.stash) if (values.length > 0) out.set(nodePath, values[0]);
    return out;
  }

  private async take(): Promise<void> {
    const { adapter, runId, consumer, onCancel, onError } = this.options;
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
      let value: unknown;
      try {
        value = JSON.parse(record.value);
      } catch {
        continue;
      }
      const values = this.stash.get(record.nodePath) ?? [];
      values.push(value);
      this.stash.set(record.nodePath, values);
    }
    // Other requests of this run may be waiting for what was just taken.
    if (taken.length > 0) for (const watch of this.watches) watch.wake();
  }

  /**
   * The oldest stashed answer for the path that satisfies its schema (answers were validated when
   * posted). The others for that path are answers to the same question from other devices: dropped,
   * so a later question at the same path is never answered by a stale duplicate.
   */
  private claim(nodePath: string, schema: z.ZodType): InputAnswer | undefined {
    const values = this.stash.get(nodePath) ?? [];
    const index = values.findIndex((candidate) => schema.safeParse(candidate).success);
    if (index < 0) return undefined;
    this.stash.delete(nodePath);
    return { answered: true, value: values[index] };
  }
}
