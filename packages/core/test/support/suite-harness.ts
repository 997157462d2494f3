// What the reusable suites (engine invariants, node resume) share: a fresh backend per test, deferred
// promises, and an adapter proxy that records calls, counts bytes and lets a test replace methods.
import { afterEach, beforeEach } from '@jest/globals';
import { RunLockedError, type CheckpointConfigInput, type Lease, type StorageAdapter } from '../../src/index.js';

export interface SuiteBackend {
  create(): Promise<StorageAdapter>;
  destroy?(adapter: StorageAdapter): Promise<void>;
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

type Hooks = Partial<Record<keyof StorageAdapter, (...args: any[]) => unknown>>;

/** Forwards to a real adapter, records every call and the bytes each header commit wrote; `hooks` replace single methods. */
export function instrument(adapter: StorageAdapter, hooks: Hooks = {}) {
  const calls: string[] = [];
  const written = { bytes: 0, perHeader: [] as number[] };
  let pendingBlobBytes = 0;
  const proxy = new Proxy(adapter, {
    get(target, prop) {
      // Hidden so the store falls back to putBlobs + putHeader: the hooks and the byte accounting see each write.
      if (prop === 'commitCheckpoint') return undefined;
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: any[]) => {
        calls.push(String(prop));
        if (prop === 'putBlobs') for (const blob of args[1] as Array<{ data: string }>) pendingBlobBytes += Buffer.byteLength(blob.data);
        if (prop === 'putHeader') {
          const bytes = pendingBlobBytes + Buffer.byteLength((args[0] as { body: string }).body);
          written.bytes += bytes;
          written.perHeader.push(bytes);
          pendingBlobBytes = 0;
        }
        const hook = hooks[prop as keyof StorageAdapter];
        return hook ? hook(...args) : (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { adapter: proxy as StorageAdapter, calls, written };
}

/**
 * Registers the per-test lifecycle: `ref.storage` is a fresh adapter in each test; adapters pushed to
 * `ref.created` are destroyed after it. `config` enables checkpointing on it (retention high enough
 * that no test loses a checkpoint it inspects).
 */
export function useBackend(backend: SuiteBackend) {
  const ref = { storage: undefined as unknown as StorageAdapter, created: [] as StorageAdapter[] };
  beforeEach(async () => {
    ref.storage = await backend.create();
    ref.created.push(ref.storage);
  });
  afterEach(async () => {
    for (const adapter of ref.created.splice(0)) await backend.destroy?.(adapter);
  });
  const config = (extra: Partial<CheckpointConfigInput> = {}, adapter: StorageAdapter = ref.storage): CheckpointConfigInput => ({
    enabled: true,
    backend: adapter,
    maxCheckpoints: 1000,
    ...extra,
  });
  return { ref, config };
}

/** Resumes once the crashed worker's lease has expired (the way another process would take the run over). */
export async function resumeAfterLeaseExpiry<T>(resume: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await resume();
    } catch (error) {
      if (!RunLockedError.isInstance(error)) throw error;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** How long worker A's lease lasts in storage while it works: a starved event loop on a busy machine cannot expire it. */
const HELD_MS = 60_000;
/** How long the lease outlives `freeze()`: the moment another worker may take over. */
const FROZEN_TTL_MS = 300;

/**
 * A worker whose lease is held (and renewed) generously until `freeze()`, then cut to a short expiry and never
 * renewed again, as when its process freezes. So neither a slow disk nor a busy CPU can expire the lease before
 * the test reaches the moment it stages, and the takeover still comes right after it.
 */
export function freezableRenewals(storage: StorageAdapter) {
  let frozen = false;
  let last: Lease | null = null;
  const { adapter } = instrument(storage, {
    acquireLease: async (runId: string, owner: string) => (last = await storage.acquireLease(runId, owner, HELD_MS)),
    renewLease: async (lease: Lease) => (frozen ? lease : (last = await storage.renewLease(lease, HELD_MS))),
  });
  const freeze = async () => {
    frozen = true;
    if (last) await storage.renewLease(last, FROZEN_TTL_MS);
  };
  return { adapter, freeze };
}
