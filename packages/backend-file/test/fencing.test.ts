import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CheckpointConflictError, LeaseLostError, type HeaderRecord, type Lease } from '@savepoint/core';
import { makeHeader } from '@savepoint/conformance';
import { FileBackend } from '../src/index.js';
import { anHourLater, stallPublish } from './support/stall.js';
import { makeTempDir, removeDir } from './support/temp-dir.js';

// Issue 8, defect 1: a process stalled (SIGSTOP, a long GC pause) after its checks and before its publish
// loses its lock as stale and its lease to another process, then wakes up. Whatever it had checked, it must
// never move the head or the lease. Two instances on one directory stand in for the two processes: `stalled`
// is paused inside its publish by `stallPublish`, `rival` takes over with the clock an hour ahead (the lock
// is then older than lockStaleMs and the lease expired), and `stalled` is let go.
describe('FileBackend fences a stalled writer', () => {
  let dir: string;
  let stalled: FileBackend;
  let rival: FileBackend;

  beforeEach(async () => {
    dir = await makeTempDir();
    stalled = new FileBackend({ dir });
    rival = new FileBackend({ dir });
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  const headerAt = (seq: number, parent: HeaderRecord | null, fields: Partial<HeaderRecord> = {}) =>
    makeHeader({ seq, parentCheckpointId: parent?.id ?? null, ...fields });

  async function storedLease(): Promise<Lease> {
    return JSON.parse(await readFile(join(dir, 'runs', 'run-1', 'lease.json'), 'utf8')) as Lease;
  }

  async function seqs(): Promise<number[]> {
    return (await rival.queryHeaders({ runId: 'run-1' })).map((header) => header.seq);
  }

  it.each([
    ['a checkpoint of its own', 'active'],
    ['the completed end of the run', 'completed'],
  ] as const)('a leased header write stalled past its lease cannot commit after the new owner wrote %s', async (_, finalStatus) => {
    const leaseA = (await stalled.acquireLease('run-1', 'worker-a', 60_000))!;
    const root = headerAt(0, null);
    await stalled.putHeader(root, { lease: leaseA, expectedHead: null });

    const stall = stallPublish(/headers\/\d{16}-/);
    const late = stalled.putHeader(headerAt(1, root), { lease: leaseA, expectedHead: root.id });
    late.catch(() => undefined);
    await stall.reached;

    const { leaseB, last } = await anHourLater(async () => {
      const leaseB = (await rival.acquireLease('run-1', 'worker-b', 3_600_000))!;
      const first = headerAt(1, root);
      await rival.putHeader(first, { lease: leaseB, expectedHead: root.id });
      const last = headerAt(2, first, { status: finalStatus });
      await rival.putHeader(last, { lease: leaseB, expectedHead: first.id });
      return { leaseB, last };
    });
    expect(leaseB.token).toBe(leaseA.token + 1);
    stall.resume();

    await expect(late).rejects.toThrow(LeaseLostError);
    expect(await rival.getHead('run-1')).toBe(last.id);
    expect(await seqs()).toEqual([2, 1, 0]);
    expect((await rival.getHeader(last.id))?.status).toBe(finalStatus);
    expect(await storedLease()).toMatchObject({ owner: 'worker-b', token: leaseB.token });
  });

  it('a compare-and-set write stalled past lockStaleMs cannot commit over the head another writer moved', async () => {
    const root = headerAt(0, null);
    await stalled.putHeader(root, { expectedHead: null });
    const stall = stallPublish(/headers\/\d{16}-/);
    const late = stalled.putHeader(headerAt(1, root), { expectedHead: root.id });
    late.catch(() => undefined);
    await stall.reached;

    const winner = headerAt(1, root);
    await anHourLater(() => rival.putHeader(winner, { expectedHead: root.id }));
    stall.resume();

    await expect(late).rejects.toThrow(CheckpointConflictError);
    expect(await rival.getHead('run-1')).toBe(winner.id);
    expect(await seqs()).toEqual([1, 0]);
  });

  it('a lease renewal stalled past its lease cannot bring the old token back', async () => {
    const leaseA = (await stalled.acquireLease('run-1', 'worker-a', 60_000))!;
    const stall = stallPublish(/lease\.json$/);
    const late = stalled.renewLease(leaseA, 60_000);
    await stall.reached;

    const leaseB = (await anHourLater(() => rival.acquireLease('run-1', 'worker-b', 3_600_000)))!;
    stall.resume();

    expect(await late).toBeNull();
    expect(await storedLease()).toMatchObject({ owner: 'worker-b', token: leaseB.token });
    expect(await rival.renewLease(leaseB, 3_600_000)).toMatchObject({ owner: 'worker-b', token: leaseB.token });
  });

  it('a lease acquisition stalled before it published cannot take a run another worker holds', async () => {
    const stall = stallPublish(/lease\.json$/);
    const late = stalled.acquireLease('run-1', 'worker-a', 60_000);
    await stall.reached;

    const leaseB = (await anHourLater(() => rival.acquireLease('run-1', 'worker-b', 3_600_000)))!;
    stall.resume();

    expect(await late).toBeNull();
    expect(await storedLease()).toMatchObject({ owner: 'worker-b', token: leaseB.token });
  });

  it('an event append stalled past lockStaleMs does not reuse a seq', async () => {
    const event = (n: number) => ({ type: 'stream_chunk', data: JSON.stringify({ n }), ts: n });
    await stalled.appendEvents('run-1', [event(1)]);
    const stall = stallPublish(/events\/\d{16}-\d{16}\.ndjson$/);
    const late = stalled.appendEvents('run-1', [event(2)]);
    await stall.reached;

    await anHourLater(() => rival.appendEvents('run-1', [event(3)]));
    stall.resume();

    expect((await late).map((e) => e.seq)).toEqual([3]);
    const stored = await rival.readEvents('run-1', 0);
    expect(stored.map((e) => [e.seq, JSON.parse(e.data).n])).toEqual([
      [1, 1],
      [2, 3],
      [3, 2],
    ]);
  });

  it('a writer whose lock was broken but whose lease still holds commits on its retry', async () => {
    const leaseA = (await stalled.acquireLease('run-1', 'worker-a', 3_600_000 * 2))!;
    const stall = stallPublish(/headers\/\d{16}-/);
    const header = headerAt(0, null);
    const late = stalled.putHeader(header, { lease: leaseA, expectedHead: null });
    await stall.reached;

    // Another process only appends an event, breaking the lock it judges stale; the lease is untouched.
    await anHourLater(() => rival.appendEvents('run-1', [{ type: 'run_started', data: '{}', ts: 1 }]));
    stall.resume();

    await late;
    expect(await rival.getHead('run-1')).toBe(header.id);
    expect(await seqs()).toEqual([0]);
    // The broken stage was destroyed; each instance keeps one empty stage between holdings, until close().
    await Promise.all([stalled.close(), rival.close()]);
    const lockDir = join(dir, 'runs', 'run-1', 'lock');
    expect((await readdir(lockDir)).filter((name) => name.startsWith('stage-'))).toEqual([]);
  });
});
