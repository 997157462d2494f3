import { describe, expect, it } from '@jest/globals';
import {
  BackendUnavailableError,
  CheckpointConflictError,
  CorruptCheckpointError,
  Flow,
  FunctionNode,
  LeaseLostError,
  MemoryAdapter,
  Workflow,
  type Lease,
  type StorageAdapter,
} from '../../src/index.js';

/** A MemoryAdapter with some methods replaced (fault injection); the rest is the real adapter. */
function withOverrides(memory: MemoryAdapter, overrides: Partial<StorageAdapter>): StorageAdapter {
  return Object.assign(Object.create(memory) as MemoryAdapter, overrides);
}

const failingOnce = () => {
  let failed = false;
  return new FunctionNode({
    id: 'flaky',
    run: () => {
      if (!failed) {
        failed = true;
        throw new Error('once');
      }
      return 'ok';
    },
  });
};

describe('engine resilience', () => {
  it('records a node that throws because of the cancel as canceled, not failed', async () => {
    const controller = new AbortController();
    const quitter = new FunctionNode({
      id: 'quitter',
      run: () => {
        controller.abort();
        throw new Error('aborted mid-call');
      },
    });
    const workflow = new Workflow({ flow: new Flow({ id: 'quit', nodes: [quitter] }), checkpoint: { enabled: true, backend: new MemoryAdapter() } });
    const result = await workflow.run(null, { signal: controller.signal });
    expect(result.status).toBe('canceled');
    expect((await workflow.getLatestCheckpoint({ runId: result.runId }))?.nodeStates['quitter']?.status).toBe('canceled');
  });

  it('refuses to continue from a head that moved while the lease was being taken', async () => {
    const memory = new MemoryAdapter();
    let armed = false;
    let moved = false;
    const adapter = withOverrides(memory, {
      getHead: async (runId) => (moved ? 'someone-else' : memory.getHead(runId)),
      acquireLease: async (runId, owner, ttl) => {
        moved = armed;
        return memory.acquireLease(runId, owner, ttl);
      },
    });
    const workflow = new Workflow({ flow: new Flow({ id: 'moved', nodes: [failingOnce()] }), checkpoint: { enabled: true, backend: adapter } });
    const failed = await workflow.run(null);
    armed = true;
    await expect(workflow.resume({ checkpointId: failed.checkpointId! })).rejects.toThrow(CheckpointConflictError);
  });

  it('gives up the fallback when no checkpoint of the run is intact', async () => {
    const memory = new MemoryAdapter();
    const workflow = new Workflow({ flow: new Flow({ id: 'rotten', nodes: [failingOnce()] }), checkpoint: { enabled: true, backend: memory } });
    const failed = await workflow.run(null);
    const blobs = (memory as unknown as { blobs: Map<string, Map<string, string>> }).blobs.get(failed.runId)!;
    for (const hash of blobs.keys()) blobs.set(hash, 'garbage');
    await expect(workflow.resume({ runId: failed.runId, fallbackToIntact: true })).rejects.toThrow(CorruptCheckpointError);
    await expect(workflow.resume({ checkpointId: failed.checkpointId!, fallbackToIntact: true })).rejects.toThrow(CorruptCheckpointError);
  });

  it('stops renewing a lost lease and fails the run when its next write is fenced off', async () => {
    const memory = new MemoryAdapter();
    let renewals = 0;
    let runId = '';
    const adapter = withOverrides(memory, {
      renewLease: async () => {
        renewals += 1;
        return null;
      },
    });
    const slow = new FunctionNode({
      id: 'slow',
      run: async (_input: null, ctx) => {
        runId = ctx.runId;
        while (renewals === 0 || !(await memory.acquireLease(runId, 'thief', 60_000))) await new Promise((r) => setTimeout(r, 5));
        return 'late';
      },
    });
    const workflow = new Workflow({ flow: new Flow({ id: 'lost', nodes: [slow] }), checkpoint: { enabled: true, backend: adapter, leaseTtlMs: 30 } });
    const result = await workflow.run(null);
    expect(result.status).toBe('failure');
    expect(LeaseLostError.isInstance(result.error)).toBe(true);
    expect(renewals).toBe(1);
    expect(await memory.getHead(runId)).toBeNull();
  });

  it('keeps renewing through a backend blip, so a short outage does not cost the lease', async () => {
    const memory = new MemoryAdapter();
    let renewals = 0;
    // The engine renews every 10 ms (ttl 30), but the stored lease lasts a minute: a busy machine that stalls the
    // event loop past 30 ms must not expire it, since this test is about renewing on after a failed renewal.
    const STORED_TTL_MS = 60_000;
    const adapter = withOverrides(memory, {
      acquireLease: (runId: string, owner: string) => memory.acquireLease(runId, owner, STORED_TTL_MS),
      renewLease: async (lease: Lease) => {
        renewals += 1;
        if (renewals === 1) throw new BackendUnavailableError('blip');
        return memory.renewLease(lease, STORED_TTL_MS);
      },
    });
    const slow = new FunctionNode({
      id: 'slow',
      run: async () => {
        while (renewals < 3) await new Promise((r) => setTimeout(r, 5));
        return 'done';
      },
    });
    const workflow = new Workflow({ flow: new Flow({ id: 'blip', nodes: [slow] }), checkpoint: { enabled: true, backend: adapter, leaseTtlMs: 30 } });
    const result = await workflow.run(null);
    expect(result.status).toBe('success');
    expect(renewals).toBeGreaterThanOrEqual(3);
  });

  it('keeps running when an event listener throws', async () => {
    const workflow = new Workflow({ flow: new Flow({ id: 'noisy', nodes: [new FunctionNode({ id: 'a', run: () => 'fine' })] }) });
    workflow.on('node_started', () => {
      throw new Error('listener bug');
    });
    expect((await workflow.run(null)).output).toBe('fine');
  });
});
