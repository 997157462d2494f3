import { describe, expect, it } from '@jest/globals';
import { CorruptCheckpointError } from '@savepoint/core';
import { makeCheckpoint } from '../fixtures.js';
import { blobsWritten, recordBlobWrites } from '../record-blob-writes.js';
import type { SuiteContext } from '../suite-context.js';

/** Content addressing end to end: dedupe on save, detection of damaged or missing blobs on load. */
export function blobIntegrityTests(ctx: SuiteContext): void {
  const nodeStates = (text: string) => ({
    a: { nodeId: 'a', nodeType: 'function', status: 'success' as const, output: { text }, attempt: 1 },
    b: { nodeId: 'b', nodeType: 'function', status: 'success' as const, output: { list: [1, 2, 3] }, attempt: 1 },
  });

  /** Saves one checkpoint through a recording adapter and returns every blob it wrote. */
  async function saveRecorded() {
    const recorded = recordBlobWrites(ctx.adapter());
    const checkpoint = makeCheckpoint({ nodeStates: nodeStates('first'), originalInput: { topic: 'blobs' } });
    await ctx.store(recorded.adapter).save(checkpoint);
    const blobs = blobsWritten(recorded.writes);
    expect(blobs.size).toBeGreaterThan(0);
    return { checkpoint, blobs };
  }

  describe('blob integrity', () => {
    it('a second save of unchanged state writes no blob; a change writes only a few', async () => {
      const recorded = recordBlobWrites(ctx.adapter());
      const store = ctx.store(recorded.adapter);
      const first = makeCheckpoint({ nodeStates: nodeStates('first') });
      const firstResult = await store.save(first);
      const afterFirst = recorded.writes.length;
      const firstBlobs = blobsWritten(recorded.writes);
      expect(firstResult.blobsWritten).toBe(firstBlobs.size);
      expect(firstResult.bytesWritten).toBeGreaterThan(0);

      const same = { ...first, id: makeCheckpoint().id, seq: 1, parentCheckpointId: first.id };
      const sameResult = await store.save(same);
      expect(blobsWritten(recorded.writes, afterFirst).size).toBe(0);
      expect(sameResult.blobsWritten).toBe(0);
      const afterSame = recorded.writes.length;

      const changed = { ...same, id: makeCheckpoint().id, seq: 2, parentCheckpointId: same.id, nodeStates: nodeStates('second') };
      const changedResult = await store.save(changed);
      const changedBlobs = blobsWritten(recorded.writes, afterSame);
      expect(changedBlobs.size).toBeGreaterThan(0);
      expect(changedBlobs.size).toBeLessThan(firstBlobs.size);
      expect(changedResult.blobsWritten).toBe(changedBlobs.size);
      expect(await ctx.store().load(same.id)).toEqual(same);
      expect(await ctx.store().load(changed.id)).toEqual(changed);
    });

    it('detects every damaged blob on load', async () => {
      const adapter = ctx.adapter();
      const { checkpoint, blobs } = await saveRecorded();
      const all = new Set(blobs.keys());
      for (const [hash, data] of blobs) {
        const others = new Set([...all].filter((other) => other !== hash));
        await adapter.deleteBlobsExcept(checkpoint.runId, others);
        await adapter.putBlobs(checkpoint.runId, [{ hash, data: data.slice(0, Math.floor(data.length / 2)) }]);
        await expect(ctx.store().load(checkpoint.id)).rejects.toThrow(CorruptCheckpointError);
        await adapter.deleteBlobsExcept(checkpoint.runId, others);
        await adapter.putBlobs(checkpoint.runId, [{ hash, data }]);
      }
      expect(await ctx.store().load(checkpoint.id)).toEqual(checkpoint);
    });

    it('detects a missing blob on load', async () => {
      const adapter = ctx.adapter();
      const { checkpoint, blobs } = await saveRecorded();
      const [first] = blobs.keys();
      await adapter.deleteBlobsExcept(checkpoint.runId, new Set([...blobs.keys()].filter((hash) => hash !== first)));
      await expect(ctx.store().load(checkpoint.id)).rejects.toThrow(CorruptCheckpointError);
    });

    if (ctx.init.corruptBlob) {
      const corruptBlob = ctx.init.corruptBlob.bind(ctx.init);
      it('detects a blob damaged in storage (corruptBlob)', async () => {
        const { checkpoint, blobs } = await saveRecorded();
        const [hash] = blobs.keys();
        await corruptBlob(ctx.adapter(), checkpoint.runId, hash!);
        await expect(ctx.store().load(checkpoint.id)).rejects.toThrow(CorruptCheckpointError);
      });
    }

    it('delete collects the blobs only the deleted checkpoint used', async () => {
      const recorded = recordBlobWrites(ctx.adapter());
      const store = ctx.store(recorded.adapter);
      const first = makeCheckpoint({ nodeStates: nodeStates('only in first') });
      await store.save(first);
      const firstBlobs = [...blobsWritten(recorded.writes).keys()];
      const second = makeCheckpoint({ seq: 1, parentCheckpointId: first.id, nodeStates: nodeStates('only in second') });
      await store.save(second);
      await store.delete(first.id);
      const left = await ctx.adapter().getBlobs(first.runId, firstBlobs);
      expect(left.size).toBeLessThan(firstBlobs.length);
      expect(await ctx.store().load(second.id)).toEqual(second);
      await store.deleteRun(first.runId);
      expect(await ctx.adapter().getBlobs(first.runId, [...blobsWritten(recorded.writes).keys()])).toEqual(new Map());
    });
  });
}
