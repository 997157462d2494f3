import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { CheckpointStatus, FlowCheckpoint } from '../../src/models/checkpoint.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { checkpoint, interceptingAdapter, next, node } from './helpers.js';

const DAY = 86_400_000;

/** Writes a run of checkpoints with the given statuses (oldest first); each has its own state blob. */
async function run(store: CheckpointStore, runId: string, statuses: CheckpointStatus[], opts: { flowId?: string; createdAt?: number } = {}) {
  const out: FlowCheckpoint[] = [];
  let cp: FlowCheckpoint | undefined;
  for (const [i, status] of statuses.entries()) {
    const createdAt = new Date((opts.createdAt ?? Date.UTC(2025, 0, 1)) + i);
    const state = { n: node('n', { output: { step: i, runId, pad: 'p'.repeat(500) } }) };
    cp = cp
      ? next(cp, { status, nodeStates: state, createdAt, updatedAt: createdAt })
      : checkpoint({ runId, flowId: opts.flowId ?? 'flow', status, nodeStates: state, createdAt, updatedAt: createdAt });
    await store.save(cp);
    out.push(cp);
  }
  return out;
}

describe('cleanup', () => {
  it('keeps the newest N per flow, but never the head of an unfinished run or a pending_input head', async () => {
    const { adapter, remaining } = interceptingAdapter(new MemoryAdapter());
    const store = new CheckpointStore(adapter);
    const unfinished = await run(store, 'unfinished', ['active', 'active', 'paused']);
    const waiting = await run(store, 'waiting', ['active', 'pending_input']);
    const done = await run(store, 'done', ['active', 'active', 'completed']);
    const failed = await run(store, 'failed', ['active', 'failed']);
    const newest = await run(store, 'newest', ['active', 'active']);

    const result = await store.cleanup({ maxCheckpoints: 3 });
    const left = (await store.listByFlow('flow')).map((s) => s.id);
    // newest 3 by id: newest[1], newest[0], failed[1]; plus the protected heads
    expect(new Set(left)).toEqual(new Set([newest[1]!.id, newest[0]!.id, failed[1]!.id, unfinished[2]!.id, waiting[1]!.id]));
    expect(result.deletedCheckpoints).toBe(12 - 5);
    expect(result.deletedBlobs).toBeGreaterThan(0);

    // every kept checkpoint still loads (its blobs survived GC)
    for (const id of left) await expect(store.load(id)).resolves.toBeDefined();
    // a run with no checkpoint left has no blob left
    expect(await remaining('done')).toBe(0);
    // a run keeps exactly the blobs its remaining checkpoints use
    expect(await remaining('unfinished')).toBe(4); // the head's node state, its output (> 384 bytes), input, config
    expect(await store.getHead('done')).toBeNull();
  });

  it('keeps the heads of failed and canceled runs: they can still be resumed', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const failed = await run(store, 'failed', ['active', 'failed']);
    const canceled = await run(store, 'canceled', ['active', 'canceled']);
    const done = await run(store, 'done', ['active', 'completed']);
    await run(store, 'newest', ['active', 'completed']);
    await store.cleanup({ maxCheckpoints: 2 });
    const left = new Set((await store.listByFlow('flow')).map((s) => s.id));
    expect(left.has(failed[1]!.id)).toBe(true);
    expect(left.has(canceled[1]!.id)).toBe(true);
    expect(left.has(done[1]!.id)).toBe(false);
    await expect(store.load(failed[1]!.id)).resolves.toMatchObject({ status: 'failed' });
  });

  it('drops checkpoints older than retentionDays (heads of unfinished runs survive)', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const now = Date.UTC(2025, 5, 1);
    const old = await run(store, 'old', ['active', 'active'], { createdAt: now - 40 * DAY });
    const oldDone = await run(store, 'old-done', ['completed'], { createdAt: now - 40 * DAY });
    const recent = await run(store, 'recent', ['active', 'completed'], { createdAt: now - DAY });
    const result = await store.cleanup({ retentionDays: 30, maxCheckpoints: 100, now: new Date(now) });
    expect(result.deletedCheckpoints).toBe(2);
    const left = new Set((await store.listByFlow('flow')).map((s) => s.id));
    expect(left).toEqual(new Set([old[1]!.id, recent[0]!.id, recent[1]!.id]));
    expect(left.has(oldDone[0]!.id)).toBe(false);
  });

  it('limits itself to one flow when asked, and defaults to 10 per flow', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    await run(store, 'a', Array(12).fill('completed'), { flowId: 'fa' });
    await run(store, 'b', Array(12).fill('completed'), { flowId: 'fb' });
    expect((await store.cleanup({ flowId: 'fa', maxCheckpoints: 1 })).deletedCheckpoints).toBe(11);
    expect(await store.listByFlow('fb')).toHaveLength(12);
    expect((await store.cleanup()).deletedCheckpoints).toBe(2);
    expect(await store.listByFlow('fb')).toHaveLength(10);
    expect((await store.cleanup()).deletedCheckpoints).toBe(0);
  });

  it('does not collect blobs of a run a worker holds (a save in flight writes blobs before its header)', async () => {
    const { adapter, remaining } = interceptingAdapter(new MemoryAdapter());
    const store = new CheckpointStore(adapter);
    const cps = await run(store, 'busy', ['active', 'active', 'active', 'completed']);
    const lease = await store.acquireLease('busy', 'worker', 60_000);
    const before = await remaining('busy');
    const result = await store.cleanup({ maxCheckpoints: 1 });
    expect(result).toEqual({ deletedCheckpoints: 3, deletedBlobs: 0 });
    expect(await remaining('busy')).toBe(before);
    await store.releaseLease(lease);
    // the next explicit delete collects what is unreferenced
    await store.delete(cps[3]!.id);
    expect(await remaining('busy')).toBe(0);
  });

  it('validates its options', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    await expect(store.cleanup({ maxCheckpoints: -1 })).rejects.toThrow(InvalidArgumentError);
    await expect(store.cleanup({ retentionDays: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(store.cleanup({ flowId: '../x' })).rejects.toThrow(InvalidArgumentError);
  });
});
