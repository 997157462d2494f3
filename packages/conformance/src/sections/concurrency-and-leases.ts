import { describe, expect, it } from '@jest/globals';
import { CheckpointConflictError, LeaseLostError, RunLockedError } from '@savepoint/core';
import { makeCheckpoint, makeHeader, shuffled, sleep } from '../fixtures.js';
import type { SuiteContext } from '../suite-context.js';

const LONG_TTL = 60_000;
const SHORT_TTL = 40;

/** Many writers on one run: compare-and-set, leases and fencing through `CheckpointStore`. */
export function concurrencyAndLeaseTests(ctx: SuiteContext): void {
  describe('concurrent writers', () => {
    it('with expectedHead, exactly one of many concurrent saves wins; the others get CheckpointConflictError', async () => {
      const store = ctx.store();
      const root = makeCheckpoint();
      await store.save(root, { expectedHead: null });
      const contenders = Array.from({ length: 10 }, (_, i) =>
        makeCheckpoint({ seq: 1, parentCheckpointId: root.id, originalInput: { contender: i } }),
      );
      const results = await Promise.allSettled(contenders.map((checkpoint) => ctx.store().save(checkpoint, { expectedHead: root.id })));
      const winners = contenders.filter((_, i) => results[i]!.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      for (const result of results) {
        if (result.status === 'rejected') expect(CheckpointConflictError.isInstance(result.reason)).toBe(true);
      }
      expect(await store.getHead('run-1')).toBe(winners[0]!.id);
      expect(await ctx.store().load(winners[0]!.id)).toEqual(winners[0]);
      await expect(store.save(makeCheckpoint({ seq: 2 }), { expectedHead: root.id })).rejects.toThrow(CheckpointConflictError);
    });

    it('without expectedHead, concurrent saves all land and the head is the highest seq', async () => {
      const store = ctx.store();
      const run = Array.from({ length: 10 }, (_, seq) => makeCheckpoint({ seq, originalInput: { seq } }));
      await Promise.all(shuffled(run, 23).map((checkpoint) => store.save(checkpoint)));
      expect(await store.getHead('run-1')).toBe(run[9]!.id);
      expect((await store.listByRun('run-1')).map((summary) => summary.seq)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      for (const checkpoint of run) expect(await ctx.store().load(checkpoint.id)).toEqual(checkpoint);
    });
  });

  if (ctx.init.capabilities?.leases === false) return;

  describe('leases', () => {
    it('acquire, renew and release; a second owner is refused while the lease is held', async () => {
      const store = ctx.store();
      const lease = await store.acquireLease('run-1', 'worker-a', LONG_TTL);
      expect(lease).toMatchObject({ runId: 'run-1', owner: 'worker-a' });
      expect(lease.expiresAt).toBeGreaterThan(Date.now());
      await expect(store.acquireLease('run-1', 'worker-b', LONG_TTL)).rejects.toThrow(RunLockedError);
      expect(await ctx.adapter().acquireLease('run-1', 'worker-b', LONG_TTL)).toBeNull();

      const again = await store.acquireLease('run-1', 'worker-a', LONG_TTL);
      expect(again.token).toBe(lease.token);
      const renewed = await store.renewLease(again, 2 * LONG_TTL);
      expect(renewed.token).toBe(lease.token);
      expect(renewed.expiresAt).toBeGreaterThan(lease.expiresAt);

      await store.releaseLease(renewed);
      const next = await store.acquireLease('run-1', 'worker-b', LONG_TTL);
      expect(next.token).toBeGreaterThan(lease.token);
      await expect(store.renewLease(renewed, LONG_TTL)).rejects.toThrow(LeaseLostError);
      expect(await ctx.adapter().renewLease(renewed, LONG_TTL)).toBeNull();
      const other = await store.acquireLease('run-2', 'worker-a', LONG_TTL);
      expect(other.runId).toBe('run-2');
    });

    it('an expired lease is taken over with a higher fencing token', async () => {
      const store = ctx.store();
      const old = await store.acquireLease('run-1', 'worker-a', SHORT_TTL);
      await sleep(SHORT_TTL * 3);
      const taken = await store.acquireLease('run-1', 'worker-b', LONG_TTL);
      expect(taken.owner).toBe('worker-b');
      expect(taken.token).toBeGreaterThan(old.token);
      await expect(store.renewLease(old, LONG_TTL)).rejects.toThrow(LeaseLostError);
      await store.releaseLease(old);
      await expect(store.acquireLease('run-1', 'worker-c', LONG_TTL)).rejects.toThrow(RunLockedError);
    });

    it('fences writes: a stale owner gets LeaseLostError, a writer without the lease RunLockedError', async () => {
      const store = ctx.store();
      const root = makeCheckpoint();
      const held = await store.acquireLease('run-1', 'worker-a', LONG_TTL);
      await store.save(root, { lease: held });
      // Shorten the lease only after the write, so a slow machine cannot make that write fail.
      const old = await store.renewLease(held, SHORT_TTL);
      await sleep(SHORT_TTL * 3);
      const current = await store.acquireLease('run-1', 'worker-b', LONG_TTL);

      const stale = makeCheckpoint({ seq: 1, parentCheckpointId: root.id, status: 'completed' });
      await expect(store.save(stale, { lease: old })).rejects.toThrow(LeaseLostError);
      await expect(ctx.adapter().putHeader(makeHeader({ seq: 1 }), { lease: old })).rejects.toThrow(LeaseLostError);
      await expect(store.save(stale)).rejects.toThrow(RunLockedError);
      await expect(store.update(root.id, { status: 'canceled' })).rejects.toThrow(RunLockedError);
      expect(await store.getHead('run-1')).toBe(root.id);

      const fresh = makeCheckpoint({ seq: 1, parentCheckpointId: root.id });
      await store.save(fresh, { lease: current, expectedHead: root.id });
      expect(await store.getHead('run-1')).toBe(fresh.id);
      const updated = await store.update(fresh.id, { status: 'completed' }, { lease: current });
      expect(updated.seq).toBe(2);

      await store.releaseLease(current);
      await expect(store.save(makeCheckpoint({ seq: 3 }), { lease: current })).rejects.toThrow(LeaseLostError);
      const free = makeCheckpoint({ seq: 3, parentCheckpointId: updated.id });
      await store.save(free);
      expect(await store.getHead('run-1')).toBe(free.id);
    });
  });
}

