import type { ChangeMessage } from '@savepoint/core';

/**
 * A listener for `subscribe` that keeps what it heard and lets a test wait for a message. Delivery may be
 * asynchronous (another process, a network hop), so tests wait for what must arrive instead of sleeping;
 * what must not arrive is checked after a later message on the same path has.
 */
export class ChangeRecorder {
  readonly messages: ChangeMessage[] = [];
  private readonly waiters: Array<{ matches: (message: ChangeMessage) => boolean; resolve: (message: ChangeMessage) => void }> = [];

  readonly listener = (message: ChangeMessage): void => {
    this.messages.push(message);
    for (const waiter of [...this.waiters]) {
      if (!waiter.matches(message)) continue;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  };

  /** Resolves with the first message (already heard or still to come) that `matches`. */
  waitFor(matches: (message: ChangeMessage) => boolean): Promise<ChangeMessage> {
    const heard = this.messages.find(matches);
    if (heard !== undefined) return Promise.resolve(heard);
    return new Promise((resolve) => this.waiters.push({ matches, resolve }));
  }
}

/** Matches the message of a run with a given seq (tests number their publishes through `seq`). */
export const messageOf =
  (runId: string, seq: number) =>
  (message: ChangeMessage): boolean =>
    message.runId === runId && message.seq === seq;
