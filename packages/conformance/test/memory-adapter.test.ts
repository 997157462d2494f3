import { MemoryAdapter, type BlobRecord, type HeaderRecord, type PutHeaderOptions } from '@savepoint/core';
import { runConformanceSuite } from '../src/index.js';

/** Every record a memory adapter holds, as text: its own fields (Maps and Sets included), whatever their names. */
function dumpMemory(adapter: MemoryAdapter): string {
  return JSON.stringify(adapter, (_key, value: unknown) => {
    if (value instanceof Map) return [...value.entries()];
    if (value instanceof Set) return [...value.values()];
    return value;
  });
}

runConformanceSuite({
  name: 'memory',
  create: async () => new MemoryAdapter({ maxEventsPerRun: 50 }),
  capabilities: { multiProcess: false, leases: true, events: true, inbox: true, notify: 'in-process' },
  maxEventsPerRun: 50,
  dumpRaw: async (adapter) => dumpMemory(adapter),
  // memory storage needs no setup: a new adapter is new storage
  createFresh: async () => new MemoryAdapter({ maxEventsPerRun: 50 }),
});

/** Memory with the optional one-commit write (the two calls, one after the other: memory has no commits to save). */
class OneCommitMemoryAdapter extends MemoryAdapter {
  async commitCheckpoint(runId: string, blobs: readonly BlobRecord[], header: HeaderRecord, options?: PutHeaderOptions): Promise<void> {
    await this.putBlobs(runId, blobs);
    await this.putHeader(header, options);
  }
}

runConformanceSuite({
  name: 'memory with commitCheckpoint',
  create: async () => new OneCommitMemoryAdapter(),
  capabilities: { multiProcess: false, leases: true, events: true, inbox: true, notify: 'in-process' },
});

/** Memory whose storage returns damaged bytes for chosen blobs, as a failing disk would. */
class DamagedMemoryAdapter extends MemoryAdapter {
  readonly damaged = new Set<string>();

  override async getBlobs(runId: string, hashes: readonly string[]): Promise<Map<string, string>> {
    const found = await super.getBlobs(runId, hashes);
    for (const [hash, data] of found) if (this.damaged.has(`${runId}/${hash}`)) found.set(hash, data.slice(0, -3));
    return found;
  }
}

runConformanceSuite({
  name: 'memory with damaged storage',
  create: async () => new DamagedMemoryAdapter(),
  capabilities: { events: true, inbox: true, notify: 'in-process' },
  async destroy(adapter) {
    adapter.damaged.clear();
  },
  async corruptBlob(adapter, runId, hash) {
    adapter.damaged.add(`${runId}/${hash}`);
  },
});
