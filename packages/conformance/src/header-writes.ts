import type { HeaderRecord, PutHeaderOptions, StorageAdapter } from '@savepoint/core';

/** The two ways a header reaches the adapter: the contract's `putHeader`, and the optional `commitCheckpoint`. */
export type HeaderWriteName = 'putHeader' | 'commitCheckpoint';
export const HEADER_WRITES: readonly HeaderWriteName[] = ['putHeader', 'commitCheckpoint'];

export type HeaderWrite = (header: HeaderRecord, options?: PutHeaderOptions) => Promise<void>;

/**
 * A header write through `name`, or undefined when the adapter does not implement it (an optional method: the
 * test then has nothing to check). Through `commitCheckpoint` each header carries one blob of its own, so the
 * blob part of the commit runs under the same contention, fencing and conflicts.
 */
export function headerWrite(adapter: StorageAdapter, name: HeaderWriteName): HeaderWrite | undefined {
  if (name === 'putHeader') return (header, options) => adapter.putHeader(header, options);
  const commit = adapter.commitCheckpoint?.bind(adapter);
  if (commit === undefined) return undefined;
  return (header, options) => commit(header.runId, [{ hash: `blob-of-${header.id}`, data: header.body }], header, options);
}
