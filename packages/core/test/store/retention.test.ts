import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { CorruptCheckpointError, InvalidArgumentError, type SavepointError } from '../../src/errors.js';
import type { CheckpointStatus, FlowCheckpoint } from '../../src/models/checkpoint.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { GC_LEASE_MS } from '../../src/store/retention-sweeper.js';
import type { Lease, StorageAdapter } from '../../src/store/storage-adapter.js';
import { checkpoint, interceptingAdapter, next, node, rejection } from './helpers.js';

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

/** A memory adapter whose `getHead` answers one checkpoint behind the newest (a head pointer not yet repaired). */
class LaggingHeadAdapter extends MemoryAdapter {
  override async getHead(runId: string): Promise<string | null> {
    const [, previous] = await this.queryHeaders({ runId, order: 'desc', limit: 2 });
    return previous?.id ?? (await super.getHead(runId));
  }
}

describe('cleanup with a lagging head', () => {
  it("never deletes an unfinished run's newest checkpoint, whatever getHead answers", async () => {
    const store = new CheckpointStore(new LaggingHeadAdapter());
    const failed = await run(store, 'failed', ['active', 'active', 'failed']);
    const waiting = await run(store, 'waiting', ['active', 'pending_input']);
    await run(store, 'newest', ['completed', 'completed', 'completed']);
    await store.cleanup({ maxCheckpoints: 1 });
    const left = new Set((await store.listByFlow('flow')).map((s) => s.id));
    expect(left.has(failed[2]!.id)).toBe(true);
    expect(left.has(waiting[1]!.id)).toBe(true);
    await expect(store.load(failed[2]!.id)).resolves.toMatchObject({ status: 'failed' });
    await expect(store.load(waiting[1]!.id)).resolves.toMatchObject({ status: 'pending_input' });
  });
});

describe('cleanup and corrupt headers', () => {
  /** A run whose unfinished head is flagged `completed` in storage, as an attacker or a bad migration would. */
  async function tamperedHead() {
    const adapter = new MemoryAdapter();
    const store = new CheckpointStore(adapter);
    const cps = await run(store, 'victim', ['active', 'failed']);
    await run(store, 'newest', ['completed', 'completed']);
    const head = (await adapter.getHeader(cps[1]!.id))!;
    await adapter.deleteHeaders([head.id]);
    await adapter.putHeader({ ...head, status: 'completed' });
    return { store, head: cps[1]! };
  }

  it('throws a CorruptCheckpointError naming the checkpoint by default, and deletes nothing of that flow', async () => {
    const { store, head } = await tamperedHead();
    const error = await rejection(store.cleanup({ maxCheckpoints: 1 }));
    expect(CorruptCheckpointError.isInstance(error)).toBe(true);
    expect(error.message).toContain(head.id);
    expect(await store.listByFlow('flow', { onCorrupt: () => undefined })).toHaveLength(3);
  });

  it('with onCorrupt, keeps the corrupt checkpoint, reports it and cleans up the rest', async () => {
    const { store, head } = await tamperedHead();
    const reported: SavepointError[] = [];
    const result = await store.cleanup({ maxCheckpoints: 1, onCorrupt: (e) => reported.push(e) });
    expect(reported.map((e) => e.message)).toEqual([expect.stringContaining(head.id)]);
    // only newest's older checkpoint goes: the victim's older one is now its newest intact one (a fallback target)
    expect(result.deletedCheckpoints).toBe(1);
    await expect(store.load(head.id)).rejects.toThrow(CorruptCheckpointError);
  });
});

describe('garbage collection lease', () => {
  /**
   * A collector that dies midway: once it holds its lease, every adapter call it makes hangs (a killed process
   * answers nothing and renews nothing). Its lease must lapse within GC_LEASE_MS, not the run lease's ttl.
   */
  it('a collector killed while holding its lease blocks a resume for a few seconds at most', async () => {
    let now = Date.UTC(2025, 0, 1);
    const inner = new MemoryAdapter({ now: () => now });
    const store = new CheckpointStore(inner);
    const cps = await run(store, 'run-a', ['active', 'active', 'active']);
    const grants: Array<{ lease: Lease; ttlMs: number }> = [];
    let dead = false;
    const hang = new Promise<never>(() => undefined);
    const dying: StorageAdapter = Object.create(inner);
    dying.acquireLease = async (runId, owner, ttlMs) => {
      const lease = await inner.acquireLease(runId, owner, ttlMs);
      if (lease) grants.push({ lease, ttlMs });
      dead = true;
      return lease;
    };
    for (const method of ['getBlobs', 'queryHeaders', 'renewLease', 'releaseLease', 'deleteBlobsExcept'] as const) {
      const real = (inner[method] as (...args: unknown[]) => Promise<unknown>).bind(inner);
      (dying as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => (dead ? hang : real(...args));
    }
    void new CheckpointStore(dying).delete(cps[0]!.id); // deletes the header, then dies inside GC

    for (let i = 0; i < 100 && grants.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(grants).toHaveLength(1);
    const [{ lease, ttlMs }] = grants as [{ lease: Lease; ttlMs: number }];
    expect(lease.owner).toMatch(/^savepoint:gc:/);
    expect(ttlMs).toBe(GC_LEASE_MS);
    expect(GC_LEASE_MS).toBeLessThanOrEqual(10_000);
    expect(lease.expiresAt - now).toBe(GC_LEASE_MS);

    // while the lease runs, a worker is refused; once it lapses (seconds later, not a minute), the resume proceeds
    await expect(store.acquireLease('run-a', 'worker', 30_000)).rejects.toThrow(/being run by another worker/);
    now += GC_LEASE_MS + 1;
    const resumed = await store.acquireLease('run-a', 'worker', 30_000);
    expect(resumed.token).toBeGreaterThan(lease.token);
  });

  it('renews its lease while it works and releases it when done', async () => {
    const inner = new MemoryAdapter();
    const store = new CheckpointStore(inner);
    const cps = await run(store, 'run-b', ['active', 'active']);
    const calls: string[] = [];
    let releaseReads: () => void = () => undefined;
    const slowReads = new Promise<void>((resolve) => (releaseReads = resolve));
    const watched: StorageAdapter = Object.create(inner);
    watched.renewLease = async (lease, ttlMs) => {
      calls.push('renew');
      return inner.renewLease(lease, ttlMs);
    };
    watched.releaseLease = async (lease) => {
      calls.push('release');
      return inner.releaseLease(lease);
    };
    watched.getBlobs = async (runId, hashes) => {
      await slowReads;
      return inner.getBlobs(runId, hashes);
    };
    const deleting = new CheckpointStore(watched).delete(cps[0]!.id);
    // the collector waits on its reads longer than a third of its ttl: the heartbeat renews meanwhile
    for (let i = 0; i < 600 && !calls.includes('renew'); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toContain('renew');
    releaseReads();
    await deleting;
    expect(calls[calls.length - 1]).toBe('release');
    await expect(store.acquireLease('run-b', 'worker', 30_000)).resolves.toMatchObject({ owner: 'worker' });
  });

  it('deletes nothing when its lease was taken over meanwhile', async () => {
    let now = Date.UTC(2025, 0, 1);
    const inner = new MemoryAdapter({ now: () => now });
    const { adapter, remaining } = interceptingAdapter(inner);
    const store = new CheckpointStore(adapter);
    const cps = await run(store, 'run-c', ['active', 'active']);
    const before = await remaining('run-c');
    const slow: StorageAdapter = Object.create(adapter);
    slow.getBlobs = async (runId, hashes) => {
      // the collector stalls past its ttl (a long pause) and a worker takes the run over
      now += GC_LEASE_MS + 1;
      if ((await inner.acquireLease(runId, 'worker', 30_000)) === null) throw new Error('the takeover should succeed');
      return inner.getBlobs(runId, hashes);
    };
    await new CheckpointStore(slow).delete(cps[0]!.id);
    expect(await remaining('run-c')).toBe(before);
  });
});
