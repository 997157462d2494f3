import type { ChangeMessage } from '../store/storage-adapter.js';
import { checkChangeMessage, checkChannel, copyChangeMessage } from './runtime-records.js';

type Listener = (message: ChangeMessage) => void;

/**
 * `subscribe` / `publish` for adapters without a cross-process channel (`notify: 'in-process'`): a
 * publish reaches the listeners registered on the same notifier, i.e. on the same adapter instance.
 * Waiters in other processes (or on other instances) do not hear it and poll the storage instead.
 */
export class InProcessNotifier {
  /** channel (runId or `*`) -> listeners */
  private readonly channels = new Map<string, Set<Listener>>();

  async subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    checkChannel(channel);
    // Each subscription is its own entry, so the same function subscribed twice is delivered twice and
    // unsubscribing one leaves the other.
    const entry: Listener = (message) => listener(message);
    let listeners = this.channels.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.channels.set(channel, listeners);
    }
    listeners.add(entry);
    return async () => {
      const current = this.channels.get(channel);
      if (!current?.delete(entry)) return;
      if (current.size === 0) this.channels.delete(channel);
    };
  }

  /** Delivers before it resolves, to the run's channel and then to `*`. */
  async publish(message: ChangeMessage): Promise<void> {
    checkChangeMessage(message);
    // Snapshot first: a listener that unsubscribes (or subscribes) while being called changes the next publish only.
    const targets = [...(this.channels.get(message.runId) ?? []), ...(this.channels.get('*') ?? [])];
    for (const listener of targets) {
      try {
        listener(copyChangeMessage(message));
      } catch {
        // A listener's failure is its subscriber's business: the publisher has already committed its change
        // and the other subscribers must still hear about it.
      }
    }
  }

  /** Number of live subscriptions (for tests and diagnostics). */
  get size(): number {
    let total = 0;
    for (const listeners of this.channels.values()) total += listeners.size;
    return total;
  }
}
