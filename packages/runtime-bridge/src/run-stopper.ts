import { RunLockedError, uuidv7, type CheckpointStatus, type Lease } from '@savepoint/core';
import type { ChangeFeed } from './change-feed.js';
import type { EventLog } from './event-log.js';
import { CANCEL_PATH, type InboxAdapter } from './inbox-channel.js';
import type { RunRegistry } from './run-registry.js';
import { FINISHED } from './run-status.js';
import type { CatalogEntry } from './workflow-catalog.js';

export interface RunStopperOptions {
  adapter: InboxAdapter;
  registry: RunRegistry;
  feed: ChangeFeed;
  events: EventLog;
  workerId: string;
  leaseTtlMs: number;
  /** Pause between attempts to take a run another process holds. */
  pollMs: number;
}

/**
 * Stops runs wherever they execute, for cancel and delete: here (abort), nowhere (take the lease), or in another
 * process (a cancel request in the inbox, which that worker's live input channel acts on when the run waits for input).
 */
export class RunStopper {
  constructor(private readonly options: RunStopperOptions) {}

  /** The run's lease, or undefined while another process holds the run. */
  async claim(entry: CatalogEntry, runId: string, purpose: string): Promise<Lease | undefined> {
    const { workerId, leaseTtlMs } = this.options;
    try {
      return await entry.store.acquireLease(runId, `${workerId}:${purpose}:${uuidv7()}`, leaseTtlMs);
    } catch (error) {
      if (RunLockedError.isInstance(error)) return undefined;
      throw error;
    }
  }

  async release(entry: CatalogEntry, lease: Lease): Promise<void> {
    await entry.store.releaseLease(lease).catch(() => undefined);
  }

  /** Asks the process that holds the run to cancel it. */
  async requestCancel(runId: string): Promise<void> {
    const { adapter, feed } = this.options;
    await adapter.putInput(runId, { key: `cancel.${uuidv7()}`, nodePath: CANCEL_PATH, value: 'null', createdAt: Date.now() });
    await feed.notify({ runId, kind: 'input' });
  }

  /** Under `lease`: commits the head as canceled unless it has finished meanwhile; the head's status after. */
  async markCanceled(entry: CatalogEntry, runId: string, lease: Lease, by: string): Promise<CheckpointStatus> {
    const { adapter, events } = this.options;
    const headId = (await adapter.getHead(runId))!;
    const head = (await adapter.getHeader(headId))!;
    if (FINISHED.has(head.status)) return head.status;
    await entry.store.update(headId, { status: 'canceled', pendingInputs: [] }, { lease });
    events.append({ runId, type: 'run_canceled', data: { by }, ts: Date.now() }, entry.store);
    return 'canceled';
  }

  /**
   * Stops the run and returns its lease: aborts it here, or asks its holder to cancel it and waits up to `waitMs` for the
   * lease. A holder busy in a node reads the request only when the run next waits for input: then `RunLockedError` (409).
   */
  async stop(entry: CatalogEntry, runId: string, publicId: string, waitMs: number): Promise<Lease> {
    const { registry, pollMs } = this.options;
    const deadline = Date.now() + waitMs;
    let requested = false;
    for (;;) {
      // Also a run this process took back meanwhile (an answer's delivery, the reaper).
      await registry.cancel(runId);
      const lease = await this.claim(entry, runId, 'stop');
      if (lease) return lease;
      if (!requested) await this.requestCancel(runId);
      requested = true;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new RunLockedError(
          `Run ${publicId} is held by another process that did not stop it within ${waitMs} ms (it is busy in a node); a cancel was requested and ` +
            'takes effect when the run next waits for input. Retry the request in a few seconds, or cancel the run and retry once it is canceled.',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, remaining)));
    }
  }
}
