import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BackendUnavailableError, CheckpointConflictError } from '@savepoint/core';
import { SqliteBackend } from '../src/index.js';
import { header } from './headers.js';
import { tempDir } from './temp-dir.js';

describe('two connections to one database file', () => {
  let dir: ReturnType<typeof tempDir>;
  let path: string;
  let a: SqliteBackend;
  let b: SqliteBackend;

  beforeEach(() => {
    dir = tempDir();
    path = join(dir.path, 'shared.db');
    a = new SqliteBackend({ path });
    b = new SqliteBackend({ path });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    dir.remove();
  });

  it('use WAL and see each other’s commits', async () => {
    await Promise.all([a.setup(), b.setup()]);
    await a.putBlobs('run-1', [{ hash: 'h', data: 'd' }]);
    await a.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }));

    expect(await b.getHead('run-1')).toBe('cp-1');
    expect((await b.getBlobs('run-1', ['h'])).get('h')).toBe('d');
    await b.putHeader(header({ id: 'cp-2', runId: 'run-1', seq: 2 }), { expectedHead: 'cp-1' });
    expect((await a.getHeader('cp-2'))?.seq).toBe(2);

    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('let exactly one compare-and-set win', async () => {
    const results = await Promise.allSettled([
      a.putHeader(header({ id: 'from-a', runId: 'run-1', seq: 1 }), { expectedHead: null }),
      b.putHeader(header({ id: 'from-b', runId: 'run-1', seq: 1 }), { expectedHead: null }),
    ]);

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(CheckpointConflictError.isInstance(loser.reason)).toBe(true);
    expect([await a.getHead('run-1')]).toContain(await b.getHead('run-1'));
  });

  it('share leases: the run belongs to one connection’s owner', async () => {
    const lease = await a.acquireLease('run-1', 'worker-a', 60_000);
    expect(lease?.token).toBe(1);
    expect(await b.acquireLease('run-1', 'worker-b', 60_000)).toBeNull();
    await a.releaseLease(lease!);
    expect((await b.acquireLease('run-1', 'worker-b', 60_000))?.token).toBe(2);
  });

  it('report a write lock held past the busy timeout as unavailable', async () => {
    const impatient = new SqliteBackend({ path, busyTimeoutMs: 0 });
    await impatient.setup();
    const holder = new Database(path);
    holder.exec('BEGIN IMMEDIATE');
    try {
      await expect(impatient.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 1 }))).rejects.toThrow(
        BackendUnavailableError,
      );
      await expect(impatient.putBlobs('run-1', [{ hash: 'h', data: 'd' }])).rejects.toThrow(/SQLITE_BUSY.*busyTimeoutMs/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
      await impatient.close();
    }
    // Nothing half-written: the run is still empty once the lock is gone.
    expect(await a.getHead('run-1')).toBeNull();
  });
});
