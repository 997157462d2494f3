import { CheckpointStore, type CheckpointStoreOptions, type StorageAdapter } from '@savepoint/core';
import type { ConformanceInitializer } from './conformance-initializer.js';

/** What every section of the suite needs: the initializer and the adapter of the running test. */
export interface SuiteContext<A extends StorageAdapter = StorageAdapter> {
  readonly init: ConformanceInitializer<A>;
  /** The adapter created for the current test. */
  adapter(): A;
  /** A new store over `adapter()` (a new one has no memory of blobs written or loaded before). */
  store(adapter?: StorageAdapter, options?: CheckpointStoreOptions): CheckpointStore;
  /**
   * A second instance on the current test's storage, from `init.createSibling` (only call it where that
   * exists); closed by the suite after the test.
   */
  sibling(): Promise<A>;
  /** An adapter on new storage whose `setup()` was never called, from `init.createFresh`; destroyed after the test. */
  fresh(): Promise<A>;
}
