import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { CheckpointConflictError, NotFoundError } from '../../src/errors.js';
import type { FlowCheckpoint } from '../../src/models/checkpoint.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { uuidv7 } from '../../src/util/uuidv7.js';
import { checkpoint, interceptingAdapter, next, node } from './helpers.js';

const pending = { nodePath: 'approve', prompt: 'ok?', schema: {}, requestedAt: new Date(1), metadata: {} };

async function chain(store: CheckpointStore, first: FlowCheckpoint, count: number, patch: Partial<FlowCheckpoint>[] = []) {
  const out = [first];
  await store.save(first);
  for (let i = 1; i < count; i += 1) {
    const cp = next(out[i - 1]!, patch[i] ?? {});
    await store.save(cp);
    out.push(cp);
  }
  return out;
}

describe('queries', () => {
  it('lists by flow (newest first, paginated, filtered) and by run (by seq)', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const a = await chain(store, checkpoint({ runId: 'ra' }), 3, [{}, { status: 'paused' }, { status: 'completed' }]);
    const b = await chain(store, checkpoint({ runId: 'rb', tenantId: 't1' }), 2);
    await chain(store, checkpoint({ runId: 'rc', flowId: 'other' }), 1);

    const all = await store.listByFlow('flow-1');
    expect(all.map((s) => s.id)).toEqual([b[1]!.id, b[0]!.id, a[2]!.id, a[1]!.id, a[0]!.id]);
    expect(all[0]).not.toHaveProperty('nodeStates');
    expect(all[0]).not.toHaveProperty('originalInput');
    expect(all[0]!.tenantId).toBe('t1');
    const page1 = await store.listByFlow('flow-1', { limit: 2 });
    const page2 = await store.listByFlow('flow-1', { limit: 2, beforeId: page1[1]!.id });
    expect([...page1, ...page2].map((s) => s.id)).toEqual(all.slice(0, 4).map((s) => s.id));
    expect((await store.listByFlow('flow-1', { statuses: ['paused', 'completed'] })).map((s) => s.status)).toEqual(['completed', 'paused']);
    expect((await store.listByFlow('flow-1', { tenantId: 't1' })).map((s) => s.runId)).toEqual(['rb', 'rb']);

    expect((await store.listByRun('ra')).map((s) => s.seq)).toEqual([2, 1, 0]);
    expect((await store.listByRun('ra', { beforeSeq: 2, limit: 1 })).map((s) => s.seq)).toEqual([1]);
    expect(await store.listByRun('rb', { tenantId: 'other' })).toEqual([]);
    await expect(store.listByRun('ra', { limit: -1 })).rejects.toThrow(/limit/);
  });

  it('gets the head and the latest checkpoint by run, flow, tenant', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const a = await chain(store, checkpoint({ runId: 'ra' }), 2);
    const b = await chain(store, checkpoint({ runId: 'rb', flowId: 'f2', tenantId: 't1' }), 1);
    expect(await store.getHead('ra')).toBe(a[1]!.id);
    expect(await store.getHead('zz')).toBeNull();
    expect((await store.getLatest({ runId: 'ra' }))!.id).toBe(a[1]!.id);
    expect((await store.getLatest({ flowId: 'flow-1' }))!.id).toBe(a[1]!.id);
    expect((await store.getLatest({}))!.id).toBe(b[0]!.id);
    expect((await store.getLatest({ tenantId: 't1' }))!.id).toBe(b[0]!.id);
    expect(await store.getLatest({ runId: 'rb', tenantId: 't2' })).toBeNull();
    expect(await store.getLatest({ runId: 'ra', flowId: 'f2' })).toBeNull();
    expect(await store.getLatest({ runId: 'none' })).toBeNull();
    expect(await store.getLatest({ flowId: 'none' })).toBeNull();
  });

  it('scopes load to a tenant: another tenant gets NotFoundError', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const cp = checkpoint({ tenantId: 't1' });
    await store.save(cp);
    await expect(store.load(cp.id, { tenantId: 't1' })).resolves.toBeDefined();
    await expect(store.load(cp.id, { tenantId: 't2' })).rejects.toThrow(NotFoundError);
    await expect(store.getChain(cp.id, { tenantId: 't2' })).rejects.toThrow(NotFoundError);
  });

  it('getChain walks parents to the root, across a fork into the source run', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const a = await chain(store, checkpoint({ runId: 'source' }), 3);
    // time travel from a[1]: a new run whose first checkpoint's parent is a[1]
    const fork = await chain(store, checkpoint({ runId: 'fork', parentCheckpointId: a[1]!.id, seq: 0 }), 2);
    expect((await store.getChain(fork[1]!.id)).map((s) => s.id)).toEqual([fork[1]!.id, fork[0]!.id, a[1]!.id, a[0]!.id]);
    expect((await store.getChain(a[2]!.id)).map((s) => s.runId)).toEqual(['source', 'source', 'source']);
    // an ancestor removed by retention ends the chain
    await store.delete(a[0]!.id);
    expect((await store.getChain(fork[1]!.id)).map((s) => s.id)).toEqual([fork[1]!.id, fork[0]!.id, a[1]!.id]);
    await expect(store.getChain('missing')).rejects.toThrow(NotFoundError);
  });

  it('listPendingInput returns only run heads waiting for input', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    // answered: its pending_input checkpoint is no longer the head
    await chain(store, checkpoint({ runId: 'answered', status: 'pending_input', pendingInputs: [pending] }), 2, [
      {},
      { status: 'active', pendingInputs: [] },
    ]);
    const answered = await store.listByRun('answered');
    expect(answered.map((s) => s.status)).toEqual(['active', 'pending_input']);
    const w1 = await chain(store, checkpoint({ runId: 'w1' }), 2, [{}, { status: 'pending_input', pendingInputs: [pending] }]);
    const w2 = await chain(store, checkpoint({ runId: 'w2', flowId: 'f2', tenantId: 't', status: 'pending_input', pendingInputs: [pending] }), 1);

    const all = await store.listPendingInput();
    expect(all.map((s) => s.id)).toEqual([w2[0]!.id, w1[1]!.id]);
    expect(all[1]!.pendingInputs).toEqual([pending]);
    expect((await store.listPendingInput({ flowId: 'flow-1' })).map((s) => s.runId)).toEqual(['w1']);
    expect((await store.listPendingInput({ tenantId: 't' })).map((s) => s.runId)).toEqual(['w2']);
    expect(await store.listPendingInput({ limit: 1 })).toHaveLength(1);
  });

  it('update appends a successor of the head that shares its state', async () => {
    const { adapter } = interceptingAdapter(new MemoryAdapter());
    const store = new CheckpointStore(adapter);
    const [cp] = await chain(store, checkpoint({ nodeStates: { n: node('n', { output: 'o'.repeat(3000) }) }, metadata: { a: 1 } }), 1);
    const updated = await store.update(cp!.id, { status: 'canceled', metadata: { b: 2 } });
    expect(updated).toMatchObject({ seq: 1, parentCheckpointId: cp!.id, status: 'canceled', metadata: { a: 1, b: 2 } });
    expect(await store.getHead(cp!.runId)).toBe(updated.id);
    expect(await store.load(updated.id)).toEqual(updated);
    await expect(store.update(cp!.id, { status: 'paused' })).rejects.toThrow(CheckpointConflictError);
    const again = await store.update(updated.id, { pendingInputs: [pending], status: 'pending_input' });
    expect((await store.listPendingInput()).map((s) => s.id)).toEqual([again.id]);
    const lease = await store.acquireLease(cp!.runId, 'me', 1000);
    await expect(store.update(again.id, { status: 'active' })).rejects.toThrow(/locked/);
    await expect(store.update(again.id, { status: 'active' }, { lease })).resolves.toMatchObject({ status: 'active' });
  });

  it('delete removes a checkpoint and the blobs only it used; deleteRun removes everything', async () => {
    const { adapter, remaining } = interceptingAdapter(new MemoryAdapter());
    const store = new CheckpointStore(adapter);
    const cps = await chain(store, checkpoint({ nodeStates: { n: node('n', { output: 'a'.repeat(1000) }) } }), 2, [
      {},
      { nodeStates: { n: node('n', { output: 'b'.repeat(1000) }) } },
    ]);
    const before = await remaining('run-1');
    await store.delete(cps[1]!.id);
    expect(await remaining('run-1')).toBeLessThan(before);
    expect(await store.load(cps[0]!.id)).toEqual(cps[0]);
    await expect(store.load(cps[1]!.id)).rejects.toThrow(NotFoundError);
    await expect(store.delete(cps[1]!.id)).rejects.toThrow(NotFoundError);
    // the store forgot what the deleted checkpoint held: saving from its parent rewrites missing blobs
    const again = next(cps[0]!, { id: uuidv7(), nodeStates: { n: node('n', { output: 'b'.repeat(1000) }) } });
    expect((await store.save(again)).blobsWritten).toBeGreaterThan(0);
    expect(await store.load(again.id)).toEqual(again);

    await store.deleteRun('run-1');
    expect(await remaining('run-1')).toBe(0);
    expect(await store.getHead('run-1')).toBeNull();
    expect(await store.listByRun('run-1')).toEqual([]);
  });
});
