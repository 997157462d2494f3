import { hostname } from 'node:os';
import type { CheckpointStore } from '../store/checkpoint-store.js';
import { RenewedLease } from '../store/renewed-lease.js';
import { uuidv7 } from '../util/uuidv7.js';

export type RunLease = RenewedLease;

/**
 * Claims a run for one execution, renewed until released. The owner is unique per claim (not per process), so two
 * resumes of the same run in one process also exclude each other. Throws `RunLockedError` (from the store) when
 * another worker holds the run.
 */
export async function acquireRunLease(store: CheckpointStore, runId: string, ttlMs: number): Promise<RunLease> {
  const owner = `${hostname()}:${process.pid}:${uuidv7()}`;
  return RenewedLease.adopt(store.adapter, await store.acquireLease(runId, owner, ttlMs), ttlMs);
}
