import { setMaxListeners } from 'node:events';
import { ShuttingDownError } from '../errors.js';

/**
 * Hands runs over to another process when this one shuts down. Once `begin` is called, the runs that follow it start
 * no new node; their running nodes get `graceMs` to finish, then their `ctx.signal` aborts with a `ShuttingDownError`.
 * Each run then commits a `paused` checkpoint and releases its lease, so another process continues it at once
 * instead of after the lease expires. A `Workflow` has one for `shutdown()`; a run may follow another one too
 * (`RunOptions.handoff`, e.g. a server's, so closing the server hands over its runs without shutting the workflow down).
 */
export class Handoff {
  private readonly stopper = new AbortController();
  private readonly interrupter = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    // Every run in flight listens to both signals until it ends, so hundreds of listeners are normal, not a leak.
    setMaxListeners(0, this.stopper.signal, this.interrupter.signal);
  }

  /** Aborted once the handoff began: runs start no new node. */
  get stopping(): AbortSignal {
    return this.stopper.signal;
  }

  /** Aborted when the grace period is over: running nodes are aborted (their reason is a `ShuttingDownError`). */
  get interrupting(): AbortSignal {
    return this.interrupter.signal;
  }

  /** Stops new nodes now and interrupts running ones after `graceMs` (0: at once). Later calls change nothing. */
  begin(graceMs: number): void {
    if (!this.stop()) return;
    if (graceMs <= 0) return this.interrupt();
    this.timer = setTimeout(() => this.interrupt(), graceMs);
    // an idle process must be able to exit while the grace period runs
    this.timer.unref();
  }

  /** Ends the grace period now: nodes still running are aborted and run again when their run is resumed. */
  interrupt(): void {
    clearTimeout(this.timer);
    this.stop();
    if (this.interrupter.signal.aborted) return;
    this.interrupter.abort(
      new ShuttingDownError(
        'This process is shutting down and the grace period is over: the node was interrupted; it runs again when its run is resumed (another process may already have).',
      ),
    );
  }

  /** True when this call began the handoff. */
  private stop(): boolean {
    if (this.stopper.signal.aborted) return false;
    this.stopper.abort(
      new ShuttingDownError('This process is shutting down: the run is checkpointed and released so another process continues it.'),
    );
    return true;
  }
}
