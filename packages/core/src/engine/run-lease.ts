import { hostname } from 'node:os';
import { RunLockedError } from '../errors.js';
import type { CheckpointStore } from '../store/checkpoint-store.js';
import { RenewedLease } from '../store/renewed-lease.js';
import { sleep } from '../util/backoff.js';
import { uuidv7 } from '../util/uuidv7.js';

export type RunLease = RenewedLease;

/** Waiting for another worker's lease to lapse instead of failing at once. */
export interface LeaseWait {
  /** Give up (with `RunLockedError`) after this long. */
  timeoutMs: number;
  /** Aborts the wait: the claim rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Claims a run for one execution, renewed until released. The owner is unique per claim (not per process), so two
 * resumes of the same run in one process also exclude each other. Throws `RunLockedError` (from the store) when
 * another worker holds the run; with `wait`, first retries when the holder's lease would lapse
 * (`retryAfterMs`), until `wait.timeoutMs` has passed.
 */
export async function acquireRunLease(store: CheckpointStore, runId: string, ttlMs: number, wait?: LeaseWait): Promise<RunLease> {
  const owner = `${hostname()}:${process.pid}:${uuidv7()}`;
  const deadline = wait ? Date.now() + wait.timeoutMs : 0;
  for (;;) {
    try {
      return RenewedLease.adopt(store.adapter, await store.acquireLease(runId, owner, ttlMs), ttlMs);
    } catch (error) {
      if (!wait || !RunLockedError.isInstance(error)) throw error;
      const left = deadline - Date.now();
      const locked = error as RunLockedError;
      if (left <= 0) throw stillLocked(locked, runId, wait.timeoutMs);
      await sleep(Math.min(locked.retryAfterMs ?? ttlMs, left), wait.signal);
    }
  }
}

function stillLocked(last: RunLockedError, runId: string, waitedMs: number): RunLockedError {
  const error = new RunLockedError(
    `Run ${runId} is still being run by another worker after waiting ${waitedMs} ms for its lease: that worker is alive and ` +
      `renewing it. Retry later (its lease expires in ${last.retryAfterMs} ms unless renewed) or stop that worker.`,
    { cause: last },
  );
  error.retryAfterMs = last.retryAfterMs;
  return error;
}
