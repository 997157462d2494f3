import { SavepointError, type StorageAdapter } from '@savepoint/core';
import type { CatalogEntry } from './workflow-catalog.js';
import type { InboxAdapter } from './inbox-channel.js';
import type { RunRegistry } from './run-registry.js';
import { CONTENDED_CODES, FINISHED } from './run-status.js';

export interface DeliveryGuardOptions {
  adapter: InboxAdapter & StorageAdapter;
  registry: RunRegistry;
  /** Resumes the run in this process (implicit resume); rejects with `RunLockedError` when it is held. */
  resume: (runId: string, entry: CatalogEntry) => Promise<void>;
  pollMs: number;
  onError: (error: unknown, context: string) => void;
}

const MAX_DELAY_MS = 2_000;

/**
 * Makes sure a posted answer reaches its run. If nobody holds the run, it is resumed here at once
 * (implicit resume) and the new execution takes the answer from the inbox. If a worker holds it, that
 * worker's live channel takes it, unless the worker is just giving up (timeout, crash): then the lease
 * frees without the answer consumed, and the guard resumes the run as soon as it can. It stops when
 * the answers are consumed, the run is finished, or the runtime closes.
 */
export class DeliveryGuard {
  private readonly active = new Set<Promise<void>>();
  private readonly sleepers = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: DeliveryGuardOptions) {}

  track(runId: string, entry: CatalogEntry, keys: readonly string[]): void {
    if (this.closed) return;
    const loop = this.deliver(runId, entry, keys)
      .catch((error: unknown) => this.options.onError(error, `delivering answers to run ${runId}`))
      .finally(() => this.active.delete(loop));
    this.active.add(loop);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.sleepers) wake();
    await Promise.all(this.active);
  }

  private async deliver(runId: string, entry: CatalogEntry, keys: readonly string[]): Promise<void> {
    const { adapter, registry, resume, pollMs } = this.options;
    for (let delay = pollMs; !this.closed; delay = Math.min(delay * 2, MAX_DELAY_MS)) {
      const records = await Promise.all(keys.map((key) => adapter.getInput(runId, key)));
      if (records.every((record) => record === null || record.consumedBy !== null)) return;
      const headId = await adapter.getHead(runId);
      const head = headId === null ? null : await adapter.getHeader(headId);
      if (!head || FINISHED.has(head.status)) return;
      if (!registry.has(runId)) {
        try {
          await resume(runId, entry);
          return;
        } catch (error) {
          if (!(SavepointError.isInstance(error) && CONTENDED_CODES.has(error.code))) throw error;
        }
      }
      await this.sleep(delay);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
