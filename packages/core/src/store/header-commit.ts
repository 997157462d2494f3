import { BackendUnavailableError, CheckpointConflictError } from '../errors.js';
import type { BlobRecord, HeaderRecord, PutHeaderOptions, StorageAdapter } from './storage-adapter.js';

/**
 * Writes a checkpoint's blobs and header. A header write whose answer was lost (a dropped connection after the
 * commit, a client that resent the command) is committed all the same: when the stored header is this very
 * header, the save succeeded, and reporting a conflict would stop a run that is fine.
 */
export async function commitHeader(
  adapter: StorageAdapter,
  header: HeaderRecord,
  blobs: readonly BlobRecord[],
  options: PutHeaderOptions,
): Promise<void> {
  try {
    await write(adapter, header, blobs, options);
  } catch (error) {
    if (!CheckpointConflictError.isInstance(error) && !BackendUnavailableError.isInstance(error)) throw error;
    const stored = await adapter.getHeader(header.id).catch(() => null);
    if (!stored || !sameHeader(stored, header)) throw error;
  }
}

/** Blobs and header in one commit when the adapter can, else blobs first: a header never points at missing blobs. */
async function write(adapter: StorageAdapter, header: HeaderRecord, blobs: readonly BlobRecord[], options: PutHeaderOptions): Promise<void> {
  if (adapter.commitCheckpoint) return adapter.commitCheckpoint(header.runId, blobs, header, options);
  if (blobs.length > 0) await adapter.putBlobs(header.runId, blobs);
  await adapter.putHeader(header, options);
}

function sameHeader(a: HeaderRecord, b: HeaderRecord): boolean {
  return (
    a.id === b.id && a.runId === b.runId && a.flowId === b.flowId && a.seq === b.seq && a.parentCheckpointId === b.parentCheckpointId &&
    a.status === b.status && a.tenantId === b.tenantId && a.workflowId === b.workflowId && a.pendingInput === b.pendingInput &&
    a.createdAt === b.createdAt && a.updatedAt === b.updatedAt && a.body === b.body
  );
}
