import { describe, expect, it } from '@jest/globals';
import {
  CheckpointConflictError,
  LeaseLostError,
  RunLockedError,
  uuidv7,
  type HeaderRecord,
  type StorageAdapter,
} from '@savepoint/core';
import { makeHeader, shuffled } from '../fixtures.js';
import { HEADER_WRITES, headerWrite, type HeaderWrite, type HeaderWriteName } from '../header-writes.js';
import type { SuiteContext } from '../suite-context.js';

/** The contract itself, called directly: what every store feature relies on. */
export function adapterContractTests(ctx: SuiteContext): void {
  for (const via of HEADER_WRITES) headerWriteTests(ctx, via);
  commitCheckpointTests(ctx);

  describe('adapter contract', () => {
    it('declares its name and capabilities', () => {
      const adapter = ctx.adapter();
      expect(typeof adapter.name).toBe('string');
      expect(adapter.name.length).toBeGreaterThan(0);
      expect(typeof adapter.capabilities.multiProcess).toBe('boolean');
      expect(typeof adapter.capabilities.leases).toBe('boolean');
      const declared = ctx.init.capabilities ?? {};
      if (declared.multiProcess !== undefined) expect(adapter.capabilities.multiProcess).toBe(declared.multiProcess);
      if (declared.leases !== undefined) expect(adapter.capabilities.leases).toBe(declared.leases);
      // Strict both ways: an adapter that gains these must say so to its initializer, which runs their tests.
      expect({ events: adapter.capabilities.events ?? false, inbox: adapter.capabilities.inbox ?? false }).toEqual({
        events: declared.events ?? false,
        inbox: declared.inbox ?? false,
      });
      expect(adapter.capabilities.notify).toBe(declared.notify);
      const methods = {
        events: ['appendEvents', 'readEvents'],
        inbox: ['putInput', 'takeInputs', 'getInput'],
        notify: ['subscribe', 'publish'],
      } as const;
      for (const [capability, names] of Object.entries(methods)) {
        if (!adapter.capabilities[capability as keyof typeof methods]) continue;
        for (const name of names) expect(typeof adapter[name]).toBe('function');
      }
    });

    it('setup is idempotent and keeps existing data', async () => {
      const adapter = ctx.adapter();
      const header = makeHeader();
      await adapter.putHeader(header);
      await adapter.setup?.();
      await adapter.setup?.();
      expect(await adapter.getHeader(header.id)).toEqual(header);
    });

    it('returns a header exactly as written, body text included', async () => {
      const adapter = ctx.adapter();
      const bodies = [
        JSON.stringify({ nodes: { a: 'h1' }, pending: [] }),
        '{"b": 1, "2": [1.0, -0, 1e21], "a": "\\u00e9"}',
        'not json at all: ciphertext AAECAw==',
      ];
      const headers = bodies.map((body, seq) =>
        makeHeader({ seq, body, workflowId: 'wf', tenantId: 'acme', pendingInput: seq === 2, status: 'pending_input' }),
      );
      for (const header of headers) await adapter.putHeader(header);
      for (const header of headers) expect(await adapter.getHeader(header.id)).toEqual(header);
      expect(await adapter.getHeader(uuidv7())).toBeNull();
    });

    it('orders a run by seq, never by id or clock, and its head is the highest seq', async () => {
      const adapter = ctx.adapter();
      const ids = Array.from({ length: 10 }, () => uuidv7());
      const scrambledIds = shuffled(ids, 3);
      const headers = ids.map((_, seq) =>
        makeHeader({ id: scrambledIds[seq]!, seq, createdAt: 1_000_000 - seq * 977 * (seq % 3), updatedAt: 5 }),
      );
      for (const header of shuffled(headers, 11)) await adapter.putHeader(header);
      const seqs = (rows: HeaderRecord[]) => rows.map((row) => row.seq);
      expect(seqs(await adapter.queryHeaders({ runId: 'run-1' }))).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect(seqs(await adapter.queryHeaders({ runId: 'run-1', order: 'asc' }))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(seqs(await adapter.queryHeaders({ runId: 'run-1', beforeSeq: 4 }))).toEqual([3, 2, 1, 0]);
      expect(seqs(await adapter.queryHeaders({ runId: 'run-1', limit: 3 }))).toEqual([9, 8, 7]);
      expect(seqs(await adapter.queryHeaders({ runId: 'run-1', beforeSeq: 6, limit: 2, order: 'asc' }))).toEqual([0, 1]);
      expect(await adapter.getHead('run-1')).toBe(headers[9]!.id);
      expect(await adapter.getHead('run-unknown')).toBeNull();
    });

    it('filters flow and global queries and orders them by id', async () => {
      const adapter = ctx.adapter();
      const add = async (overrides: Partial<HeaderRecord>) => {
        const header = makeHeader({ id: uuidv7(), ...overrides });
        await adapter.putHeader(header);
        return header;
      };
      const a0 = await add({ runId: 'r-a', seq: 0, createdAt: 500 });
      const a1 = await add({ runId: 'r-a', seq: 1, status: 'completed', createdAt: 100 });
      const b0 = await add({ runId: 'r-b', seq: 0, tenantId: 'acme', createdAt: 300 });
      const b1 = await add({ runId: 'r-b', seq: 1, tenantId: 'acme', status: 'pending_input', pendingInput: true, createdAt: 200 });
      const c0 = await add({ runId: 'r-c', seq: 0, flowId: 'flow-b', tenantId: 'globex', status: 'failed', createdAt: 50 });
      const ids = (rows: HeaderRecord[]) => rows.map((row) => row.id);

      expect(ids(await adapter.queryHeaders({ flowId: 'flow-a' }))).toEqual([b1.id, b0.id, a1.id, a0.id]);
      expect(ids(await adapter.queryHeaders({ flowId: 'flow-a', order: 'asc' }))).toEqual([a0.id, a1.id, b0.id, b1.id]);
      expect(ids(await adapter.queryHeaders({}))).toEqual([c0.id, b1.id, b0.id, a1.id, a0.id]);
      expect(ids(await adapter.queryHeaders({ flowId: 'flow-a', limit: 2 }))).toEqual([b1.id, b0.id]);
      expect(ids(await adapter.queryHeaders({ flowId: 'flow-a', beforeId: b0.id }))).toEqual([a1.id, a0.id]);
      expect(ids(await adapter.queryHeaders({ statuses: ['completed', 'failed'] }))).toEqual([c0.id, a1.id]);
      expect(ids(await adapter.queryHeaders({ tenantId: 'acme' }))).toEqual([b1.id, b0.id]);
      expect(ids(await adapter.queryHeaders({ tenantId: null }))).toEqual([a1.id, a0.id]);
      expect(ids(await adapter.queryHeaders({ pendingInput: true }))).toEqual([b1.id]);
      expect(ids(await adapter.queryHeaders({ pendingInput: false, flowId: 'flow-a' }))).toEqual([b0.id, a1.id, a0.id]);
      expect(ids(await adapter.queryHeaders({ createdBefore: 250 }))).toEqual([c0.id, b1.id, a1.id]);
      expect(ids(await adapter.queryHeaders({ flowId: 'flow-b', tenantId: 'acme' }))).toEqual([]);
      expect(ids(await adapter.queryHeaders({ runId: 'r-b', tenantId: 'acme', pendingInput: true }))).toEqual([b1.id]);
      expect(await adapter.queryHeaders({ flowId: 'flow-unknown' })).toEqual([]);
    });

    it('deletes headers by id, ignores unknown ids and moves the head down', async () => {
      const adapter = ctx.adapter();
      const headers = [0, 1, 2].map((seq) => makeHeader({ seq }));
      for (const header of headers) await adapter.putHeader(header);
      expect(await adapter.deleteHeaders([headers[2]!.id, uuidv7(), headers[2]!.id])).toBe(1);
      expect(await adapter.getHeader(headers[2]!.id)).toBeNull();
      expect((await adapter.queryHeaders({ runId: 'run-1' })).map((row) => row.seq)).toEqual([1, 0]);
      expect((await adapter.queryHeaders({ flowId: 'flow-a' })).map((row) => row.seq)).toEqual([1, 0]);
      expect(await adapter.getHead('run-1')).toBe(headers[1]!.id);
      expect(await adapter.deleteHeaders([headers[0]!.id, headers[1]!.id])).toBe(2);
      expect(await adapter.getHead('run-1')).toBeNull();
      expect(await adapter.deleteHeaders([])).toBe(0);
    });

    it('stores blobs insert-or-ignore, scoped to their run', async () => {
      const adapter = ctx.adapter();
      await adapter.putBlobs('run-1', [
        { hash: 'h1', data: 'one' },
        { hash: 'h2', data: 'two' },
      ]);
      await adapter.putBlobs('run-1', [{ hash: 'h1', data: 'changed' }]);
      await adapter.putBlobs('run-2', [{ hash: 'h1', data: 'other run' }]);
      await adapter.putBlobs('run-1', []);
      expect(await adapter.getBlobs('run-1', ['h1', 'h2', 'h3'])).toEqual(
        new Map([
          ['h1', 'one'],
          ['h2', 'two'],
        ]),
      );
      expect(await adapter.getBlobs('run-2', ['h1', 'h2'])).toEqual(new Map([['h1', 'other run']]));
      expect(await adapter.getBlobs('run-3', ['h1'])).toEqual(new Map());
    });

    it('garbage-collects the blobs of one run that are not kept', async () => {
      const adapter = ctx.adapter();
      const blobs = ['h1', 'h2', 'h3', 'h4'].map((hash) => ({ hash, data: `data of ${hash}` }));
      await adapter.putBlobs('run-1', blobs);
      await adapter.putBlobs('run-2', blobs);
      expect(await adapter.deleteBlobsExcept('run-1', new Set(['h2', 'h4']))).toBe(2);
      expect([...(await adapter.getBlobs('run-1', ['h1', 'h2', 'h3', 'h4'])).keys()].sort()).toEqual(['h2', 'h4']);
      expect((await adapter.getBlobs('run-2', ['h1', 'h2', 'h3', 'h4'])).size).toBe(4);
      expect(await adapter.deleteBlobsExcept('run-1', new Set())).toBe(2);
      expect(await adapter.deleteBlobsExcept('run-unknown', new Set())).toBe(0);
    });

  });
}

/** The adapter of the running test and its header write through `via` (undefined: not implemented, nothing to test). */
function writer(ctx: SuiteContext, via: HeaderWriteName): { adapter: StorageAdapter; write: HeaderWrite | undefined } {
  const adapter = ctx.adapter();
  return { adapter, write: headerWrite(adapter, via) };
}

/** What both header writes must do alike: conflicts, compare-and-set and fencing. */
function headerWriteTests(ctx: SuiteContext, via: HeaderWriteName): void {
  describe(`header writes through ${via}`, () => {
    it('refuses a second header with an existing id and keeps the first', async () => {
      const { adapter, write } = writer(ctx, via);
      if (!write) return;
      const header = makeHeader();
      await write(header);
      const again = { ...header, seq: 1, status: 'failed' as const };
      await expect(write(again)).rejects.toThrow(CheckpointConflictError);
      await expect(write({ ...again, runId: 'run-2' })).rejects.toThrow(CheckpointConflictError);
      expect(await adapter.getHeader(header.id)).toEqual(header);
      expect(await adapter.getHead('run-1')).toBe(header.id);
      expect(await adapter.getHead('run-2')).toBeNull();
    });

    it('with compare-and-set, exactly one of many concurrent writers on the same head wins', async () => {
      const { adapter, write } = writer(ctx, via);
      if (!write) return;
      const root = makeHeader({ seq: 0 });
      await write(root, { expectedHead: null });
      await expect(write(makeHeader({ seq: 0 }), { expectedHead: null })).rejects.toThrow(CheckpointConflictError);
      const contenders = Array.from({ length: 12 }, () => makeHeader({ seq: 1, parentCheckpointId: root.id }));
      const results = await Promise.allSettled(contenders.map((header) => write(header, { expectedHead: root.id })));
      const winners = contenders.filter((_, i) => results[i]!.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      for (const result of results) {
        if (result.status === 'rejected') expect(CheckpointConflictError.isInstance(result.reason)).toBe(true);
      }
      expect(await adapter.getHead('run-1')).toBe(winners[0]!.id);
      expect((await adapter.queryHeaders({ runId: 'run-1' })).map((row) => row.id)).toEqual([winners[0]!.id, root.id]);
    });

    it('without compare-and-set, concurrent writes all land and the head is the highest seq', async () => {
      const { adapter, write } = writer(ctx, via);
      if (!write) return;
      const headers = Array.from({ length: 12 }, (_, seq) => makeHeader({ seq }));
      await Promise.all(shuffled(headers, 5).map((header) => write(header)));
      expect(await adapter.getHead('run-1')).toBe(headers[11]!.id);
      expect((await adapter.queryHeaders({ runId: 'run-1' })).map((row) => row.seq)).toEqual(
        headers.map((header) => header.seq).reverse(),
      );
    });
    if (ctx.init.capabilities?.leases === false) return;

    it('fences: a stale lease gets LeaseLostError, a writer without the lease RunLockedError', async () => {
      const { adapter, write } = writer(ctx, via);
      if (!write) return;
      const old = (await adapter.acquireLease('run-1', 'worker-a', 60_000))!;
      await write(makeHeader({ seq: 0 }), { lease: old });
      await adapter.releaseLease(old);
      const current = (await adapter.acquireLease('run-1', 'worker-b', 60_000))!;
      await expect(write(makeHeader({ seq: 1 }), { lease: old })).rejects.toThrow(LeaseLostError);
      await expect(write(makeHeader({ seq: 1 }))).rejects.toThrow(RunLockedError);
      await expect(write(makeHeader({ seq: 1 }), { lease: { ...current, token: current.token + 1 } })).rejects.toThrow(LeaseLostError);
      const next = makeHeader({ seq: 1 });
      await write(next, { lease: current });
      expect(await adapter.getHead('run-1')).toBe(next.id);
      expect((await adapter.queryHeaders({ runId: 'run-1' })).map((row) => row.seq)).toEqual([1, 0]);
    });
  });
}

/** `commitCheckpoint` is one atomic step: blobs and header land together, and a refused header writes no header. */
function commitCheckpointTests(ctx: SuiteContext): void {
  describe('commitCheckpoint (when implemented)', () => {
    it('writes the blobs insert-or-ignore, scoped to the run, with the header', async () => {
      const adapter = ctx.adapter();
      if (!adapter.commitCheckpoint) return;
      await adapter.putBlobs('run-1', [{ hash: 'h1', data: 'one' }]);
      const header = makeHeader();
      await adapter.commitCheckpoint('run-1', [{ hash: 'h1', data: 'changed' }, { hash: 'h2', data: 'two' }], header, { expectedHead: null });
      expect(await adapter.getBlobs('run-1', ['h1', 'h2'])).toEqual(new Map([['h1', 'one'], ['h2', 'two']]));
      expect(await adapter.getBlobs('run-2', ['h2'])).toEqual(new Map());
      expect(await adapter.getHeader(header.id)).toEqual(header);
      expect(await adapter.getHead('run-1')).toBe(header.id);
      const empty = makeHeader({ seq: 1 });
      await adapter.commitCheckpoint('run-1', [], empty, { expectedHead: header.id });
      expect(await adapter.getHead('run-1')).toBe(empty.id);
    });

    it('a refused commit writes no header and leaves the head', async () => {
      const adapter = ctx.adapter();
      if (!adapter.commitCheckpoint) return;
      const root = makeHeader();
      await adapter.commitCheckpoint('run-1', [], root, { expectedHead: null });
      const refused = [
        { header: makeHeader({ seq: 1 }), options: { expectedHead: uuidv7() } },
        { header: makeHeader({ seq: 1 }), options: { expectedHead: null } },
        { header: { ...root, seq: 1 }, options: {} },
      ];
      for (const { header, options } of refused) {
        await expect(adapter.commitCheckpoint('run-1', [{ hash: `b-${header.seq}`, data: 'x' }], header, options)).rejects.toThrow(
          CheckpointConflictError,
        );
      }
      expect(await adapter.getHead('run-1')).toBe(root.id);
      expect((await adapter.queryHeaders({ runId: 'run-1' })).map((row) => row.id)).toEqual([root.id]);
      expect(await adapter.getHeader(root.id)).toEqual(root);
    });
  });
}
