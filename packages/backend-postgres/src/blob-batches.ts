import type { BlobRecord } from '@savepoint/core';

// A batch larger than this is split, so that no single statement carries an unbounded payload.
const BATCH_ROWS = 10_000;
const BATCH_CHARS = 16 * 1024 * 1024;

/**
 * The blobs sorted by hash, in batches of at most 10 000 blobs and 16 MB. Every writer inserts in hash order,
 * so two saves of one run that share new blobs take their row locks in the same order and cannot deadlock.
 */
export function blobBatches(blobs: readonly BlobRecord[]): BlobRecord[][] {
  const sorted = [...blobs].sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const batches: BlobRecord[][] = [];
  let current: BlobRecord[] = [];
  let chars = 0;
  for (const blob of sorted) {
    const size = blob.hash.length + blob.data.length;
    if (current.length > 0 && (current.length >= BATCH_ROWS || chars + size > BATCH_CHARS)) {
      batches.push(current);
      current = [];
      chars = 0;
    }
    current.push(blob);
    chars += size;
  }
  batches.push(current);
  return batches;
}
