import type { BlobRecord, StorageAdapter } from '@savepoint/core';

export interface BlobWrite {
  runId: string;
  blobs: BlobRecord[];
}

/**
 * Wraps an adapter so every `putBlobs` call is logged before it is forwarded; everything else goes
 * straight to the real adapter. The suite uses it to see what the store writes (dedupe, GC, corruption).
 */
export function recordBlobWrites<A extends StorageAdapter>(adapter: A): { adapter: A; writes: BlobWrite[] } {
  const writes: BlobWrite[] = [];
  const wrapped = new Proxy(adapter, {
    get(target, property) {
      if (property === 'putBlobs') {
        return (runId: string, blobs: readonly BlobRecord[]) => {
          writes.push({ runId, blobs: [...blobs] });
          return target.putBlobs(runId, blobs);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { adapter: wrapped, writes };
}

/** Every blob logged since `from`, by hash (a hash written twice appears once). */
export function blobsWritten(writes: readonly BlobWrite[], from = 0): Map<string, string> {
  return new Map(writes.slice(from).flatMap((write) => write.blobs.map((blob) => [blob.hash, blob.data] as const)));
}
