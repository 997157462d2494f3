import { describe, expect, it } from '@jest/globals';
import { uuidv7, type FlowCheckpoint } from '@savepoint/core';
import { makeCheckpoint, shuffled } from '../fixtures.js';
import type { SuiteContext } from '../suite-context.js';

const ids = (rows: ReadonlyArray<{ id: string }>) => rows.map((row) => row.id);

/** Listing, filtering and chains through `CheckpointStore`. */
export function storeQueryTests(ctx: SuiteContext): void {
  describe('store queries', () => {
    it('orders a run by seq, whatever the clocks and ids say', async () => {
      const store = ctx.store();
      const scrambledIds = shuffled(Array.from({ length: 8 }, () => uuidv7()), 13);
      const times = shuffled(Array.from({ length: 8 }, (_, i) => Date.UTC(2025, 0, 1 + i)), 17);
      const run = scrambledIds.map((id, seq) =>
        makeCheckpoint({ id, seq, createdAt: new Date(times[seq]!), updatedAt: new Date(times[seq]!) }),
      );
      for (const checkpoint of shuffled(run, 19)) await store.save(checkpoint);
      const bySeq = [...run].reverse();
      expect(ids(await store.listByRun('run-1'))).toEqual(ids(bySeq));
      expect(ids(await store.listByRun('run-1', { limit: 3 }))).toEqual(ids(bySeq.slice(0, 3)));
      expect(ids(await store.listByRun('run-1', { beforeSeq: 3 }))).toEqual(ids(bySeq.slice(5)));
      expect(await store.getHead('run-1')).toBe(run[7]!.id);
      expect((await store.getLatest({ runId: 'run-1' }))?.id).toBe(run[7]!.id);
      const summary = (await store.listByRun('run-1', { limit: 1 }))[0]!;
      expect(summary).toMatchObject({ id: run[7]!.id, seq: 7, flowId: 'flow-a', status: 'active' });
      expect(summary).not.toHaveProperty('nodeStates');
    });

    it('lists a flow newest first with status, tenant, limit and beforeId filters', async () => {
      const store = ctx.store();
      const save = async (overrides: Partial<FlowCheckpoint>) => {
        const checkpoint = makeCheckpoint(overrides);
        await store.save(checkpoint);
        return checkpoint;
      };
      const a0 = await save({ runId: 'r-a', tenantId: 'acme' });
      const a1 = await save({ runId: 'r-a', seq: 1, status: 'completed', tenantId: 'acme' });
      const b0 = await save({ runId: 'r-b', status: 'failed', tenantId: 'globex' });
      const c0 = await save({ runId: 'r-c', flowId: 'flow-b' });
      expect(ids(await store.listByFlow('flow-a'))).toEqual([b0.id, a1.id, a0.id]);
      expect(ids(await store.listByFlow('flow-a', { limit: 2 }))).toEqual([b0.id, a1.id]);
      expect(ids(await store.listByFlow('flow-a', { beforeId: a1.id }))).toEqual([a0.id]);
      expect(ids(await store.listByFlow('flow-a', { statuses: ['completed', 'failed'] }))).toEqual([b0.id, a1.id]);
      expect(ids(await store.listByFlow('flow-a', { tenantId: 'acme' }))).toEqual([a1.id, a0.id]);
      expect(ids(await store.listByRun('r-a', { tenantId: 'globex' }))).toEqual([]);
      expect(ids(await store.listByFlow('flow-b'))).toEqual([c0.id]);
      expect((await store.getLatest({ flowId: 'flow-a' }))?.id).toBe(b0.id);
      expect((await store.getLatest({ flowId: 'flow-a', tenantId: 'acme' }))?.id).toBe(a1.id);
      expect(await store.getLatest({ flowId: 'flow-unknown' })).toBeNull();
    });

    it('lists only run heads that wait for input', async () => {
      const store = ctx.store();
      const waiting = (overrides: Partial<FlowCheckpoint>) =>
        makeCheckpoint({
          status: 'pending_input',
          pendingInputs: [{ nodePath: 'approve', prompt: 'ok?', schema: {}, requestedAt: new Date(0), metadata: {} }],
          ...overrides,
        });
      const answered = waiting({ runId: 'r-answered' });
      const answeredNext = makeCheckpoint({ runId: 'r-answered', seq: 1, parentCheckpointId: answered.id, status: 'completed' });
      const open = waiting({ runId: 'r-open', tenantId: 'acme' });
      const otherFlow = waiting({ runId: 'r-other', flowId: 'flow-b' });
      const busy = makeCheckpoint({ runId: 'r-busy' });
      for (const checkpoint of [answered, answeredNext, open, otherFlow, busy]) await store.save(checkpoint);
      expect(ids(await store.listPendingInput()).sort()).toEqual([open.id, otherFlow.id].sort());
      expect(ids(await store.listPendingInput({ flowId: 'flow-a' }))).toEqual([open.id]);
      expect(ids(await store.listPendingInput({ tenantId: 'acme' }))).toEqual([open.id]);
      expect(ids(await store.listPendingInput({ tenantId: 'globex' }))).toEqual([]);
      expect(await store.listPendingInput({ limit: 1 })).toHaveLength(1);
      const [summary] = await store.listPendingInput({ flowId: 'flow-a' });
      expect(summary!.pendingInputs).toEqual(open.pendingInputs);
    });

    it('walks a chain to the root, across a fork', async () => {
      const store = ctx.store();
      const r0 = makeCheckpoint();
      const r1 = makeCheckpoint({ seq: 1, parentCheckpointId: r0.id });
      const r2 = makeCheckpoint({ seq: 2, parentCheckpointId: r1.id, status: 'failed' });
      const f0 = makeCheckpoint({ runId: 'run-fork', seq: 0, parentCheckpointId: r1.id });
      const f1 = makeCheckpoint({ runId: 'run-fork', seq: 1, parentCheckpointId: f0.id, status: 'completed' });
      for (const checkpoint of [r0, r1, r2, f0, f1]) await store.save(checkpoint);
      expect(ids(await store.getChain(r2.id))).toEqual([r2.id, r1.id, r0.id]);
      expect(ids(await store.getChain(f1.id))).toEqual([f1.id, f0.id, r1.id, r0.id]);
      expect(ids(await store.getChain(r0.id))).toEqual([r0.id]);
      expect(ids(await store.listByRun('run-1'))).toEqual([r2.id, r1.id, r0.id]);
      expect(await store.getHead('run-fork')).toBe(f1.id);
    });
  });
}
