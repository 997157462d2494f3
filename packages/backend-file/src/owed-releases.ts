import type { Lease } from '@savepoint/core';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/** A stored lease, `owner: null` once released. */
export interface LeaseState {
  runId: string;
  owner: string | null;
  token: number;
  expiresAt: number;
}

/**
 * Lease releases this backend could not write (a full disk, a read-only remount): without them the run would
 * stay `RUN_LOCKED` until the lease expires. This backend treats such a lease as released at once (a new
 * owner in this process acquires it right away), and retries the write in the background, with back-off,
 * until it succeeds or the lease has expired anyway, so other processes see it released as soon as the disk
 * takes writes again.
 */
export class OwedReleases {
  private readonly owed = new Map<string, Lease>();

  constructor(private readonly write: (lease: Lease) => Promise<void>) {}

  /** Remembers a release that failed and starts retrying it. */
  add(lease: Lease): void {
    this.owed.set(lease.runId, lease);
    this.schedule(lease, FIRST_RETRY_MS);
  }

  /** `stored` as this process knows it to be: released when its release is owed. */
  apply<T extends LeaseState>(stored: T | null): T | null {
    const owed = stored === null ? undefined : this.owed.get(stored.runId);
    const isOwed = owed !== undefined && stored !== null && owed.owner === stored.owner && owed.token === stored.token;
    return isOwed ? { ...stored, owner: null, expiresAt: 0 } : stored;
  }

  /** The run's lease changed on disk: nothing is owed for it any more. */
  settle(runId: string): void {
    this.owed.delete(runId);
  }

  private schedule(lease: Lease, delayMs: number): void {
    const timer = setTimeout(() => {
      if (this.owed.get(lease.runId) !== lease) return;
      if (Date.now() >= lease.expiresAt) return this.settle(lease.runId);
      this.write(lease).then(
        () => this.settle(lease.runId),
        () => this.schedule(lease, Math.min(delayMs * 2, MAX_RETRY_MS)),
      );
    }, delayMs);
    timer.unref(); // never keeps a process alive
  }
}
