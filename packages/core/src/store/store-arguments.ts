import { InvalidArgumentError } from '../errors.js';
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
  const max = options.maxCheckpoints ?? 10;
  if (!Number.isInteger(max) || max < 0) throw new InvalidArgumentError('cleanup: maxCheckpoints must be a non-negative integer.');
  if (options.retentionDays !== undefined && !(options.retentionDays > 0)) {
    throw new InvalidArgumentError('cleanup: retentionDays must be a positive number.');
  }
  if (options.flowId !== undefined) assertSafeId(options.flowId, 'flowId');
  return { ...options, maxCheckpoints: max };
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
