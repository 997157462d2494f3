import type { StorageAdapter } from '@savepoint/core';

export interface ConformanceCapabilities {
  /** Several processes may share the storage; checked against `adapter.capabilities`. */
  multiProcess?: boolean;
  /** The adapter enforces leases; when false the lease and fencing tests are not registered. Default true. */
  leases?: boolean;
}

/** What a backend hands to `runConformanceSuite`. */
export interface ConformanceInitializer<A extends StorageAdapter = StorageAdapter> {
  /** Names the `describe` block, e.g. `file`. */
  name: string;
  /** A fresh, isolated, set-up adapter for one test (its own directory, schema or key prefix). */
  create(): Promise<A>;
  /** Cleans up after each test; when omitted the suite calls `adapter.close?.()`. */
  destroy?(adapter: A): Promise<void>;
  capabilities?: ConformanceCapabilities;
  /** Truncates or alters one stored blob in place, below the adapter API (a file, a row, a key). */
  corruptBlob?(adapter: A, runId: string, hash: string): Promise<void>;
}
