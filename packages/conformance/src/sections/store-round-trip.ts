import { describe, expect, it } from '@jest/globals';
import { CheckpointConflictError, NotFoundError, uuidv7 } from '@savepoint/core';
import { makeCheckpoint, makeCodecSample, makeFullCheckpoint, makeLargeHistory } from '../fixtures.js';
import type { SuiteContext } from '../suite-context.js';

/** Through `CheckpointStore`: what goes in comes back, whatever the backend. */
export function storeRoundTripTests(ctx: SuiteContext): void {
  describe('store round trips', () => {
    it('keeps every FlowCheckpoint field', async () => {
      const checkpoint = makeFullCheckpoint();
      await ctx.store().save(checkpoint);
      const loaded = await ctx.store().load(checkpoint.id);
      expect(loaded).toEqual(checkpoint);
      expect(loaded.nodeStates.fetch!.startedAt).toBeInstanceOf(Date);
      expect(loaded.pendingInputs[0]!.requestedAt).toBeInstanceOf(Date);
      expect(loaded.createdAt.getTime()).toBe(checkpoint.createdAt.getTime());
    });

    it('keeps a minimal checkpoint without optional fields', async () => {
      const checkpoint = makeCheckpoint();
      await ctx.store().save(checkpoint);
      const loaded = await ctx.store().load(checkpoint.id);
      expect(loaded).toEqual(checkpoint);
      expect(loaded.workflowId).toBeUndefined();
      expect(loaded.tenantId).toBeUndefined();
      expect(loaded.traceContext).toBeUndefined();
    });

    it('carries every codec type in input, config, outputs, internal state and metadata', async () => {
      const sample = makeCodecSample();
      const checkpoint = makeCheckpoint({
        originalInput: sample,
        metadata: { sample },
        nodeStates: {
          fetch: { nodeId: 'fetch', nodeType: 'function', status: 'success', output: sample, internalState: [sample], attempt: 1 },
        },
      });
      await ctx.store().save(checkpoint);
      const loaded = await ctx.store().load(checkpoint.id);
      expect(loaded).toEqual(checkpoint);
      for (const value of [loaded.originalInput, (loaded.metadata.sample as unknown), loaded.nodeStates.fetch!.output]) {
        const got = value as Record<string, unknown>;
        expect(got.map).toBeInstanceOf(Map);
        expect(got.set).toBeInstanceOf(Set);
        expect(got.date).toBeInstanceOf(Date);
        expect(got.bigint).toBe(2n ** 70n);
        expect(got.bytes).toBeInstanceOf(Uint8Array);
        expect(Buffer.isBuffer(got.buffer)).toBe(true);
        expect(Object.prototype.hasOwnProperty.call(got, 'missing')).toBe(true);
        expect(got.missing).toBeUndefined();
        expect((got.sparse as unknown[]).length).toBe(3);
        expect(Number.isNaN(got.nan)).toBe(true);
        expect(got.negativeInfinity).toBe(-Infinity);
      }
    });

    it(`round-trips a state of more than 5 MB`, async () => {
      const messages = makeLargeHistory(5 * 1024 * 1024);
      expect(JSON.stringify(messages).length).toBeGreaterThanOrEqual(5 * 1024 * 1024);
      const checkpoint = makeCheckpoint({
        nodeStates: {
          agent: { nodeId: 'agent', nodeType: 'agent', status: 'running', internalState: { messages }, attempt: 1 },
        },
      });
      await ctx.store().save(checkpoint);
      expect(await ctx.store().load(checkpoint.id)).toEqual(checkpoint);
    });

    it('throws NotFoundError for an unknown id and for another tenant', async () => {
      const checkpoint = makeCheckpoint({ tenantId: 'acme' });
      await ctx.store().save(checkpoint);
      await expect(ctx.store().load(uuidv7())).rejects.toThrow(NotFoundError);
      await expect(ctx.store().load(checkpoint.id, { tenantId: 'globex' })).rejects.toThrow(NotFoundError);
      expect((await ctx.store().load(checkpoint.id, { tenantId: 'acme' })).id).toBe(checkpoint.id);
    });

    it('refuses to save an id twice', async () => {
      const store = ctx.store();
      const checkpoint = makeCheckpoint();
      await store.save(checkpoint);
      await expect(store.save({ ...checkpoint, seq: 1, status: 'completed' })).rejects.toThrow(CheckpointConflictError);
      expect((await store.load(checkpoint.id)).status).toBe('active');
    });

    it('update appends a successor to the head with the patch applied', async () => {
      const store = ctx.store();
      const head = makeCheckpoint({ status: 'pending_input' });
      await store.save(head);
      const next = await store.update(head.id, { status: 'completed', metadata: { answeredBy: 'ann' } });
      expect(next.id).not.toBe(head.id);
      expect(next).toMatchObject({ runId: head.runId, seq: head.seq + 1, parentCheckpointId: head.id, status: 'completed' });
      expect(next.metadata).toEqual({ answeredBy: 'ann' });
      expect(next.nodeStates).toEqual(head.nodeStates);
      expect(await store.getHead(head.runId)).toBe(next.id);
      expect(await ctx.store().load(next.id)).toEqual(next);
      expect((await store.load(head.id)).status).toBe('pending_input');
    });

    it('delete removes one checkpoint and only the blobs nothing else uses; deleteRun removes the run', async () => {
      const store = ctx.store();
      const first = makeCheckpoint({ originalInput: { only: 'in first' } });
      const second = makeCheckpoint({ seq: 1, parentCheckpointId: first.id, originalInput: { only: 'in second' } });
      const other = makeCheckpoint({ runId: 'run-2' });
      for (const checkpoint of [first, second, other]) await store.save(checkpoint);
      await store.delete(first.id);
      await expect(store.load(first.id)).rejects.toThrow(NotFoundError);
      expect(await ctx.store().load(second.id)).toEqual(second);
      await store.deleteRun('run-1');
      await expect(store.load(second.id)).rejects.toThrow(NotFoundError);
      expect(await store.getHead('run-1')).toBeNull();
      expect(await store.listByRun('run-1')).toEqual([]);
      expect(await ctx.store().load(other.id)).toEqual(other);
    });
  });
}
