import type { Lease, StorageAdapter } from './storage-adapter.js';

/**
 * A lease renewed every third of its ttl while its holder works: the engine's claim on a run, and the short lease
 * the store holds for blob garbage collection. If the process dies, the lease lapses within one ttl. Each renewal
 * is scheduled only after the previous one answered, so a hung backend never piles up calls; a failed renewal (a
 * backend blip) is retried at the next tick, a lost lease is never renewed again: the holder's next fenced write
 * is refused.
 */
export class RenewedLease {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** False once a renewal found the lease taken over or released: the holder must not act on it any more. */
  private held = true;

  private constructor(
    private readonly adapter: StorageAdapter,
    private lease: Lease,
    private readonly ttlMs: number,
  ) {
    this.schedule();
  }

  /** The lease, or null when another owner holds the run. */
  static async acquire(adapter: StorageAdapter, runId: string, owner: string, ttlMs: number): Promise<RenewedLease | null> {
    const lease = await adapter.acquireLease(runId, owner, ttlMs);
    return lease && new RenewedLease(adapter, lease, ttlMs);
  }

  /** Keeps renewing a lease acquired elsewhere (e.g. through the store's checked `acquireLease`). */
  static adopt(adapter: StorageAdapter, lease: Lease, ttlMs: number): RenewedLease {
    return new RenewedLease(adapter, lease, ttlMs);
  }

  /** The lease as last renewed: what fenced writes carry. */
  get current(): Lease {
    return this.lease;
  }

  /**
   * Renews now and says whether the lease is still this holder's: called right before an action that is safe
   * only under the lease, so the action gets a whole ttl. Any failure counts as lost.
   */
  async confirm(): Promise<boolean> {
    if (!this.held) return false;
    try {
      const renewed = await this.adapter.renewLease(this.lease, this.ttlMs);
      if (renewed) this.lease = renewed;
      else this.held = false;
    } catch {
      this.held = false;
    }
    return this.held;
  }

  /** Stops renewing and releases the lease (a no-op for the adapter when it was lost meanwhile). */
  async release(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.adapter.releaseLease(this.lease);
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.renew(), Math.max(1, Math.floor(this.ttlMs / 3)));
    // maintenance must never keep the process alive on its own
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    let renewed: Lease | null;
    try {
      renewed = await this.adapter.renewLease(this.lease, this.ttlMs);
    } catch {
      // a backend blip: the lease may outlive it, so try again at the next tick
      if (!this.stopped) this.schedule();
      return;
    }
    if (this.stopped) return;
    if (renewed === null) this.held = false;
    else {
      this.lease = renewed;
      this.schedule();
    }
  }
}
