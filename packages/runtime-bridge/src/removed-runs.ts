import { RemovedByRetentionError, removedRunMessage, type CheckpointStore } from '@savepoint/core';

const SERVER_REMEDY = "start a new run; the server's checkpoint.retentionDays setting decides how long finished runs are kept.";

/**
 * The 404 for a run of the caller's tenant that retention removed, or undefined. `storedIds` are where the caller's
 * id may be stored, tried in order. Only the tenant that owned the run learns it was removed: another tenant's removed
 * run (or a record that does not say whose run it was) stays indistinguishable from a run that never existed. The
 * message names the id the caller knows, never the tenant-scoped id it was stored under.
 */
export async function removedRunError(
  store: CheckpointStore,
  tenantId: string,
  storedIds: readonly string[],
  publicId: string,
): Promise<RemovedByRetentionError | undefined> {
  for (const runId of storedIds) {
    const tombstone = await store.removedByRetention(runId);
    if (tombstone?.tenantId === tenantId) {
      return new RemovedByRetentionError(removedRunMessage(tombstone, { runId: publicId, remedy: SERVER_REMEDY }));
    }
  }
  return undefined;
}
