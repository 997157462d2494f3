import type { ChangeMessage, Logger, StorageAdapter } from '@savepoint/core';

type Kind = ChangeMessage['kind'];

/**
 * Tells waiters in this process that a run changed (new events, a new input), so they re-read storage
 * instead of sleeping. Uses the adapter's `subscribe`/`publish` when it has them (one `*` subscription,
 * fanned out here) and plain in-process dispatch otherwise. Notifications are hints, never data: a
 * waiter always re-reads, and every wait is also bounded by the poll interval, which is what makes an
 * answer posted to another process arrive when the adapter only notifies in-process (or loses a message).
 */
export class ChangeFeed {
  /** Upper bound of one wait: short unless the adapter notifies across processes. */
  readonly pollMs: number;
  private readonly watches = new Map<string, Set<Watch>>();
  /** Listeners to one kind of change on any run (e.g. the reaper, to runs handed over by another process). */
  private readonly listeners = new Set<{ kind: Kind; listener: (runId: string) => void }>();
  private readonly ready: Promise<void>;
  private unsubscribe: (() => Promise<void>) | undefined;
  private closed = false;

  constructor(
    private readonly adapter: StorageAdapter,
    pollIntervalMs: number,
    private readonly onError: (error: unknown, context: string) => void,
    logger: Logger,
  ) {
    const { notify, multiProcess } = adapter.capabilities;
    const crossProcess = notify === 'cross-process' && adapter.subscribe !== undefined;
    // With real cross-process notification the poll is only a safety net for lost messages.
    this.pollMs = crossProcess ? Math.max(pollIntervalMs, 5_000) : pollIntervalMs;
    if (!crossProcess && multiProcess) {
      logger.info(
        `The "${adapter.name}" backend does not notify other processes of changes: answers and events from another process are found by polling every ${this.pollMs} ms (pollIntervalMs).`,
        { backend: adapter.name, pollIntervalMs: this.pollMs },
      );
    }
    // Only a declared capability is used: an adapter may have `subscribe` and still be unable to (PostgresBackend on a Kysely instance).
    this.ready = notify !== undefined ? this.subscribe() : Promise.resolve();
  }

  /** Starts watching a run before the caller reads storage, so a change in between is not missed. */
  watch(runId: string, kind: Kind): Watch {
    const watch = new Watch(kind, this.pollMs, (w) => this.watches.get(runId)?.delete(w));
    let set = this.watches.get(runId);
    if (!set) this.watches.set(runId, (set = new Set()));
    set.add(watch);
    return watch;
  }

  /** Calls `listener` with the runId of every `kind` change this process hears of; returns the unsubscribe function. */
  listen(kind: Kind, listener: (runId: string) => void): () => void {
    const entry = { kind, listener };
    this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  async notify(message: ChangeMessage): Promise<void> {
    await this.ready;
    if (this.unsubscribe && this.adapter.publish) {
      // The adapter delivers to every subscriber including ours, so no local dispatch (no duplicates).
      try {
        await this.adapter.publish(message);
        return;
      } catch (error) {
        this.onError(error, 'publishing a change notification');
      }
    }
    this.dispatch(message);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.ready;
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    await unsubscribe?.().catch((error: unknown) => this.onError(error, 'unsubscribing from change notifications'));
    for (const set of this.watches.values()) for (const watch of set) watch.wake();
  }

  private async subscribe(): Promise<void> {
    if (!this.adapter.subscribe) return;
    try {
      const unsubscribe = await this.adapter.subscribe('*', (message) => this.dispatch(message));
      if (this.closed) await unsubscribe();
      else this.unsubscribe = unsubscribe;
    } catch (error) {
      this.onError(error, 'subscribing to change notifications (falling back to polling)');
    }
  }

  private dispatch(message: ChangeMessage): void {
    for (const watch of this.watches.get(message.runId) ?? []) if (watch.kind === message.kind) watch.wake();
    for (const { kind, listener } of this.listeners) if (kind === message.kind) listener(message.runId);
  }
}

/** One waiter's view of a run: `changed()` resolves on the next change (or one seen since the last call). */
export class Watch {
  private pending = false;
  private resolve: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly kind: Kind,
    private readonly pollMs: number,
    private readonly detach: (watch: Watch) => void,
  ) {}

  /** Resolves on a change, on `wake()`, or after `min(maxWaitMs, poll interval)`. */
  changed(maxWaitMs = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(() => this.wake(), Math.max(0, Math.min(maxWaitMs, this.pollMs)));
    });
  }

  wake(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const resolve = this.resolve;
    this.resolve = undefined;
    if (resolve) resolve();
    else this.pending = true;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.detach(this);
    this.resolve?.();
    this.resolve = undefined;
  }
}
