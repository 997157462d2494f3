import type { BlobRecord, StorageAdapter } from '@savepoint/core';

export interface BlobWrite {
  runId: string;
  blobs: BlobRecord[];
}

/**
 * Wraps an adapter so the blobs of every `putBlobs` call, and of every `commitCheckpoint` call that carries
 * some, are logged before the call is forwarded; everything else goes straight to the real adapter. The
 * suite uses it to see what the store writes (dedupe, GC, corruption).
 */
export function recordBlobWrites<A extends StorageAdapter>(adapter: A): { adapter: A; writes: BlobWrite[] } {
  const writes: BlobWrite[] = [];
  const log = (runId: string, blobs: readonly BlobRecord[]) => writes.push({ runId, blobs: [...blobs] });
  const wrapped = new Proxy(adapter, {
    get(target, property) {
      if (property === 'putBlobs') {
        return (runId: string, blobs: readonly BlobRecord[]) => {
          log(runId, blobs);
          return target.putBlobs(runId, blobs);
        };
      }
      if (property === 'commitCheckpoint' && target.commitCheckpoint) {
        return (...args: Parameters<NonNullable<StorageAdapter['commitCheckpoint']>>) => {
          if (args[1].length > 0) log(args[0], args[1]);
          return target.commitCheckpoint!(...args);
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
