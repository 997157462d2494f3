import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { describeEngineInvariants } from './engine-invariants.suite.js';

describeEngineInvariants('MemoryAdapter', {
  create: async () => new MemoryAdapter(),
  // Test-only reach into the adapter's store: a blob whose bytes no longer match its hash.
  corruptBlob: async (adapter, runId, hash) => {
    (adapter as unknown as { blobs: Map<string, Map<string, string>> }).blobs.get(runId)!.set(hash, '{"truncated":');
  },
});
