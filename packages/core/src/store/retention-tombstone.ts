import type { CheckpointStatus } from '../models/checkpoint.js';
import type { BlobRecord, StorageAdapter } from './storage-adapter.js';

/**
 * What retention leaves behind when it removes a whole run, so a later `resume` can say the run was removed by
 * retention instead of "start it with workflow.run()". It is stored as one blob in the run's own blob space, under a
 * fixed key that is never a content hash (those are 43 base64url characters), which every backend already stores:
 * the `StorageAdapter` contract does not grow. Garbage collection keeps it; `deleteRun` removes it with the rest.
 * It holds ids, a status and times only, never user data, so it is stored in clear.
 */
export interface RetentionTombstone {
  runId: string;
  /**
   * The tenant the run belonged to (null: none), so a server answers "removed by retention" only to that tenant.
   * Absent in records written before it was recorded: then nobody can tell whose run it was.
   */
  tenantId?: string | null;
  /** The setting that removed the run. */
  setting: 'retentionDays';
  retentionDays: number;
  /** The status and last update (epoch ms) of the run's head when it was removed. */
  status: CheckpointStatus;
  lastUpdatedAt: number;
  /** Epoch ms. */
  removedAt: number;
}

export const TOMBSTONE_KEY = 'savepoint.removed-by-retention';

export function tombstoneBlob(tombstone: RetentionTombstone): BlobRecord {
  return { hash: TOMBSTONE_KEY, data: JSON.stringify({ v: 1, ...tombstone }) };
}

/** The run's tombstone, or null when retention never removed it (or the record is unreadable: it only words an error). */
export async function readTombstone(adapter: StorageAdapter, runId: string): Promise<RetentionTombstone | null> {
  const data = (await adapter.getBlobs(runId, [TOMBSTONE_KEY])).get(TOMBSTONE_KEY);
  if (data === undefined) return null;
  try {
    const parsed = JSON.parse(data) as Partial<RetentionTombstone> & { v?: unknown };
    if (parsed.v !== 1 || parsed.runId !== runId || typeof parsed.retentionDays !== 'number') return null;
    return {
      runId,
      ...(parsed.tenantId === null || typeof parsed.tenantId === 'string' ? { tenantId: parsed.tenantId } : {}),
      setting: 'retentionDays',
      retentionDays: parsed.retentionDays,
      status: parsed.status as CheckpointStatus,
      lastUpdatedAt: Number(parsed.lastUpdatedAt),
      removedAt: Number(parsed.removedAt),
    };
  } catch {
    return null;
  }
}

const WORKFLOW_REMEDY =
  'start a new run with workflow.run(), and raise checkpoint.retentionDays (or set it to null) to keep finished runs longer.';

/**
 * The message of the `RemovedByRetentionError` for a run retention removed. `runId` is the id the reader knows (a
 * server names the run by its public id, not the id it is stored under); `remedy` is what that reader can do.
 */
export function removedRunMessage(
  tombstone: RetentionTombstone,
  { runId = tombstone.runId, remedy = WORKFLOW_REMEDY }: { runId?: string; remedy?: string } = {},
): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  return (
    `Run ${runId} was removed by retention (retentionDays: ${tombstone.retentionDays}) at ${iso(tombstone.removedAt)}: ` +
    `it ended ${tombstone.status} at ${iso(tombstone.lastUpdatedAt)}, more than ${tombstone.retentionDays} days before. ` +
    `Its checkpoints are gone, so it can no longer be resumed, forked or inspected; ${remedy}`
  );
}
