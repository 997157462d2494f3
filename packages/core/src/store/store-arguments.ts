import { InvalidArgumentError } from '../errors.js';
import { DEFAULT_RETENTION_DAYS } from '../models/checkpoint-config.js';
import { DEFAULT_TUNING, type TreeTuning } from './blob-tree.js';
import type { CleanupOptions, RetentionPolicy } from './retention-sweeper.js';
import { assertSafeId } from './safe-id.js';
import type { HeaderQuery, Lease, StorageAdapter } from './storage-adapter.js';

// Argument checks of the CheckpointStore's public methods, kept apart so the façade reads as what it does.
// Every check runs before the store touches the adapter: a bad call fails the same way on every backend.

export function assertAdapter(adapter: unknown): asserts adapter is StorageAdapter {
  const a = adapter as Partial<StorageAdapter> | null | undefined;
  if (!a || typeof a.putHeader !== 'function' || typeof a.putBlobs !== 'function') {
    throw new InvalidArgumentError('CheckpointStore needs a StorageAdapter (an object implementing putBlobs, putHeader, ...).');
  }
}

/** The defaults overridden by `tuning`, refused when a reader could not split blobs the same way. */
export function checkTuning(tuning: Partial<TreeTuning> | undefined): TreeTuning {
  const out = { ...DEFAULT_TUNING, ...tuning };
  const { blobThreshold, chunkThreshold, leafSize } = out;
  if (!(blobThreshold >= 64) || !(chunkThreshold >= 2) || !(leafSize >= 2) || (leafSize & (leafSize - 1)) !== 0) {
    throw new InvalidArgumentError('tuning: blobThreshold >= 64, chunkThreshold >= 2 and leafSize a power of two >= 2.');
  }
  return out;
}

export function checkSaveOptions(options: { expectedHead?: string | null; lease?: Lease }, runId: string): void {
  if (options.expectedHead !== undefined && options.expectedHead !== null) assertSafeId(options.expectedHead, 'expectedHead');
  if (options.lease && options.lease.runId !== runId) {
    throw new InvalidArgumentError(`The lease is for run ${options.lease.runId}, not ${runId}.`);
  }
}

/** The `limit` and `tenantId` parts of a listing's query. */
export function queryLimits(options: { limit?: number; tenantId?: string | undefined }): Partial<HeaderQuery> {
  const out: Partial<HeaderQuery> = {};
  if (options.limit !== undefined) {
    if (!Number.isInteger(options.limit) || options.limit < 0) throw new InvalidArgumentError('limit must be a non-negative integer.');
    out.limit = options.limit;
  }
  if (options.tenantId !== undefined) {
    assertSafeId(options.tenantId, 'tenantId');
    out.tenantId = options.tenantId;
  }
  return out;
}

export function checkRetention(options: CleanupOptions): RetentionPolicy {
  const { maxCheckpoints, maxCheckpointsPerRun, retentionDays = DEFAULT_RETENTION_DAYS, now, ...scope } = options;
  if (maxCheckpoints !== undefined && !(Number.isInteger(maxCheckpoints) && maxCheckpoints >= 0)) {
    throw new InvalidArgumentError('cleanup: maxCheckpoints (deprecated: use maxCheckpointsPerRun) must be a non-negative integer.');
  }
  if (maxCheckpointsPerRun !== undefined && !(Number.isInteger(maxCheckpointsPerRun) && maxCheckpointsPerRun >= 1)) {
    throw new InvalidArgumentError('cleanup: maxCheckpointsPerRun must be a positive integer (a run always keeps its head).');
  }
  if (retentionDays !== null && !(typeof retentionDays === 'number' && retentionDays > 0)) {
    throw new InvalidArgumentError('cleanup: retentionDays must be a positive number, or null to keep finished runs forever.');
  }
  const at = now === undefined ? Date.now() : typeof now === 'number' ? now : now.getTime();
  if (!Number.isFinite(at)) throw new InvalidArgumentError('cleanup: now must be a valid date or epoch milliseconds.');
  if (scope.flowId !== undefined) assertSafeId(scope.flowId, 'flowId');
  if (scope.runId !== undefined) assertSafeId(scope.runId, 'runId');
  // the deprecated per-flow count now counts per run; a run keeps at least its head
  const perRun = maxCheckpointsPerRun ?? (maxCheckpoints === undefined ? Infinity : Math.max(1, maxCheckpoints));
  return { ...scope, maxCheckpointsPerRun: perRun, retentionDays, now: at };
}

export function assertOwner(owner: unknown): asserts owner is string {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 512) {
    throw new InvalidArgumentError('A lease owner is a non-empty string of at most 512 characters.');
  }
}

export function assertTtl(ttlMs: unknown): asserts ttlMs is number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new InvalidArgumentError('A lease ttlMs must be a positive number of milliseconds.');
  }
}
