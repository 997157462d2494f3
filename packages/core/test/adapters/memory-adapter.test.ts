import { beforeEach, describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/index.js';
import { CheckpointConflictError, InvalidArgumentError, LeaseLostError, RunLockedError } from '../../src/errors.js';
import type { HeaderRecord } from '../../src/store/storage-adapter.js';

let clock = 1_000_000;
const now = () => clock;

function header(overrides: Partial<HeaderRecord> = {}): HeaderRecord {
  return {
    id: 'c1',
    flowId: 'f1',
    workflowId: null,
    runId: 'r1',
    seq: 0,
    parentCheckpointId: null,
    status: 'active',
    tenantId: null,
    pendingInput: false,
    createdAt: 100,
    updatedAt: 100,
    body: '{}',
    ...overrides,
  };
}

describe('MemoryAdapter', () => {
  let adapter: MemoryAdapter;
  beforeEach(() => {
    clock = 1_000_000;
    adapter = new MemoryAdapter({ now });
  });

  it('declares its capabilities', async () => {
    expect(adapter.name).toBe('memory');
    expect(adapter.capabilities).toEqual({ multiProcess: false, leases: true, events: true, inbox: true, notify: 'in-process' });
    expect(new MemoryAdapter({ name: 'mem2' }).name).toBe('mem2');
    await adapter.setup();
    await adapter.close();
  });

  describe('blobs', () => {
    it('puts (insert-or-ignore), gets and scopes them to the run', async () => {
      await adapter.putBlobs('r1', [{ hash: 'h1', data: 'one' }, { hash: 'h2', data: 'two' }]);
      await adapter.putBlobs('r1', [{ hash: 'h1', data: 'changed' }]);
      await adapter.putBlobs('r1', []);
      const got = await adapter.getBlobs('r1', ['h1', 'h2', 'missing']);
      expect([...got]).toEqual([['h1', 'one'], ['h2', 'two']]);
      expect((await adapter.getBlobs('r2', ['h1'])).size).toBe(0);
      await expect(adapter.putBlobs('r1', [{ hash: 'h3', data: 3 as never }])).rejects.toThrow(InvalidArgumentError);
    });

    it('deletes every blob except those kept', async () => {
      await adapter.putBlobs('r1', [{ hash: 'a', data: '1' }, { hash: 'b', data: '2' }, { hash: 'c', data: '3' }]);
      await adapter.putBlobs('r2', [{ hash: 'a', data: '1' }]);
      expect(await adapter.deleteBlobsExcept('r1', new Set(['b']))).toBe(2);
      expect([...(await adapter.getBlobs('r1', ['a', 'b', 'c'])).keys()]).toEqual(['b']);
      expect((await adapter.getBlobs('r2', ['a'])).size).toBe(1);
      expect(await adapter.deleteBlobsExcept('r1', new Set())).toBe(1);
      expect(await adapter.deleteBlobsExcept('nope', new Set())).toBe(0);
    });
  });

  describe('headers', () => {
    it('stores copies, so callers cannot mutate stored records', async () => {
      const h = header();
      await adapter.putHeader(h);
      h.status = 'failed';
      const got = (await adapter.getHeader('c1'))!;
      expect(got.status).toBe('active');
      got.body = 'mutated';
      expect((await adapter.getHeader('c1'))!.body).toBe('{}');
      const [listed] = await adapter.queryHeaders({ runId: 'r1' });
      listed!.seq = 99;
      expect((await adapter.getHeader('c1'))!.seq).toBe(0);
      expect(await adapter.getHeader('missing')).toBeNull();
    });

    it('refuses a duplicate id', async () => {
      await adapter.putHeader(header());
      await expect(adapter.putHeader(header({ seq: 5 }))).rejects.toThrow(CheckpointConflictError);
    });

    it('compare-and-sets the run head', async () => {
      await expect(adapter.putHeader(header(), { expectedHead: 'x' })).rejects.toThrow(CheckpointConflictError);
      await adapter.putHeader(header(), { expectedHead: null });
      await expect(adapter.putHeader(header({ id: 'c2', seq: 1 }), { expectedHead: null })).rejects.toThrow(CheckpointConflictError);
      await adapter.putHeader(header({ id: 'c2', seq: 1 }), { expectedHead: 'c1' });
      await expect(adapter.putHeader(header({ id: 'c3', seq: 2 }), { expectedHead: 'c1' })).rejects.toThrow(/head is c2/);
      expect(await adapter.getHead('r1')).toBe('c2');
      expect(await adapter.getHead('none')).toBeNull();
    });

    it('the head is the highest seq, whatever the write order', async () => {
      await adapter.putHeader(header({ id: 'b', seq: 5 }));
      await adapter.putHeader(header({ id: 'a', seq: 3 }));
      expect(await adapter.getHead('r1')).toBe('b');
      expect(await adapter.deleteHeaders(['b', 'zzz'])).toBe(1);
      expect(await adapter.getHead('r1')).toBe('a');
      expect(await adapter.deleteHeaders(['a'])).toBe(1);
      expect(await adapter.getHead('r1')).toBeNull();
    });

    it('queries with every filter and ordering rule', async () => {
      const rows: Array<Partial<HeaderRecord>> = [
        { id: 'c01', runId: 'r1', seq: 0, flowId: 'f1', status: 'active', createdAt: 10 },
        { id: 'c02', runId: 'r1', seq: 1, flowId: 'f1', status: 'pending_input', pendingInput: true, createdAt: 20 },
        { id: 'c03', runId: 'r2', seq: 0, flowId: 'f1', status: 'completed', tenantId: 't1', createdAt: 30 },
        { id: 'c04', runId: 'r3', seq: 0, flowId: 'f2', status: 'failed', tenantId: 't2', createdAt: 40 },
        // written out of id order inside a run: run queries order by seq
        { id: 'c00', runId: 'r1', seq: 2, flowId: 'f1', status: 'active', createdAt: 50 },
      ];
      for (const row of rows) await adapter.putHeader(header(row));
      const ids = async (q: Parameters<MemoryAdapter['queryHeaders']>[0]) => (await adapter.queryHeaders(q)).map((h) => h.id);

      expect(await ids({})).toEqual(['c04', 'c03', 'c02', 'c01', 'c00']);
      expect(await ids({ order: 'asc' })).toEqual(['c00', 'c01', 'c02', 'c03', 'c04']);
      expect(await ids({ runId: 'r1' })).toEqual(['c00', 'c02', 'c01']);
      expect(await ids({ runId: 'r1', order: 'asc' })).toEqual(['c01', 'c02', 'c00']);
      expect(await ids({ runId: 'r1', beforeSeq: 2 })).toEqual(['c02', 'c01']);
      expect(await ids({ runId: 'r1', limit: 1 })).toEqual(['c00']);
      expect(await ids({ runId: 'missing' })).toEqual([]);
      expect(await ids({ flowId: 'f1' })).toEqual(['c03', 'c02', 'c01', 'c00']);
      expect(await ids({ flowId: 'f1', beforeId: 'c02' })).toEqual(['c01', 'c00']);
      expect(await ids({ statuses: ['completed', 'failed'] })).toEqual(['c04', 'c03']);
      expect(await ids({ tenantId: 't1' })).toEqual(['c03']);
      expect(await ids({ tenantId: null })).toEqual(['c02', 'c01', 'c00']);
      expect(await ids({ pendingInput: true })).toEqual(['c02']);
      expect(await ids({ pendingInput: false, flowId: 'f2' })).toEqual(['c04']);
      expect(await ids({ createdBefore: 30 })).toEqual(['c02', 'c01']);
      expect(await ids({ limit: 0 })).toEqual([]);
      expect(await ids({ flowId: 'f1', runId: 'r2' })).toEqual(['c03']);
    });
  });

  describe('leases', () => {
    it('acquires, excludes other owners, extends for the same owner', async () => {
      const a = (await adapter.acquireLease('r1', 'A', 1000))!;
      expect(a).toEqual({ runId: 'r1', owner: 'A', token: 1, expiresAt: clock + 1000 });
      expect(await adapter.acquireLease('r1', 'B', 1000)).toBeNull();
      clock += 500;
      const again = (await adapter.acquireLease('r1', 'A', 1000))!;
      expect(again.token).toBe(1);
      expect(again.expiresAt).toBe(clock + 1000);
      expect(await adapter.acquireLease('r2', 'B', 1000)).not.toBeNull();
    });

    it('lets another owner take an expired lease, with a higher fencing token', async () => {
      const a = (await adapter.acquireLease('r1', 'A', 1000))!;
      clock += 1000;
      const b = (await adapter.acquireLease('r1', 'B', 1000))!;
      expect(b.token).toBe(2);
      expect(await adapter.renewLease(a, 1000)).toBeNull();
      await adapter.releaseLease(a); // stale: no-op
      expect(await adapter.acquireLease('r1', 'C', 1000)).toBeNull();
      const renewed = (await adapter.renewLease(b, 5000))!;
      expect(renewed.expiresAt).toBe(clock + 5000);
      await adapter.releaseLease(b);
      expect(await adapter.renewLease(b, 1000)).toBeNull();
      expect((await adapter.acquireLease('r1', 'C', 1000))!.token).toBe(3);
    });

    it('renews an expired lease nobody took over', async () => {
      const a = (await adapter.acquireLease('r1', 'A', 1000))!;
      clock += 5000;
      expect((await adapter.renewLease(a, 1000))!.token).toBe(1);
    });

    it('fences header writes', async () => {
      const a = (await adapter.acquireLease('r1', 'A', 1000))!;
      await expect(adapter.putHeader(header())).rejects.toThrow(RunLockedError);
      await adapter.putHeader(header(), { lease: a });
      await expect(adapter.putHeader(header({ id: 'x', runId: 'r2' }), { lease: a })).rejects.toThrow(LeaseLostError);
      clock += 1000;
      await expect(adapter.putHeader(header({ id: 'c2', seq: 1 }), { lease: a })).rejects.toThrow(/expired/);
      // expired: writes without a lease go through again
      await adapter.putHeader(header({ id: 'c2', seq: 1 }));
      const b = (await adapter.acquireLease('r1', 'B', 1000))!;
      await expect(adapter.putHeader(header({ id: 'c3', seq: 2 }), { lease: a })).rejects.toThrow(/held by B/);
      await adapter.releaseLease(b);
      await expect(adapter.putHeader(header({ id: 'c3', seq: 2 }), { lease: b })).rejects.toThrow(/released/);
    });
  });
});
