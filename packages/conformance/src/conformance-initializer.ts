import type { AdapterCapabilities, StorageAdapter } from '@savepoint/core';

export interface ConformanceCapabilities {
  /** Several processes may share the storage; checked against `adapter.capabilities`. */
  multiProcess?: boolean;
  /** The adapter enforces leases; when false the lease and fencing tests are not registered. Default true. */
  leases?: boolean;
  /**
   * The runtime-bridge storage the adapter implements. Each must equal `adapter.capabilities` (absent =
   * not implemented), and registers its section of the suite: the event log, the input inbox, notification.
   */
  events?: boolean;
  inbox?: boolean;
  notify?: AdapterCapabilities['notify'];
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
  /**
   * A second, set-up adapter instance on the same storage as `adapter` (same directory, database or key
   * prefix), standing in for another process. With `multiProcess`, the suite races the two instances
   * (event seqs, input consumption) and, with `notify: 'cross-process'`, publishes through one to
   * subscribers of the other. The suite calls `sibling.close?.()` after the test, before `destroy`.
   */
  createSibling?(adapter: A): Promise<A>;
  /**
   * The `maxEventsPerRun` the adapters from `create()` were configured with. When given, the suite checks
   * that older events are trimmed; keep it small (at least 40) so the test stays quick.
   */
  maxEventsPerRun?: number;
  /**
   * Every byte the adapter stored for this test, as text: all files, rows or keys of the test's namespace
   * (directory, schema, key prefix), in any layout. With it, the suite plants secrets in checkpoints, events
   * (`appendEvents` with `store.sealPayload(...)` data) and inbox answers of a store configured with `redact`
   * and `encryption`, and checks that none of them, and no plaintext of encrypted content, appears in the dump.
   */
  dumpRaw?(adapter: A): Promise<string>;
  /**
   * An adapter on new, empty storage on which `setup()` was NOT called (a fresh directory, database, schema or
   * key prefix). The suite checks that every contract method works on its first call, as a deployment's first
   * request would make it. The suite calls `destroy` (or `close`) on it after the test.
   */
  createFresh?(): Promise<A>;
}
