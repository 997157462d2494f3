import { hostname } from 'node:os';
import { LeaseLostError } from '../errors.js';
import type { CheckpointStore } from '../store/checkpoint-store.js';
import type { Lease } from '../store/storage-adapter.js';
import { uuidv7 } from '../util/uuidv7.js';

/**
 * One claim on a run, renewed at a third of its ttl until released. The owner is unique per claim
 * (not per process), so two resumes of the same run in one process also exclude each other.
 */
export class RunLease {
  private lease: Lease;
  private readonly timer: NodeJS.Timeout;
  private released = false;

  private constructor(
    private readonly store: CheckpointStore,
    lease: Lease,
    ttlMs: number,
  ) {
    this.lease = lease;
    this.timer = setInterval(() => void this.renew(ttlMs), Math.max(1, Math.floor(ttlMs / 3)));
    // A renewal timer must never keep the process alive on its own.
    this.timer.unref();
  }

  /** Throws `RunLockedError` (from the store) when another worker holds the run. */
  static async acquire(store: CheckpointStore, runId: string, ttlMs: number): Promise<RunLease> {
    const owner = `${hostname()}:${process.pid}:${uuidv7()}`;
    return new RunLease(store, await store.acquireLease(runId, owner, ttlMs), ttlMs);
  }

  get current(): Lease {
    return this.lease;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await this.store.releaseLease(this.lease);
  }

  private async renew(ttlMs: number): Promise<void> {
    try {
      const renewed = await this.store.renewLease(this.lease, ttlMs);
      if (!this.released) this.lease = renewed;
    } catch (error) {
      // Lost: stop renewing. The next header write carries the stale fencing token and is refused,
      // which ends the run; nothing this worker does afterwards can commit. Any other failure (a
      // backend blip) is retried at the next tick: the lease may well outlive a short outage.
      if (LeaseLostError.isInstance(error)) clearInterval(this.timer);
    }
  }
}
