import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { CorruptCheckpointError, InvalidArgumentError, type SavepointError } from '../../src/errors.js';
import type { CheckpointStatus, FlowCheckpoint } from '../../src/models/checkpoint.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { GC_LEASE_MS } from '../../src/store/retention-sweeper.js';
import { TOMBSTONE_KEY } from '../../src/store/retention-tombstone.js';
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

/** The ids of a run's remaining checkpoints, newest first. */
const idsOf = async (store: CheckpointStore, runId: string) => (await store.listByRun(runId)).map((s) => s.id);
const newestIds = (cps: FlowCheckpoint[], n: number) => cps.slice(-n).reverse().map((cp) => cp.id);

describe('cleanup: maxCheckpointsPerRun', () => {
  it("trims each run to its newest N (its head always), whatever its status, and collects the trimmed blobs", async () => {
    const { adapter, remaining } = interceptingAdapter(new MemoryAdapter());
    const store = new CheckpointStore(adapter);
    const done = await run(store, 'done', ['active', 'active', 'active', 'active', 'completed']);
    const busy = await run(store, 'busy', ['active', 'active', 'paused']);
    const waiting = await run(store, 'waiting', ['pending_input']);

    const result = await store.cleanup({ maxCheckpointsPerRun: 2, retentionDays: null });
    expect(result.deletedCheckpoints).toBe(3 + 1);
    expect(await idsOf(store, 'done')).toEqual(newestIds(done, 2));
    expect(await idsOf(store, 'busy')).toEqual(newestIds(busy, 2));
    expect(await idsOf(store, 'waiting')).toEqual([waiting[0]!.id]);
    // each trimmed checkpoint held one blob of its own (its node state); the input and config blobs are shared
    expect(result.deletedBlobs).toBe(4);
    expect(await remaining('done')).toBe(8 - 3);
    for (const id of [...newestIds(done, 2), ...newestIds(busy, 2), waiting[0]!.id]) await expect(store.load(id)).resolves.toBeDefined();
  });

  it("never deletes a run's history because of other runs: 60 runs of one flow each keep their newest N", async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const runs: FlowCheckpoint[][] = [];
    for (let i = 0; i < 60; i += 1) runs.push(await run(store, `run-${i}`, ['active', 'active', 'completed'], { createdAt: Date.now() }));
    expect((await store.cleanup({ maxCheckpointsPerRun: 3 })).deletedCheckpoints).toBe(0);
    expect((await store.cleanup()).deletedCheckpoints).toBe(0);
    await store.cleanup({ maxCheckpointsPerRun: 2, retentionDays: null });
    for (const [i, cps] of runs.entries()) expect(await idsOf(store, `run-${i}`)).toEqual(newestIds(cps, 2));
  });

  it('limits itself to one run or one flow when asked', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const a = await run(store, 'a', ['active', 'active', 'completed'], { flowId: 'fa' });
    const b = await run(store, 'b', ['active', 'active', 'completed'], { flowId: 'fa' });
    const c = await run(store, 'c', ['active', 'active', 'completed'], { flowId: 'fb' });
    const keepOne = { maxCheckpointsPerRun: 1, retentionDays: null };
    expect((await store.cleanup({ runId: 'a', ...keepOne })).deletedCheckpoints).toBe(2);
    expect(await idsOf(store, 'b')).toHaveLength(3);
    expect((await store.cleanup({ flowId: 'fa', ...keepOne })).deletedCheckpoints).toBe(2);
    expect(await idsOf(store, 'c')).toHaveLength(3);
    expect((await store.cleanup({ runId: 'c', flowId: 'fa', ...keepOne })).deletedCheckpoints).toBe(0);
    expect([await idsOf(store, 'a'), await idsOf(store, 'b')]).toEqual([newestIds(a, 1), newestIds(b, 1)]);
    expect(await idsOf(store, 'c')).toEqual(newestIds(c, 3));
  });

  it('reads the deprecated maxCheckpoints per run: it no longer deletes whole runs, and maxCheckpointsPerRun wins', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const older = await run(store, 'older', ['active', 'active', 'completed']);
    const newer = await run(store, 'newer', ['active', 'active', 'completed']);
    // per flow, maxCheckpoints: 2 deleted everything of `older`
    await store.cleanup({ maxCheckpoints: 2, retentionDays: null });
    expect(await idsOf(store, 'older')).toEqual(newestIds(older, 2));
    expect(await idsOf(store, 'newer')).toEqual(newestIds(newer, 2));
    await store.cleanup({ maxCheckpoints: 1, maxCheckpointsPerRun: 2, retentionDays: null });
    expect(await idsOf(store, 'older')).toHaveLength(2);
    // 0 (allowed before) keeps the head only
    await store.cleanup({ maxCheckpoints: 0, retentionDays: null });
    expect([await idsOf(store, 'older'), await idsOf(store, 'newer')]).toEqual([newestIds(older, 1), newestIds(newer, 1)]);
  });

  it('asks the adapter for bounded pages, also for a run longer than a page', async () => {
    const memory = new MemoryAdapter();
    const limits: Array<number | undefined> = [];
    const adapter: StorageAdapter = Object.create(memory);
    adapter.queryHeaders = (query) => {
      limits.push(query.limit);
      return memory.queryHeaders(query);
    };
    const store = new CheckpointStore(adapter);
    let cp = checkpoint({ runId: 'long', flowId: 'flow' });
    await store.save(cp);
    for (let i = 1; i < 1_203; i += 1) {
      cp = next(cp, { status: i === 1_202 ? 'completed' : 'active' });
      await store.save(cp);
    }
    limits.length = 0;
    expect((await store.cleanup({ maxCheckpointsPerRun: 3, retentionDays: null })).deletedCheckpoints).toBe(1_200);
    expect(limits.length).toBeGreaterThan(3);
    expect(limits.every((limit) => limit !== undefined && limit <= 500)).toBe(true);
    expect((await store.listByRun('long')).map((s) => s.seq)).toEqual([1_202, 1_201, 1_200]);
  });
});

describe('cleanup: retentionDays', () => {
  const now = Date.UTC(2025, 5, 1);

  it('removes finished runs whose head is older, blobs included; unfinished, waiting and younger runs stay whole', async () => {
    const { adapter, remaining } = interceptingAdapter(new MemoryAdapter());
    const store = new CheckpointStore(adapter);
    const old = now - 31 * DAY;
    await run(store, 'completed', ['active', 'completed'], { createdAt: old });
    await run(store, 'failed', ['active', 'failed'], { createdAt: old });
    await run(store, 'canceled', ['canceled'], { createdAt: old });
    const kept = {
      active: await run(store, 'active', ['active', 'active'], { createdAt: old }),
      paused: await run(store, 'paused', ['active', 'paused'], { createdAt: old }),
      waiting: await run(store, 'waiting', ['active', 'pending_input'], { createdAt: old }),
      young: await run(store, 'young', ['active', 'completed'], { createdAt: now - 29 * DAY }),
    };
    // aged by the head: old history, a head updated yesterday
    const resumed = await run(store, 'resumed', ['active', 'failed'], { createdAt: old });
    const yesterday = new Date(now - DAY);
    await store.save(next(resumed[1]!, { status: 'completed', createdAt: yesterday, updatedAt: yesterday }));

    const result = await store.cleanup({ retentionDays: 30, now: new Date(now) });
    expect(result.deletedCheckpoints).toBe(5);
    expect(result.deletedBlobs).toBeGreaterThan(0);
    for (const runId of ['completed', 'failed', 'canceled']) {
      expect(await store.listByRun(runId)).toEqual([]);
      expect(await store.getHead(runId)).toBeNull();
      expect(await remaining(runId)).toBe(1); // the tombstone alone
    }
    for (const [runId, cps] of Object.entries(kept)) expect(await idsOf(store, runId)).toEqual(newestIds(cps, cps.length));
    expect(await idsOf(store, 'resumed')).toHaveLength(3);
  });

  it('defaults to 30 days, measured with the injected clock', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    await run(store, 'month-old', ['completed'], { createdAt: now - 30 * DAY - 1 });
    await run(store, 'almost', ['completed'], { createdAt: now - 30 * DAY + 1_000 });
    expect((await store.cleanup({ now })).deletedCheckpoints).toBe(1);
    expect(await store.getHead('month-old')).toBeNull();
    expect(await store.getHead('almost')).not.toBeNull();
    expect((await store.cleanup({ now: now + 2_000 })).deletedCheckpoints).toBe(1);
    expect((await store.cleanup({ now: now + 365 * DAY, retentionDays: null })).deletedCheckpoints).toBe(0);
  });

  it('leaves a record of the removal that removedByRetention reads; deleteRun leaves none', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const cps = await run(store, 'gone', ['active', 'failed'], { createdAt: now - 40 * DAY });
    await run(store, 'deleted', ['completed']);
    await store.cleanup({ runId: 'gone', retentionDays: 30, now });
    expect(await store.removedByRetention('gone')).toEqual({
      runId: 'gone',
      tenantId: null,
      setting: 'retentionDays',
      retentionDays: 30,
      status: 'failed',
      lastUpdatedAt: cps[1]!.updatedAt.getTime(),
      removedAt: now,
    });
    // a later collection of the run keeps the record
    await store.cleanup({ runId: 'gone', maxCheckpointsPerRun: 1, retentionDays: 30, now });
    await store.delete((await store.save(checkpoint({ runId: 'gone', flowId: 'flow' }))).id);
    expect(await store.removedByRetention('gone')).toMatchObject({ runId: 'gone' });
    await store.deleteRun('deleted');
    expect(await store.removedByRetention('deleted')).toBeNull();
    expect(await store.removedByRetention('never-existed')).toBeNull();
    await expect(store.removedByRetention('../x')).rejects.toThrow(InvalidArgumentError);
    // a record that does not parse, or is of another run or version, only words an error: it is ignored
    for (const data of ['{not json', JSON.stringify({ v: 2, runId: 'odd', retentionDays: 30 }), JSON.stringify({ v: 1, runId: 'other', retentionDays: 30 })]) {
      await store.deleteRun('odd');
      await store.adapter.putBlobs('odd', [{ hash: TOMBSTONE_KEY, data }]);
      expect(await store.removedByRetention('odd')).toBeNull();
    }
  });

  it("records the removed run's tenant; a record written before tenants were recorded names none", async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const createdAt = new Date(now - 40 * DAY);
    await store.save(checkpoint({ runId: 'acme-run', flowId: 'flow', tenantId: 'acme', status: 'completed', createdAt, updatedAt: createdAt }));
    await store.cleanup({ now });
    expect(await store.removedByRetention('acme-run')).toMatchObject({ runId: 'acme-run', tenantId: 'acme', removedAt: now });
    const older = { v: 1, runId: 'older', setting: 'retentionDays', retentionDays: 30, status: 'completed', lastUpdatedAt: 1, removedAt: 2 };
    await store.adapter.putBlobs('older', [{ hash: TOMBSTONE_KEY, data: JSON.stringify(older) }]);
    const parsed = await store.removedByRetention('older');
    expect(parsed).toMatchObject({ runId: 'older', retentionDays: 30, removedAt: 2 });
    expect(parsed).not.toHaveProperty('tenantId');
  });

  it('skips a run a worker holds, and removes it once the worker let go', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    await run(store, 'held', ['completed'], { createdAt: now - 40 * DAY });
    const lease = await store.acquireLease('held', 'worker', 60_000);
    expect((await store.cleanup({ now })).deletedCheckpoints).toBe(0);
    expect(await store.removedByRetention('held')).toBeNull();
    await store.releaseLease(lease);
    expect((await store.cleanup({ now })).deletedCheckpoints).toBe(1);
  });

  it("never removes a run whose newest checkpoint is unfinished, whatever getHead answers", async () => {
    const store = new CheckpointStore(new LaggingHeadAdapter());
    const cps = await run(store, 'lagging', ['completed', 'active'], { createdAt: now - 40 * DAY });
    expect((await store.cleanup({ now })).deletedCheckpoints).toBe(0);
    expect(await idsOf(store, 'lagging')).toEqual(newestIds(cps, 2));
  });

  it('removes every expired run of a flow spread over several pages', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    for (let i = 0; i < 520; i += 1) await run(store, `r${i}`, ['completed'], { createdAt: now - 40 * DAY, flowId: 'many' });
    await run(store, 'other-flow', ['completed'], { createdAt: now - 40 * DAY });
    expect((await store.cleanup({ flowId: 'many', now })).deletedCheckpoints).toBe(520);
    expect(await store.listByFlow('many')).toEqual([]);
    expect(await store.listByFlow('flow')).toHaveLength(1);
  });
});

describe('cleanup', () => {
  it('does not collect blobs of a run a worker holds (a save in flight writes blobs before its header)', async () => {
    const { adapter, remaining } = interceptingAdapter(new MemoryAdapter());
    const store = new CheckpointStore(adapter);
    const cps = await run(store, 'busy', ['active', 'active', 'active', 'completed']);
    const lease = await store.acquireLease('busy', 'worker', 60_000);
    const before = await remaining('busy');
    const result = await store.cleanup({ maxCheckpointsPerRun: 1 });
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
    await expect(store.cleanup({ maxCheckpointsPerRun: 0 })).rejects.toThrow(/a run always keeps its head/);
    await expect(store.cleanup({ maxCheckpointsPerRun: 1.5 })).rejects.toThrow(InvalidArgumentError);
    await expect(store.cleanup({ retentionDays: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(store.cleanup({ now: Number.NaN })).rejects.toThrow(InvalidArgumentError);
    await expect(store.cleanup({ flowId: '../x' })).rejects.toThrow(InvalidArgumentError);
    await expect(store.cleanup({ runId: '../x' })).rejects.toThrow(InvalidArgumentError);
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
    await store.cleanup({ maxCheckpointsPerRun: 1, retentionDays: null });
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
    const error = await rejection(store.cleanup({ maxCheckpointsPerRun: 1, retentionDays: null }));
    expect(CorruptCheckpointError.isInstance(error)).toBe(true);
    expect(error.message).toContain(head.id);
    expect(await store.listByFlow('flow', { onCorrupt: () => undefined })).toHaveLength(3);
  });

  it('with onCorrupt, keeps the corrupt checkpoint, reports it once and cleans up the rest', async () => {
    const { store, head } = await tamperedHead();
    const reported: SavepointError[] = [];
    // both passes read the corrupt head: its flag says completed and it is old, but it is never trusted
    const result = await store.cleanup({ maxCheckpointsPerRun: 1, retentionDays: 30, onCorrupt: (e) => reported.push(e) });
    expect(reported.map((e) => e.message)).toEqual([expect.stringContaining(head.id)]);
    // `newest` (completed, old) goes whole; the victim's older checkpoint stays: its newest intact one (a fallback target)
    expect(result.deletedCheckpoints).toBe(2);
    expect((await store.listByRun('victim', { onCorrupt: () => undefined })).map((s) => s.seq)).toEqual([0]);
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
